"""Record layouts of ``shared/spec/files.md`` as data: one ``Field`` per item, in order."""

from __future__ import annotations

from dataclasses import dataclass

from shuyaku.exchange import codes


@dataclass(frozen=True)
class Field:
    label: str  # 項目名, as staff and the spec say it
    column: str  # name in code
    kind: str  # const | digits | code | date | month | timestamp | text | kana | yen
    required: bool = True
    length: int = 0  # digits: exact (exact=True) or maximum; text: maximum characters
    exact: bool = False
    values: tuple[str, ...] = ()  # allowed values for const / code
    check: str = ""  # check digit: individual | municipality | insurer


@dataclass(frozen=True)
class Layout:
    kind: str
    title: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    record_key: str  # the column KKKK reports as 宛名番号 or 世帯番号
    amount_column: str | None = None

    @property
    def width(self) -> int:
        return len(self.fields)

    def field(self, column: str) -> Field:
        return next(f for f in self.fields if f.column == column)


def _codes(table: dict[str, str] | list[str]) -> tuple[str, ...]:
    return tuple(sorted(table))


RECORD_KIND = Field("レコード区分", "record_kind", "const", values=("2",))
OP = Field("処理区分", "op", "code", values=_codes(codes.OPS))
MUNICIPALITY = Field("市町村コード", "municipality_code", "digits", length=6, exact=True, check="municipality")

SKKS = Layout(
    kind="SKKS",
    title="資格情報(個人)",
    key=("municipality_code", "atena_no", "history_no"),
    record_key="atena_no",
    fields=(
        RECORD_KIND,
        MUNICIPALITY,
        Field("宛名番号", "atena_no", "digits", length=15),
        Field("履歴番号", "history_no", "digits", length=4),
        OP,
        Field("異動年月日", "change_date", "date"),
        Field("異動事由コード", "reason_code", "code", values=tuple(codes.CHANGE_REASONS)),
        Field("個人番号", "individual_number", "digits", required=False, length=12, exact=True, check="individual"),
        Field("世帯番号", "setai_no", "digits", length=15),
        Field("世帯主区分", "is_head", "code", values=("0", "1")),
        Field("続柄", "relation", "text", required=False, length=20),
        Field("被保険者証記号", "card_symbol", "text", required=False, length=20),
        Field("被保険者証番号", "card_number", "text", length=20),
        Field("枝番", "card_branch", "digits", length=2, exact=True),
        Field("氏名", "name", "text", length=50),
        Field("カナ氏名", "name_kana", "kana", length=50),
        Field("生年月日", "birth_date", "date"),
        Field("性別コード", "sex", "code", values=("1", "2")),
        Field("資格取得年月日", "qualified_from", "date"),
        Field("資格取得事由コード", "qualified_from_reason", "code", values=_codes(codes.ACQUISITION_REASONS)),
        Field("資格喪失年月日", "qualified_until", "date", required=False),
        Field(
            "資格喪失事由コード", "qualified_until_reason", "code", required=False, values=_codes(codes.LOSS_REASONS)
        ),
        Field("適用開始年月日", "applied_from", "date"),
        Field("適用終了年月日", "applied_to", "date", required=False),
        Field("高齢受給者一部負担割合", "elderly_copay_ratio", "code", required=False, values=("20", "30")),
        Field("更新日時", "source_updated", "timestamp"),
    ),
)

SKSE = Layout(
    kind="SKSE",
    title="資格情報(世帯)",
    key=("municipality_code", "setai_no", "history_no"),
    record_key="setai_no",
    fields=(
        RECORD_KIND,
        MUNICIPALITY,
        Field("世帯番号", "setai_no", "digits", length=15),
        Field("履歴番号", "history_no", "digits", length=4),
        OP,
        Field("異動年月日", "change_date", "date"),
        Field("異動事由コード", "reason_code", "code", values=_codes(codes.HOUSEHOLD_REASONS)),
        Field("世帯主宛名番号", "head_atena_no", "digits", length=15),
        Field("擬制世帯主区分", "nominal_head", "code", values=("0", "1", "2")),
        Field("郵便番号", "postal_code", "digits", required=False, length=7, exact=True),
        Field("住所", "address", "text", length=100),
        Field("適用開始年月日", "applied_from", "date"),
        Field("適用終了年月日", "applied_to", "date", required=False),
        Field("更新日時", "source_updated", "timestamp"),
    ),
)

UNDER70_CODES = ("01", "02", "03", "04", "05", "09")  # 09 未申告
OVER70_CODES = ("11", "12", "13", "14", "15", "16", "19")  # 19 未申告

RECE = Layout(
    kind="RECE",
    title="医療費(レセプト)集計",
    key=("municipality_code", "atena_no", "month", "institution", "setting_code", "detail_no"),
    record_key="atena_no",
    amount_column="total_cost",  # 金額合計: the sum of 医療費総額 (see docs/decisions.md)
    fields=(
        RECORD_KIND,
        MUNICIPALITY,
        Field("宛名番号", "atena_no", "digits", length=15),
        Field("診療年月", "month", "month"),
        Field("医療機関コード", "institution", "digits", length=10, exact=True),
        Field("入外区分", "setting_code", "code", values=("1", "2", "3")),
        Field("明細番号", "detail_no", "digits", length=4),
        OP,
        Field("医療費総額", "total_cost", "yen"),
        Field("一部負担金", "copay", "yen"),
        Field("特定疾病区分", "specified_disease", "code", values=("0", "1", "2")),
    ),
)

SKBN = Layout(
    kind="SKBN",
    title="世帯所得区分",
    key=("municipality_code", "setai_no", "applied_from_month"),
    record_key="setai_no",
    fields=(
        RECORD_KIND,
        MUNICIPALITY,
        Field("世帯番号", "setai_no", "digits", length=15),
        OP,
        Field("適用開始年月", "applied_from_month", "month"),
        Field("適用終了年月", "applied_to_month", "month", required=False),
        Field("所得区分コード(70歳未満)", "class_under70", "code", required=False, values=UNDER70_CODES),
        Field("所得区分コード(70歳以上)", "class_over70", "code", required=False, values=OVER70_CODES),
        Field("判定年度", "fiscal_year", "digits", length=4, exact=True),
        Field("更新日時", "source_updated", "timestamp"),
    ),
)

KGGT = Layout(
    kind="KGGT",
    title="高額該当情報",
    key=("municipality_code", "setai_no", "month"),
    record_key="setai_no",
    amount_column="payment",  # 金額合計: the sum of 支給額
    fields=(
        RECORD_KIND,
        MUNICIPALITY,
        Field("世帯番号", "setai_no", "digits", length=15),
        Field("診療年月", "month", "month"),
        OP,
        Field("該当区分", "kind", "code", values=("1", "2")),
        Field("所得区分コード", "income_code", "code", values=UNDER70_CODES + OVER70_CODES),
        Field("多数回該当", "municipal_tasuukai", "code", values=("0", "1")),
        Field("県内転居月特例", "move_month", "code", values=("0", "1")),
        Field("支給額", "payment", "yen"),
        Field("更新日時", "source_updated", "timestamp"),
    ),
)

# Layouts this version ingests.
INBOUND = {layout.kind: layout for layout in (SKKS, SKSE, RECE, SKBN, KGGT)}
KNOWN_KINDS = ("SKSE", "SKKS", "KGGT", "SKBN", "RECE")

SPEC_VERSIONS = ("1.0",)
