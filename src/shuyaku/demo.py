"""`shuyaku demo`: the monthly and daily work of a federation, end to end, on SQLite."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from shuyaku import ids
from shuyaku.access.actor import Actor
from shuyaku.config import load_settings
from shuyaku.context import Context, open_context
from shuyaku.db.schema import id_assignment
from shuyaku.exchange.ledger import FileStatus
from shuyaku.ingest.returns import export
from shuyaku.ingest.service import ingest_paths
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
    for hit_month in ("202604", "202605", "202606", "202607", "202608", "202609"):
        files += world.write_hits(inbox, hit_month)  # hit months before the moves below
    for _ in range(3):
        files += world.write_day(inbox, max(10, persons // 100))
    files += world.write_hits(inbox, "202610")
    for m in world.municipalities:
        add_municipality(ctx, operator, m.code, m.name, m.insurer_number, m.encoding)
    console.print(
        f"1. 市町村 {len(world.municipalities)} 団体を登録し、初期セットアップ+高額該当7か月分+日次差分3日分 {len(files)} ファイルを生成"
    )

    started = time.perf_counter()
    outcomes = ingest_paths(ctx, operator, [inbox], remove_source=True)
    seconds = time.perf_counter() - started
    applied = sum(o.status == FileStatus.APPLIED for o in outcomes)
    console.print(
        f"2. 取込: {applied}/{len(outcomes)} ファイル反映、{sum(o.records for o in outcomes):,} レコード、{seconds:.1f} 秒"
        f"(受信フォルダの残り {len(list(inbox.glob('*.csv')))} ファイル)"
    )

    carried = _continuity(ctx, operator, world, console)

    outbox = home / "outbox"
    written = []
    for m in world.municipalities:
        for kind in ("KKKK", "IDTB", "KZKH", "TSKG"):
            written += export(ctx, operator, m.code, kind, outbox / m.code)
    leaked = sum(len(ids.find_individual_numbers(p.read_bytes().decode("utf-8", "replace"))) for p in written)
    console.print(
        f"4. 返却: KKKK・IDTB・KZKH・TSKG {len(written)} ファイルを {outbox} に出力(個人番号らしき12桁: {leaked} 件)"
    )

    a = id_assignment.c
    with ctx.engine.connect() as conn:
        bindings = select(a.assign_kind, func.count(func.distinct(a.pref_person_id))).group_by(a.assign_kind)
        kinds: dict[str, int] = {str(k): int(n) for k, n in conn.execute(bindings).all()}
    from shuyaku.status import status

    s = status(ctx, operator)
    table = Table("市町村コード", "市町村名", "文字コード", "被保険者", "世帯", "SKSE連番", "SKKS連番", title="5. 要約")
    for row in s.municipalities:
        table.add_row(
            str(row["code"]),
            str(row["name"]),
            str(row["encoding"]),
            f"{row['persons']:,}",
            f"{row['households']:,}",
            str(row["SKSE"]),
            str(row["SKKS"]),
        )
    console.print(table)
    console.print(
        f"県被保険者ID {s.persons:,} 件(新規付番 {kinds.get('1', 0):,}、県内転居で引継ぎ {kinds.get('2', 0):,})、"
        f"隔離レコード {s.quarantined} 件"
    )
    from shuyaku.kogaku.service import run_month
    from shuyaku.synth.claims import write_claims, write_income_classes

    claims_in = home / "inbox-claims"
    write_income_classes(world, claims_in, "202608")
    write_claims(world, claims_in, "202609")
    claim_outcomes = ingest_paths(ctx, operator, [claims_in], remove_source=True)
    month = run_month(ctx, operator, "202609", outbox / "kogaku")
    console.print(
        f"6. 高額療養費 2026年9月診療分(限度額表 {month.cap_table}): 世帯 {month.households:,}、"
        f"支給 {month.paid_households:,} 世帯 計 {month.payment_total:,} 円、区分未登録 {month.unregistered:,} 世帯、"
        f"KGGT との食い違い {month.disagreements:,} 件(W302/W303)"
    )
    kinds = {kind: sum(f"_{kind}_" in p.name for p in month.files) for kind in ("KGSK", "KBMT", "KGCK")}
    console.print(
        f"   支給一覧 {kinds['KGSK']}・区分未登録一覧 {kinds['KBMT']}・突合結果 {kinds['KGCK']} ファイル: {outbox / 'kogaku'}"
    )
    applied += sum(o.status == FileStatus.APPLIED for o in claim_outcomes)
    outcomes += claim_outcomes
    audit_ok = _accounts_and_audit(ctx, home, console)
    ok = applied == len(outcomes) and leaked == 0 and carried > 0 and audit_ok
    console.print("デモ完了" if ok else "デモで問題が見つかりました", style="green" if ok else "red")
    return 0 if ok else 1


def _continuity(ctx: Context, operator: Actor, world: SyntheticPrefecture, console: Console) -> int:
    """Confirm the continuity candidates as each destination would, count November's 多数回,
    and show one household whose months came with it from another municipality."""
    from shuyaku.kogaku import tasuukai
    from shuyaku.review import continuity

    found = continuity.list_candidates(ctx, operator)
    rules = Counter(c.rule for c in found)
    for m in world.municipalities:
        continuity.confirm_all_proposed(ctx, operator, m.code, "デモ: 転入先の確認済み")
    summary = tasuukai.run_month(ctx, operator, "202611")
    with ctx.engine.connect() as conn:
        counts = tasuukai.counts(conn, "202611")
    carried = counts.filter(pl.col("predecessors") != "").sort("hit_count", descending=True)
    console.print(
        f"3. 世帯の継続性候補 {len(found):,} 件({'、'.join(f'{r} {n}' for r, n in sorted(rules.items()))})を転入先として確定。"
        f"2026年11月の多数回: 該当月のある世帯 {summary.households:,}、多数回該当 {summary.tasuukai:,}、"
        f"他の市町村から該当月を引き継いだ世帯 {carried.height:,}"
    )
    if carried.height:
        example = carried.row(0, named=True)
        ex = tasuukai.explain(ctx, operator, example["household"], "202611")
        table = Table(
            "診療年月",
            "数える",
            "市町村",
            "報告元ファイル",
            "理由",
            title=f"   例: 県世帯ID {ex.household}(市町村 {ex.municipality_code})"
            f" 直近12か月 {ex.hit_count} か月 → 多数回{'該当' if ex.tasuukai else '非該当'}",
        )
        for ln in ex.lines:
            table.add_row(ln.month, "○" if ln.counted else "×", ln.municipality_code, ln.filename, ln.note)
        console.print(table)
    return carried.height


def _accounts_and_audit(ctx: Context, home: Path, console: Console) -> bool:
    """Two staff accounts, a signed checkpoint, verification, the permission report."""
    from datetime import date

    from shuyaku import accounts
    from shuyaku.audit.verify import checkpoint, verify
    from shuyaku.reports import service as reports
    from shuyaku.reports.pdf import FontMissing
    from shuyaku.timeutil import jst_date

    setup = Actor("setup:demo", "system")
    accounts.add_user(ctx, setup, "kanri", "管理 太郎", "国保連合会 総務課", "admin")
    code = _municipalities(ctx)[0]
    accounts.add_user(
        ctx, setup, "madoguchi", "窓口 花子", "市町村 国保担当課", "municipal_clerk", [code], approved_by="kanri"
    )
    _screen_accounts(ctx, setup, home, code, console)
    admin, auditor = Actor("kanri", "admin"), Actor("kansa", "auditor")
    point = checkpoint(ctx, admin)
    report = verify(ctx, auditor)
    today = jst_date(ctx.clock())
    out = home / "reports"
    try:
        made = reports.permissions(
            ctx,
            auditor,
            date(today.year, 1, 1),
            today,
            pdf_path=out / "利用者権限変更一覧.pdf",
            csv_path=out / "利用者権限変更一覧.csv",
        )
        files = "、".join(p.name for p in made.files)
    except FontMissing as exc:
        made = reports.permissions(ctx, auditor, date(today.year, 1, 1), today, csv_path=out / "利用者権限変更一覧.csv")
        files = f"{made.files[0].name}(PDF は省略: {exc})"
    console.print(
        f"7. アクセス記録 {report.events:,} 件(チェックポイント {point.checkpoint_id} に署名、検証 {'異常なし' if report.ok else '異常あり'})、"
        f"利用者権限変更一覧 {made.rows} 件: {out}/{files}"
    )
    return report.ok


def _screen_accounts(ctx: Context, setup: Actor, home: Path, code: str, console: Console) -> None:
    """Accounts to try the screens and the API with (`make serve`): their first passwords,
    TOTP secrets and an API token go into one owner-only file — for the demo only."""
    from urllib.parse import parse_qs, urlparse

    from shuyaku import accounts
    from shuyaku.files import write_private

    made = [
        accounts.add_user(ctx, setup, "unyo", "運用 一郎", "国保連合会 業務課", "federation_operator"),
        accounts.add_user(ctx, setup, "kakunin", "確認 次郎", "市町村 国保担当課", "municipal_supervisor", [code]),
        accounts.add_user(ctx, setup, "kansa", "監査 三郎", "国保連合会 監査室", "auditor"),
        accounts.add_user(ctx, setup, "kokuho-sys", "国保システム", "市町村 国保担当課", "municipal_system", [code]),
    ]
    _, token = accounts.create_token(ctx, Actor("kanri", "admin"), "kokuho-sys", days=30)
    lines = [
        "# デモ専用の利用者(本番では作らないこと)。`make serve` の後 http://127.0.0.1:8000/login",
        "# 確認コード: .venv/bin/python -c 'import pyotp,sys; print(pyotp.TOTP(sys.argv[1]).now())' <TOTP秘密>",
        "# 初回ログインでパスワードの変更を求められます。",
    ]
    for creds in made[:3]:
        secret = parse_qs(urlparse(creds.totp_uri).query)["secret"][0]
        lines.append(f"{creds.login_id}\t初期パスワード {creds.password}\tTOTP秘密 {secret}")
    lines.append(f"kokuho-sys\tAPIトークン {token}\t(市町村 {code}、30日有効)")
    path = home / "demo-accounts.txt"
    write_private(path, ("\n".join(lines) + "\n").encode("utf-8"))
    console.print(f"   画面・API を試す利用者(デモ専用): {path}(`make serve` で起動)")


def _municipalities(ctx: Context) -> list[str]:
    from shuyaku.db.schema import municipality

    with ctx.engine.connect() as conn:
        return list(
            conn.execute(select(municipality.c.municipality_code).order_by(municipality.c.municipality_code)).scalars()
        )
