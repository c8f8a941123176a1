"""Access: who is acting (``actor``), what each role may do (``policy``), and staff
accounts with Argon2id passwords, TOTP, lockout and sessions (``accounts``)."""
