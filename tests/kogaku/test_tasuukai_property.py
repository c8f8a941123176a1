"""The columnar 多数回 count against a direct recursive reading of its definition, on
generated lineages (hypothesis); the answer never depends on the order of the rows."""

from __future__ import annotations

from functools import cache

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from shuyaku.kogaku.tasuukai import contributions

MONTH = "202612"
# The reference's months and window are written out here, not taken from the module under
# test (kogaku.md: m−11 … m−1, never before 2018-04): for m = 2026-12, 2025-12 … 2026-11.
MONTHS = [f"{2025 + i // 12}{i % 12 + 1:02d}" for i in range(24)]  # 202501 … 202612
FIRST, LAST = "202512", "202611"


def window(month: str) -> tuple[str, str]:
    assert month == MONTH
    return FIRST, LAST


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[tuple[str, str, str, int]], list[tuple[str, str]]]:
    n = draw(st.integers(2, 6))
    households = [f"H{i}" for i in range(n)]
    hits = draw(st.lists(st.tuples(st.sampled_from(households), st.sampled_from(MONTHS)), max_size=30))
    # Edges only from a lower to a higher household: a lineage has no cycles.
    pairs = [(a, b) for i, a in enumerate(households) for b in households[i + 1 :]]
    edges = draw(
        st.lists(st.tuples(st.sampled_from(pairs), st.sampled_from(MONTHS)), max_size=6, unique_by=lambda e: e[0])
    )
    restarts = draw(st.lists(st.tuples(st.sampled_from(households), st.sampled_from(MONTHS)), max_size=3))
    return hits, [(a, b, c, i) for i, ((a, b), c) in enumerate(edges)], restarts


def reference(
    hits: list[tuple[str, str]], edges: list[tuple[str, str, str, int]], restarts: list[tuple[str, str]]
) -> dict[str, int]:
    first, last = window(MONTH)
    cuts: dict[str, list[str]] = {}
    for h, r in restarts:
        cuts.setdefault(h, []).append(r)

    @cache
    def arrived_at(x: str) -> frozenset[tuple[str, str, str]]:
        found = {(m, x, m) for h, m in hits if h == x and first <= m <= last}
        for src, dst, cutoff, _ in edges:
            if dst != x or cutoff < first:
                continue
            for m, origin, arrived in arrived_at(src):
                if m <= cutoff and not any(arrived < r < cutoff for r in cuts.get(src, [])):
                    found.add((m, origin, cutoff))
        return frozenset(found)

    out = {}
    for h in {h for h, _ in hits} | {e[1] for e in edges}:
        latest = max(cuts.get(h, []), default=None)
        months = {m for m, _, a in arrived_at(h) if latest is None or a >= latest}
        if months:
            out[h] = len(months)
    return out


def frames(
    hits: list[tuple[str, str]],
    edges: list[tuple[str, str, str, int]],
    restarts: list[tuple[str, str]],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    first, last = window(MONTH)
    return (
        pl.DataFrame(
            {
                "household": [h for h, m in hits if first <= m <= last],
                "month": [m for h, m in hits if first <= m <= last],
            },
            schema={"household": pl.String, "month": pl.String},
        ),
        pl.DataFrame(
            edges,
            schema={"src": pl.String, "dst": pl.String, "cutoff": pl.String, "candidate_id": pl.Int64},
            orient="row",
        ),
        pl.DataFrame(restarts, schema={"household": pl.String, "restart": pl.String}, orient="row").unique(),
    )


def counted(hits: pl.DataFrame, edges: pl.DataFrame, restarts: pl.DataFrame) -> dict[str, int]:
    found = contributions(hits, edges, restarts, window(MONTH)[0])
    return dict(found.group_by("household").agg(pl.col("month").n_unique()).iter_rows())


@settings(max_examples=300, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_the_columnar_count_is_the_definition_and_ignores_row_order(history, rnd) -> None:  # type: ignore[no-untyped-def]
    hits, edges, restarts = history
    expected = reference(hits, edges, restarts)
    assert counted(*frames(hits, edges, restarts)) == expected
    shuffled = [list(x) for x in history]
    for part in shuffled:
        rnd.shuffle(part)
    assert counted(*frames(*shuffled)) == expected  # type: ignore[arg-type]
