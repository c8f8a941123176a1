"""Fixtures shared by the integration tests of the `shuyaku` command."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shuyaku.cli import app
from tests.builders import INSURER_A, MUNI_A


@pytest.fixture
def home(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised SHUYAKU_HOME (set-up mode) with municipality A registered."""
    runner = CliRunner()
    monkeypatch.setenv("SHUYAKU_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHUYAKU_DATABASE_URL", database_url)
    monkeypatch.setenv("SHUYAKU_ACTOR", "cli-tester")
    assert runner.invoke(app, ["init", "--prefecture", "11"]).exit_code == 0
    assert runner.invoke(app, ["municipality", "add", MUNI_A, "架空市", "--insurer", INSURER_A]).exit_code == 0
    return tmp_path
