"""個人情報取扱業務登録 (the register of personal-information work)."""
