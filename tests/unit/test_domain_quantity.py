"""Kubernetes quantities: the grammar of resource.Quantity and its rounding."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overhaul.domain.quantity import (
    QuantityError,
    int_or_zero,
    milli_or_zero,
    parse_quantity,
    to_int,
    to_milli,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100m", Fraction(1, 10)),
        ("1", Fraction(1)),
        ("1.5", Fraction(3, 2)),
        ("0.5", Fraction(1, 2)),
        (".5", Fraction(1, 2)),
        ("5.", Fraction(5)),
        ("1Gi", Fraction(2**30)),
        ("500Mi", Fraction(500 * 2**20)),
        ("1Ki", Fraction(1024)),
        ("1Ei", Fraction(2**60)),
        ("1e3", Fraction(1000)),
        ("1E3", Fraction(1000)),
        ("1e-3", Fraction(1, 1000)),
        ("1.5e+2", Fraction(150)),
        ("1k", Fraction(1000)),
        ("1M", Fraction(10**6)),
        ("2G", Fraction(2 * 10**9)),
        ("1T", Fraction(10**12)),
        ("1P", Fraction(10**15)),
        ("1E", Fraction(10**18)),
        ("250u", Fraction(250, 10**6)),
        ("100n", Fraction(100, 10**9)),
        ("-1", Fraction(-1)),
        ("+2", Fraction(2)),
        ("0", Fraction(0)),
        (" 1Gi ", Fraction(2**30)),
    ],
)
def test_parse_quantity(text: str, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    "text", ["", "m", "Gi", "1.2.3", "1 Gi", "1gi", "1KiB", "abc", "1e", "1e3Gi", "--1", "."]
)
def test_malformed_quantities_are_rejected(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_numbers_from_json() -> None:
    assert parse_quantity(2) == 2
    assert parse_quantity(0.25) == Fraction(1, 4)
    with pytest.raises(QuantityError):
        parse_quantity(True)
    with pytest.raises(QuantityError):
        parse_quantity(float("nan"))


def test_integer_views_round_up_as_the_apiserver() -> None:
    assert to_milli("100m") == 100
    assert to_milli("1") == 1000
    assert to_milli("1.5") == 1500
    assert to_milli("0.5m") == 1  # MilliValue rounds up
    assert to_milli("100n") == 1
    assert to_int("1Gi") == 1073741824
    assert to_int("500Mi") == 524288000
    assert to_int("0.5") == 1
    assert to_int("1500m") == 2
    assert to_int("-1.5") == -2  # away from zero


def test_lenient_forms_for_object_fields() -> None:
    assert milli_or_zero(None) == 0
    assert milli_or_zero("bogus") == 0
    assert milli_or_zero({"a": 1}) == 0
    assert milli_or_zero(False) == 0
    assert milli_or_zero("250m") == 250
    assert int_or_zero("110") == 110
    assert int_or_zero(3) == 3


_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(_BINARY)))
def test_binary_suffixes_scale_by_powers_of_1024(n: int, suffix: str) -> None:
    assert parse_quantity(f"{n}{suffix}") == n * 2 ** _BINARY[suffix]


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False, allow_infinity=False),
    st.sampled_from(sorted(_DECIMAL)),
)
def test_decimal_suffixes_and_exponents_agree(number: Decimal, suffix: str) -> None:
    text = format(number, "f")
    expected = Fraction(number) * Fraction(10) ** _DECIMAL[suffix]
    assert parse_quantity(f"{text}{suffix}") == expected
    assert parse_quantity(f"{text}e{_DECIMAL[suffix]}") == expected


@given(st.fractions(min_value=0, max_value=10**6, max_denominator=10**6))
def test_milli_is_the_ceiling_of_a_thousand_times(value: Fraction) -> None:
    text = format(Decimal(value.numerator) / Decimal(value.denominator), ".9f")
    exact = parse_quantity(text)
    milli = to_milli(text)
    assert exact * 1000 <= milli < exact * 1000 + 1
    assert to_int(text) - 1 < exact <= to_int(text)


@given(st.integers(min_value=0, max_value=10**9))
def test_milli_suffix_is_a_thousandth(n: int) -> None:
    assert parse_quantity(f"{n}m") * 1000 == parse_quantity(str(n))
    assert to_milli(f"{n}m") == n
