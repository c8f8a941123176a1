"""Known synthetic numbers go through every path; none of them comes out anywhere.

Paths: full and delta ingest, KGGT, quarantine (bad check digit, conflicts), rejected and
held files, duplicates, continuity candidates, 多数回 run and explain, KKKK / IDTB / KZKH /
TSKG export, person look-up, status, key rotation, the CLI. Places
searched: every outbound file, the log, CLI output, the result rows, the archive, and the
database itself (the SQLite file, or every row of every table on PostgreSQL).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from sqlalchemy import select, text
from typer.testing import CliRunner

from shuyaku.cli import app
from shuyaku.db.integrity import orphans
from shuyaku.db.schema import metadata
from shuyaku.ingest.returns import export
from shuyaku.ingest.service import ingest_paths
from shuyaku.qualification.service import lookup_person
from shuyaku.setup import add_municipality, rotate_index_key
from shuyaku.status import status
from shuyaku.synth.prefecture import SyntheticPrefecture, write_file
from tests.conftest import OPERATOR


def _database_text(ctx, settings) -> str:  # type: ignore[no-untyped-def]
    if settings.database_url.startswith("sqlite"):
        db = Path(settings.database_url.removeprefix("sqlite:///"))
        return "".join(p.read_bytes().decode("latin-1") for p in db.parent.glob(db.name + "*"))
    parts = []
    with ctx.engine.connect() as conn:
        for table in metadata.tables:
            parts += [str(r[0]) for r in conn.execute(text(f'SELECT row_to_json(t)::text FROM "{table}" t')).all()]
    return "\n".join(parts)


def test_no_individual_number_reaches_any_output(ctx, settings, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    world = SyntheticPrefecture(prefecture="11", municipalities=3, persons=300, seed=7)
    for m in world.municipalities:
        add_municipality(ctx, OPERATOR, m.code, m.name, m.insurer_number, m.encoding)
    inbox = tmp_path / "inbox"
    world.write_full(inbox)
    for month in ("202607", "202608", "202609"):
        world.write_hits(inbox, month)
    for _ in range(2):
        world.write_day(inbox, 15)
    numbers = set(world.used_numbers)
    # Bad input that still carries numbers: a wrong check digit (a typo of a real number is
    # still personal data), a number claimed by a second 宛名番号, a file with a bad trailer.
    muni = world.municipalities[0]
    person = next(h for h in world.households if h.municipality is muni).head
    typo = person.individual_number[:11] + str((int(person.individual_number[11]) + 1) % 10)
    bad = [world.person_record(person), world.person_record(person)]
    bad[0][2], bad[0][3], bad[0][7] = "1999999991", "1", typo
    bad[1][2], bad[1][3], bad[1][7] = "1999999992", "1", person.individual_number
    rows = [world.person_record(p) for h in world.households[:40] if h.municipality is muni for p in h.members]
    for i, r in enumerate(rows):
        r[2], r[3] = f"18{i:08d}", "1"
        r[7] = ""  # already-known numbers are not needed; new atenas without a number are E011
    write_file(inbox, muni, "SKKS", "2", world.today, muni.seq["SKKS"] + 1, bad + rows[:60])
    rejected = write_file(tmp_path, muni, "SKKS", "2", world.today, 99, bad)
    rejected.write_bytes(rejected.read_bytes().replace(b"\r\n3,2,", b"\r\n3,7,"))

    monkeypatch.setenv("SHUYAKU_HOME", str(settings.home))
    monkeypatch.setenv("SHUYAKU_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    cli_out = []
    for args in (["ingest", str(inbox)], ["ingest", str(rejected)], ["ingest", str(inbox)], ["status"]):
        result = runner.invoke(app, args)
        cli_out.append(result.output)
    outcomes = ingest_paths(ctx, OPERATOR, [inbox])  # the same files again: duplicates
    assert all(o.status == "duplicate" for o in outcomes)
    out = tmp_path / "out"
    cli_out.append(runner.invoke(app, ["continuity", "list"]).output)
    for m in world.municipalities:
        cli_out.append(runner.invoke(app, ["continuity", "confirm", "--all-proposed", "--municipality", m.code]).output)
    cli_out.append(runner.invoke(app, ["tasuukai", "run", "--month", "202610"]).output)
    for m in world.municipalities:
        for kind in ("KKKK", "IDTB", "KZKH", "TSKG"):
            export(ctx, OPERATOR, m.code, kind, out)
            cli_out.append(
                runner.invoke(app, ["export", "--municipality", m.code, "--kind", kind, "--out", str(out)]).output
            )
    with ctx.engine.connect() as conn:
        counted = conn.execute(select(metadata.tables["tasuukai_count"].c.pref_household_id)).scalars().first()
    cli_out.append(runner.invoke(app, ["tasuukai", "explain", "--household", str(counted), "--month", "202610"]).output)
    cli_out.append(
        runner.invoke(app, ["person", "show", "--municipality", muni.code, "--atena", person.atena_no]).output
    )
    view = lookup_person(ctx, OPERATOR, muni.code, person.atena_no)
    rotate_index_key(ctx, OPERATOR)

    quarantined = _database_text(ctx, settings)
    assert "E031" in quarantined and "E010" in quarantined  # the bad records really went through
    places = {
        "outbound files": "".join(p.read_bytes().decode("utf-8", "replace") for p in out.iterdir()),
        "log": settings.log_file.read_text(encoding="utf-8"),
        "cli": "".join(cli_out),
        "lookup": json.dumps([{k: str(v) for k, v in r.items()} for r in view.records], ensure_ascii=False),
        "status": repr(status(ctx, OPERATOR)),
        "archive": "".join(p.read_bytes().decode("latin-1") for p in settings.archive_dir.iterdir()),
        "database": quarantined,
    }
    assert len(list(out.iterdir())) >= 12 and places["log"] and "多数回該当" in places["cli"]
    for place, content in places.items():
        leaked = [n for n in numbers | {typo} if n in content]
        assert leaked == [], f"individual numbers found in {place}"
    with ctx.engine.connect() as conn:
        assert conn.execute(select(metadata.tables["vault_entry"])).first() is not None
        assert set(orphans(conn).values()) == {0}  # the references without a foreign key hold


def test_numbers_in_every_position_and_every_free_text_never_come_out(ctx, settings, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The hostile cases: a number in each item of a record, full-width, grouped, in a
    name, in a file name, as a log-in ID and in a reason typed by staff."""
    from shuyaku import accounts, ids
    from shuyaku.review import continuity
    from tests.builders import MUNI_A, exchange_file, number, skks

    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    secret = number(500)
    records = [skks(f"11{i:08d}", individual_number=number(600 + i), setai=f"21{i:08d}") for i in range(40)]
    for position in range(26):
        if position == 7:
            continue
        row = skks(
            f"12{position:08d}",
            individual_number=secret if position % 2 else number(700 + position),
            setai=f"22{position:08d}",
        )
        row[position] = secret if position % 3 else secret.translate(wide)
        records.append(row)
    records.append(
        skks("1300000001", individual_number=number(801), name=f"番号 {secret[:4]} {secret[4:8]} {secret[8:]}")
    )
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / f"{secret}.csv").write_bytes(exchange_file("SKKS", records))
    monkeypatch.setenv("SHUYAKU_HOME", str(settings.home))
    monkeypatch.setenv("SHUYAKU_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    cli_out = [runner.invoke(app, ["ingest", str(inbox)]).output, runner.invoke(app, ["inbox", "list"]).output]
    for login in (secret, secret.translate(wide)):
        with contextlib.suppress(accounts.LoginFailed):
            accounts.login(ctx, login, "x", "000000")
    with ctx.engine.begin() as conn:  # a candidate for staff to reject with a reason holding a number
        from datetime import UTC, date, datetime

        from shuyaku.db.schema import continuity_candidate

        conn.execute(
            continuity_candidate.insert().values(
                candidate_id=900,
                to_municipality_code=MUNI_A,
                to_setai_no="2100000000",
                to_household="1120000000018",
                from_municipality_code=MUNI_A,
                from_setai_no="2100000001",
                from_household="1120000000026",
                change_date=date(2026, 10, 1),
                rule="K1",
                continuous=True,
                status="proposed",
                reason="test",
                persons="{}",
                households="[]",
                proposed_at=datetime(2026, 10, 1, tzinfo=UTC),
                file_id=1,
            )
        )
    continuity.reject(ctx, OPERATOR, 900, f"番号 {secret} の世帯と重複")
    out = tmp_path / "out"
    for kind in ("KKKK", "IDTB", "KZKH"):
        cli_out.append(
            runner.invoke(app, ["export", "--municipality", MUNI_A, "--kind", kind, "--out", str(out)]).output
        )
    places = {
        "database": ids.ascii_digits(_database_text(ctx, settings)),
        "log": ids.ascii_digits(settings.log_file.read_text(encoding="utf-8")),
        "cli": ids.ascii_digits("".join(cli_out)),
        "outbound": ids.ascii_digits("".join(p.read_bytes().decode("utf-8", "replace") for p in out.iterdir())),
    }
    assert len(list(out.iterdir())) >= 2
    for place, content in places.items():
        assert secret not in content, f"the number found in {place}"
