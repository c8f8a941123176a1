"""The README runs as written.

Every ``sh`` block of the README, in order, in one bash session (``set -e``: the first
command that fails stops it), from a folder that holds only what a clean clone holds plus
the installed ``.venv`` — so ``make demo``, the tours, the accounts and the API block are
executed exactly as a newcomer would type them. The one line left out is ``make test``
(this test is part of it). ``shuyaku login`` asks for a password and a code on a terminal:
the test answers on a pseudo-terminal, with the first password and the TOTP secret that
``user add`` printed a moment before, as a person with an authenticator app would.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import time
from pathlib import Path

import pexpect
import pyotp
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LEFT_OUT = {"make test"}  # the test suite itself; everything else runs
NEW_PASSWORD = "readme-test-Passw0rd-長め"


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def script_of(text: str) -> str:
    lines = ["set -euo pipefail"]
    for block in shell_blocks(text):
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command in LEFT_OUT:
                continue
            lines.append(line)
    return "\n".join(lines) + "\necho README-DONE\n"


def test_every_block_is_found_and_nothing_but_make_test_is_left_out() -> None:
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 7
    script = script_of(README.read_text(encoding="utf-8"))
    assert "make demo" in script and "shuyaku login --user kansa" in script and "curl" in script
    assert "\nmake test" not in script


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_the_readme_runs_as_written(tmp_path: Path) -> None:
    if shutil.which("curl") is None:  # CI installs it (.ci/run): there a missing curl fails
        (pytest.fail if os.environ.get("CI") else pytest.skip)("the README's API block uses curl, not installed")
    if not (ROOT / ".venv" / "bin" / "shuyaku").exists():
        pytest.fail("the README test needs the installed .venv (make .venv/.installed)")
    assert _port_free(8000), "the README's API block serves on 127.0.0.1:8000, which is taken"
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("Makefile", "pyproject.toml", "README.md", "src", "docs", ".venv"):
        (clone / name).symlink_to(ROOT / name)
    script = clone / "readme.sh"
    script.write_text(script_of(README.read_text(encoding="utf-8")), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUYAKU_")}
    env.update(TERM="dumb", COLUMNS="200", LANG="C.UTF-8")
    child = pexpect.spawn(
        "bash", [str(script)], cwd=str(clone), env=env, encoding="utf-8", timeout=300, dimensions=(50, 200)
    )
    transcript: list[str] = []
    credentials: dict[str, tuple[str, str]] = {}  # login ID → (current password, TOTP secret)
    used_step: dict[str, int] = {}
    current = ""
    prompts = [
        r"初期パスワード: ([A-Za-z0-9_.!#%+-]+)",
        r"認証アプリ登録: (otpauth://\S+)",
        r"(\S+) のパスワード: ",
        r"確認コード\(6桁\): ",
        r"新しいパスワード: ",
        r"確認のためもう一度: ",
        pexpect.EOF,
    ]
    pending_login = ""
    while True:
        which = child.expect(prompts)
        transcript.append(child.before + (child.after if isinstance(child.after, str) else ""))
        if which == 0:
            pending_login = re.findall(r"✓ (\S+) を登録しました", "".join(transcript))[-1]
            credentials[pending_login] = (child.match.group(1), "")
        elif which == 1:
            secret = re.search(r"secret=([A-Z2-7]+)", child.match.group(1))
            assert secret is not None
            credentials[pending_login] = (credentials[pending_login][0], secret.group(1))
        elif which == 2:
            current = child.match.group(1)
            child.sendline(credentials[current][0])
        elif which == 3:
            totp = pyotp.TOTP(credentials[current][1])
            while int(time.time()) // 30 == used_step.get(current):  # a code is accepted once
                time.sleep(0.5)
            used_step[current] = int(time.time()) // 30
            child.sendline(totp.now())
        elif which == 4:
            child.sendline(NEW_PASSWORD)
        elif which == 5:
            child.sendline(NEW_PASSWORD)
            credentials[current] = (NEW_PASSWORD, credentials[current][1])
        else:
            break
    child.close()
    output = "".join(transcript)
    (tmp_path / "transcript.txt").write_text(output, encoding="utf-8")
    assert child.exitstatus == 0, f"a README command failed (exit {child.exitstatus}):\n{output[-4000:]}"
    assert "README-DONE" in output
    for said in (
        "デモ完了",
        "ログインしました",
        "改ざん・削除・挿入・並べ替えは見つかりませんでした",
        '"file_id"',
        "SHUYAKU-1",
    ):
        assert said in output, said
    assert "Traceback" not in output and "予期しないエラー" not in output
    home = clone / "var" / "tour2"
    assert (home / "点検表.pdf").stat().st_size > 1000 and (home / "権限変更一覧.csv").exists()
    assert {p.name.split("_")[1] for p in (home / "outbox").glob("*.csv")} == {"KZKH", "TSKG"}
