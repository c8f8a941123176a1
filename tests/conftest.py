"""Fixtures: a fresh shuyaku installation per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from shuyaku.access.actor import Actor
from shuyaku.config import Settings
from shuyaku.context import Context, open_context
from shuyaku.setup import add_municipality, init
from tests.builders import INSURER_A, INSURER_B, MUNI_A, MUNI_B

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
OPERATOR = Actor("op-test", "federation_operator")


class Clock:
    """A test clock: starts at a fixed moment and moves one second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker has a database of its own (``test_gw0`` …), created
    next to the one named, so that workers never wipe each other's schema."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(url)
    mine = parsed.set(database=f"{parsed.database}_{worker}")
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("select 1 from pg_database where datname = :n"), {"n": mine.database}).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{mine.database}"'))
    finally:
        admin.dispose()
    return mine.render_as_string(hide_password=False)


@functools.cache
def _postgres_url() -> str | None:
    url = os.environ.get("SHUYAKU_TEST_POSTGRES_URL", DEFAULT_PG)
    try:
        url = _worker_database(url)
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return url
    except Exception as exc:  # noqa: BLE001 — any failure means "not reachable"
        if os.environ.get("SHUYAKU_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (SHUYAKU_REQUIRE_POSTGRES=1) but {url} is not reachable: {exc}")
        return None


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shuyaku.db'}"
    url = _postgres_url()
    if url is None:
        pytest.skip("PostgreSQL not reachable here (CI sets SHUYAKU_REQUIRE_POSTGRES=1 and runs these)")
    _reset_postgres(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    s = Settings(home=tmp_path / "home", database_url=database_url)
    init(s, "11", datetime.now(UTC))
    return s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(settings: Settings, clock: Clock) -> Iterator[Context]:
    context = open_context(settings, clock=clock)
    add_municipality(context, OPERATOR, MUNI_A, "架空市", INSURER_A)
    add_municipality(context, OPERATOR, MUNI_B, "仮想町", INSURER_B)
    yield context
    context.engine.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The README test runs the whole README (about two minutes of one worker): it starts
    first, so that the other workers' tests overlap it instead of waiting for it at the end."""
    items.sort(key=lambda item: 0 if item.nodeid.startswith("tests/test_readme.py::test_the_readme") else 1)
