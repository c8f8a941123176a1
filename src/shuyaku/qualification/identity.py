"""Recognise persons: (市町村コード, 宛名番号) and the individual number → 県被保険者ID.

Resolution is per 宛名番号 over the whole file, set at a time:

| the 宛名番号 is | the number is | result |
|---|---|---|
| known (person P) | absent, or P's | P |
| known (person P) | another person's, or unknown | E031 |
| new | absent | E011 (required on a person's first record) |
| new | a person's with another 宛名番号 here | E031 |
| new | a person's known only elsewhere | P, carried over (付番区分 2) |
| new | unknown | a new person (付番区分 1) |
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, bindparam

from shuyaku.db.locks import shared_lock
from shuyaku.db.query import Lookup
from shuyaku.db.schema import person_key
from shuyaku.problems import PROBLEM_SCHEMA, problems_for
from shuyaku.vault.service import IDENTITY_LOCK, Vault

NEW = "1"
CARRIED_OVER = "2"
KNOWN = "0"


@dataclass(frozen=True)
class Resolution:
    """What ``resolve`` found, kept for the rest of the file's work (one look-up of the
    keys per file, reused for binding, IDTB and the move checks)."""

    resolved: pl.DataFrame  # per 宛名番号: status, pref_person_id, blind_index, prev_municipality_code, number (NEW)
    problems: pl.DataFrame
    bound_here: pl.DataFrame  # the file's 宛名番号 already bound here: atena_no, pref_person_id, bind_kind, prev_…
    keys: pl.DataFrame  # every key (pref_person_id, municipality_code) of the persons the file names

    def movers(self, persons: list[str]) -> list[str]:
        """Those of ``persons`` known in more than one municipality, once the file's new
        keys are bound (a person carried over has a key elsewhere and now one here)."""
        carried = self.resolved.filter(pl.col("status") == CARRIED_OVER)["pref_person_id"].to_list()
        counted = (
            self.keys.filter(pl.col("pref_person_id").is_in(persons))
            .group_by("pref_person_id")
            .agg(pl.col("municipality_code").n_unique().alias("n"))
        )
        return sorted(set(counted.filter(pl.col("n") > 1)["pref_person_id"].to_list()) | (set(carried) & set(persons)))


KEY_SCHEMA = {
    "pref_person_id": pl.String,
    "municipality_code": pl.String,
    "atena_no": pl.String,
    "bound_at": pl.Datetime("us"),
}
BOUND_SCHEMA = {
    "atena_no": pl.String,
    "pref_person_id": pl.String,
    "bind_kind": pl.String,
    "prev_municipality_code": pl.String,
}
# The keys a municipality has bound (by 宛名番号), and every key of some persons.
_BOUND = Lookup.of(person_key, BOUND_SCHEMA, "atena_no", person_key.c.municipality_code == bindparam("municipality"))
_KEYS_OF = Lookup.of(person_key, KEY_SCHEMA, "pref_person_id")


def resolve(conn: Connection, vault: Vault, municipality_code: str, records: pl.DataFrame) -> Resolution:
    """Per 宛名番号: status (KNOWN / NEW / CARRIED_OVER), pref_person_id, blind_index,
    prev_municipality_code and — for NEW only — the number to seal. Plus problems, and the
    keys read on the way."""
    shared_lock(conn, IDENTITY_LOCK)  # no erasure or rotation until this file commits
    rec = records.select("line_no", "atena_no", "individual_number").sort("line_no")
    numbered = rec.filter(pl.col("individual_number").is_not_null())
    numbered = numbered.with_columns(
        pl.Series("blind_index", vault.blind_indexes(conn, numbered["individual_number"].to_list()), dtype=pl.Binary)
    )
    first = numbered.group_by("atena_no", maintain_order=True).agg(
        pl.col("blind_index").first(),
        pl.col("individual_number").first(),
        pl.col("line_no").first().alias("first_line"),
    )
    conflicting = numbered.join(first.select("atena_no", pl.col("blind_index").alias("_first")), on="atena_no").filter(
        pl.col("blind_index") != pl.col("_first")
    )
    problems = [
        pl.DataFrame(schema=PROBLEM_SCHEMA),
        problems_for(conflicting, "E031", "個人番号", "個人番号: 同じ宛名番号の他のレコードと異なる個人番号です"),
    ]

    atenas = rec.group_by("atena_no").agg(pl.col("line_no").min().alias("first_line_any"))
    atenas = atenas.join(first.drop("first_line"), on="atena_no", how="left")
    known = _BOUND(conn, atenas["atena_no"].to_list(), municipality=municipality_code)
    atenas = atenas.join(
        known.select("atena_no", pl.col("pref_person_id").alias("key_person")), on="atena_no", how="left"
    )
    by_number = vault.persons_by_blind_index(conn, first["blind_index"].to_list())
    atenas = atenas.join(by_number.rename({"pref_person_id": "number_person"}), on="blind_index", how="left")
    keys_of = _KEYS_OF(conn, by_number["pref_person_id"].to_list() + known["pref_person_id"].to_list())
    here = (
        keys_of.filter(pl.col("municipality_code") == municipality_code)
        .group_by("pref_person_id")
        .agg(pl.col("atena_no").first().alias("atena_here"))
    )
    elsewhere = (
        keys_of.filter(pl.col("municipality_code") != municipality_code)
        .sort("bound_at")
        .group_by("pref_person_id")
        .agg(pl.col("municipality_code").last().alias("prev_municipality_code"))
    )
    atenas = (
        atenas.join(here, left_on="number_person", right_on="pref_person_id", how="left")
        .join(elsewhere, left_on="number_person", right_on="pref_person_id", how="left")
        # Two new 宛名番号 with one number in the same file: the first one seen gets it.
        .with_columns(pl.col("first_line_any").rank("ordinal").over("blind_index").alias("_nth"))
    )
    key_person, number_person = pl.col("key_person"), pl.col("number_person")
    has_number = pl.col("blind_index").is_not_null()
    outcome = (
        pl.when(key_person.is_not_null() & (~has_number | (number_person == key_person)))
        .then(pl.lit("ok:" + KNOWN))
        .when(key_person.is_not_null() & number_person.is_null())
        .then(
            pl.lit(
                "E031:個人番号: この宛名番号に登録済みの個人番号と異なります。宛名番号と個人番号の組合せを確認してください"
            )
        )
        .when(key_person.is_not_null())
        .then(pl.lit("E031:個人番号: 別の被保険者の個人番号です。宛名番号と個人番号の組合せを確認してください"))
        .when(~has_number)
        .then(pl.lit("E011:個人番号: 被保険者の最初のレコードには個人番号が必須です"))
        .when(pl.col("atena_here").is_not_null())
        .then(pl.lit("E031:個人番号: この市町村の別の宛名番号の被保険者として登録済みの個人番号です"))
        .when(number_person.is_not_null())
        .then(pl.lit("ok:" + CARRIED_OVER))
        .when(pl.col("_nth") > 1)
        .then(pl.lit("E031:個人番号: 同じファイルの別の宛名番号と同じ個人番号です"))
        .otherwise(pl.lit("ok:" + NEW))
    )
    atenas = atenas.with_columns(outcome.alias("_outcome"))
    failed = atenas.filter(~pl.col("_outcome").str.starts_with("ok:"))
    if not failed.is_empty():
        failed_records = rec.join(failed.select("atena_no", "_outcome"), on="atena_no")
        problems.append(
            problems_for(failed_records, "E0xx", "個人番号", pl.col("_outcome").str.slice(5)).with_columns(
                failed_records["_outcome"].str.slice(0, 4).alias("code")
            )
        )
    resolved = atenas.filter(pl.col("_outcome").str.starts_with("ok:")).select(
        "atena_no",
        pl.col("_outcome").str.slice(3).alias("status"),
        pl.coalesce("key_person", "number_person").alias("pref_person_id"),
        "blind_index",
        pl.when(pl.col("_outcome") == "ok:" + NEW).then(pl.col("individual_number")).alias("individual_number"),
        pl.when(pl.col("_outcome") == "ok:" + CARRIED_OVER)
        .then(pl.col("prev_municipality_code"))
        .alias("prev_municipality_code"),
    )
    keys = keys_of.select("pref_person_id", "municipality_code")
    return Resolution(resolved, pl.concat(problems, how="vertical"), known, keys)
