"""Check digits: the vectors of identifiers.md, and what a single wrong digit does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuyaku import ids


@pytest.mark.parametrize(("body", "expected"), [("12345678901", "123456789018")])
def test_individual_number_vector(body: str, expected: str) -> None:
    assert body + str(ids.individual_number_check_digit(body)) == expected
    assert ids.is_valid_individual_number(expected)


@pytest.mark.parametrize(("body", "expected"), [("13101", "131011"), ("11100", "111005"), ("3312001", "33120015")])
def test_insurer_number_vectors(body: str, expected: str) -> None:
    assert ids.with_insurer_check_digit(body) == expected
    assert ids.is_valid_insurer_number(expected)


@pytest.mark.parametrize(
    ("body", "expected"),
    [("13101", "131016"), ("01100", "011002"), ("11100", "111007"), ("11203", "112038"), ("27100", "271004")],
)
def test_municipality_code_vectors(body: str, expected: str) -> None:
    assert ids.with_municipality_check_digit(body) == expected
    assert ids.is_valid_municipality_code(expected)


def _single_digit_changes(value: str) -> list[str]:
    return [value[:i] + d + value[i + 1 :] for i in range(len(value)) for d in "0123456789" if d != value[i]]


def _individual_remainder(body: str) -> int:
    return sum(int(d) * w for d, w in zip(body, (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_individual_number_catches_a_single_wrong_digit_unless_both_remainders_map_to_zero(body: str) -> None:
    # The official rule maps remainders 0 and 1 to the same check digit 0, so a change that
    # moves the remainder between 0 and 1 is the one single-digit error it cannot see.
    number = body + str(ids.individual_number_check_digit(body))
    for changed in _single_digit_changes(number):
        undetectable = changed[11] == number[11] and {
            _individual_remainder(body),
            _individual_remainder(changed[:11]),
        } == {0, 1}
        assert ids.is_valid_individual_number(changed) is undetectable


@given(st.text(alphabet="0123456789", min_size=5, max_size=7))
def test_insurer_rule_catches_every_single_wrong_digit(body: str) -> None:
    number = ids.with_insurer_check_digit(body)
    assert all(ids.insurer_check_digit(c[:-1]) != int(c[-1]) for c in _single_digit_changes(number))


@given(st.sampled_from(["1", "2"]), st.text(alphabet="0123456789", min_size=2, max_size=2))
def test_pref_ids_are_13_digits_and_catch_every_single_wrong_digit(kind: str, prefecture: str) -> None:
    pref_id = ids.new_pref_id(prefecture, kind)
    assert len(pref_id) == 13 and pref_id.startswith(prefecture + kind)
    assert ids.is_valid_pref_id(pref_id, kind)
    assert not ids.is_valid_pref_id(pref_id, "2" if kind == "1" else "1")
    assert not any(
        ids.is_valid_pref_id(c)
        and c[2] == kind
        and c[:2] == prefecture
        and c != pref_id
        and ids.insurer_check_digit(c[:12]) == int(c[12])
        for c in _single_digit_changes(pref_id)
    )


@given(st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_municipality_code_catches_a_single_wrong_digit_unless_remainders_are_0_and_10(body: str) -> None:
    code = ids.with_municipality_check_digit(body)

    def remainder(b: str) -> int:
        return sum(int(d) * w for d, w in zip(b, (6, 5, 4, 3, 2), strict=True)) % 11

    for changed in _single_digit_changes(code):
        undetectable = changed[5] == code[5] and {remainder(body), remainder(changed[:5])} == {0, 10}
        assert ids.is_valid_municipality_code(changed) is undetectable


def test_find_individual_numbers_ignores_longer_digit_runs() -> None:
    valid = "123456789018"
    assert ids.find_individual_numbers(f"a,{valid},b") == [valid]
    assert ids.find_individual_numbers(f"a,1{valid},b") == []  # 13 digits: a prefecture ID shape
    assert ids.find_individual_numbers("a,123456789012,b") == []  # wrong check digit


def test_new_pref_ids_are_distinct_and_avoid_taken() -> None:
    taken = {ids.new_pref_id("11", "1") for _ in range(50)}
    fresh = ids.new_pref_id_batch("11", "1", 500, taken=taken)
    assert len(set(fresh)) == 500 and not (set(fresh) & taken)


def test_the_columnar_id_batch_gives_valid_distinct_ids() -> None:
    batch = ids.new_pref_id_batch("11", "2", 2000, taken=["1120000000000"])
    assert len(set(batch)) == 2000
    assert all(ids.is_valid_pref_id(i, ids.HOUSEHOLD_KIND) and i.startswith("112") for i in batch)


def test_check_digits_a_column_at_a_time_equal_one_by_one() -> None:
    """A large batch takes Polars' column arithmetic, a small one Python's: the same IDs."""
    import random

    parts = [0, 1, 999_999_999, 100_000_000, *random.Random(7).sample(range(10**9), 600)]
    columnar = ids._with_check_digits("112", parts)
    assert len(parts) >= ids._ONE_BY_ONE  # the column path
    assert columnar == [ids.with_insurer_check_digit(f"112{r:09d}") for r in parts]
    assert ids._with_check_digits("112", parts[:5]) == columnar[:5]  # the one-by-one path
    assert columnar[0] == "1120000000005"  # digits 2, 1, 1 from the right weigh 1, 2, 1: 10 − 5
    assert ids.is_valid_pref_id(columnar[2], ids.HOUSEHOLD_KIND)


def test_a_small_id_batch_gives_valid_distinct_ids_of_its_partition() -> None:
    with ids.id_partition(1, 3):
        batch = ids.new_pref_id_batch("11", "1", 40)
    assert len(set(batch)) == 40 and all(ids.is_valid_pref_id(i, ids.PERSON_KIND) for i in batch)
    assert all(int(i[3:12]) % 3 == 1 for i in batch)


def test_redact_masks_only_what_passes_the_individual_number_check() -> None:
    valid = "123456789018"
    assert ids.redact(f"x {valid} y 123456789012 z 1{valid}") == "x ************ y 123456789012 z 1" + valid
