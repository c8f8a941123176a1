"""`shuyaku demo`: the monthly and daily work of a federation, end to end, on SQLite."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from shuyaku import ids
from shuyaku.access.actor import Actor
from shuyaku.config import load_settings
from shuyaku.context import open_context
from shuyaku.db.schema import id_assignment
from shuyaku.exchange.export import export
from shuyaku.exchange.service import ingest_paths
from shuyaku.setup import add_municipality, init
from shuyaku.synth.prefecture import SyntheticPrefecture
from shuyaku.timeutil import utc_now


def run_demo(home: Path, persons: int, console: Console) -> int:
    settings = load_settings(home=home, database_url=f"sqlite:///{home.resolve() / 'shuyaku.db'}")
    operator = Actor("demo-operator", "federation_operator")
    console.rule("shuyaku demo — 架空の県(11)")
    init(settings, "11", utc_now())
    ctx = open_context(settings)
    world = SyntheticPrefecture(prefecture="11", municipalities=5, persons=persons, seed=2026, cp932_every=3)
    inbox = home / "inbox"
    files = world.write_full(inbox)
    for _ in range(3):
        files += world.write_day(inbox, max(10, persons // 100))
    for m in world.municipalities:
        add_municipality(ctx, operator, m.code, m.name, m.insurer_number, m.encoding)
    console.print(f"1. 市町村 {len(world.municipalities)} 団体を登録し、初期セットアップ+日次差分3日分 {len(files)} ファイルを生成")

    started = time.perf_counter()
    outcomes = ingest_paths(ctx, operator, [inbox], remove_source=True)
    seconds = time.perf_counter() - started
    applied = sum(o.status == "applied" for o in outcomes)
    console.print(f"2. 取込: {applied}/{len(outcomes)} ファイル反映、{sum(o.records for o in outcomes):,} レコード、{seconds:.1f} 秒"
                  f"(受信フォルダの残り {len(list(inbox.glob('*.csv')))} ファイル)")

    outbox = home / "outbox"
    written = []
    for m in world.municipalities:
        for kind in ("KKKK", "IDTB"):
            written += export(ctx, operator, m.code, kind, outbox / m.code)
    leaked = sum(len(ids.find_individual_numbers(p.read_bytes().decode("utf-8", "replace"))) for p in written)
    console.print(f"3. 返却: KKKK・IDTB {len(written)} ファイルを {outbox} に出力(個人番号らしき12桁: {leaked} 件)")

    a = id_assignment.c
    with ctx.engine.connect() as conn:
        bindings = select(a.assign_kind, func.count(func.distinct(a.pref_person_id))).group_by(a.assign_kind)
        kinds: dict[str, int] = {str(k): int(n) for k, n in conn.execute(bindings).all()}
    from shuyaku.status import status

    s = status(ctx, operator)
    table = Table("市町村コード", "市町村名", "文字コード", "被保険者", "世帯", "SKSE連番", "SKKS連番", title="4. 要約")
    for row in s.municipalities:
        table.add_row(str(row["code"]), str(row["name"]), str(row["encoding"]), f"{row['persons']:,}", f"{row['households']:,}",
                      str(row["SKSE"]), str(row["SKKS"]))
    console.print(table)
    console.print(f"県被保険者ID {s.persons:,} 件(新規付番 {kinds.get('1', 0):,}、県内転居で引継ぎ {kinds.get('2', 0):,})、"
                  f"隔離レコード {s.quarantined} 件")
    from shuyaku.kogaku.service import run_month
    from shuyaku.synth.claims import write_claims, write_income_classes

    claims_in = home / "inbox-claims"
    write_income_classes(world, claims_in, "202608")
    write_claims(world, claims_in, "202609")
    claim_outcomes = ingest_paths(ctx, operator, [claims_in], remove_source=True)
    month = run_month(ctx, operator, "202609", outbox / "kogaku")
    console.print(f"5. 高額療養費 2026年9月診療分(限度額表 {month.cap_table}): 世帯 {month.households:,}、"
                  f"支給 {month.paid_households:,} 世帯 計 {month.payment_total:,} 円、支給一覧 {len(month.files)} ファイル")
    applied += sum(o.status == "applied" for o in claim_outcomes)
    outcomes += claim_outcomes
    ok = applied == len(outcomes) and leaked == 0
    console.print("[green]デモ完了[/]" if ok else "[red]デモで問題が見つかりました[/]")
    return 0 if ok else 1
