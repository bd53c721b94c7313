"""Kubernetes resource quantities ("100m", "1.5", "1Gi", "500Mi", "1e3", "1k") as exact numbers.

A port of the grammar of k8s.io/apimachinery `pkg/api/resource/quantity.go`:

    <quantity>  ::= <signedNumber><suffix>
    <suffix>    ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>  ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI> ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>

Values are exact `Fraction`s; the integer views round up (away from zero), as the apiserver's
`Quantity.Value()` and `MilliValue()` do, so a request of "0.5m" cpu counts as 1 millicore.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<exponent>[eE][+-]?\d+)|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)"
)


class QuantityError(ValueError):
    """Text that is not a Kubernetes quantity."""


@lru_cache(maxsize=8192)
def _parse_text(text: str) -> Fraction:
    match = _QUANTITY.fullmatch(text.strip())
    if match is None:
        raise QuantityError(f"{text!r} is not a Kubernetes quantity (e.g. 100m, 1.5, 1Gi, 500Mi, 1e3, 1k)")
    value = Fraction(match["number"])
    exponent = match["exponent"]
    if exponent is not None:
        return value * Fraction(10) ** int(exponent[1:])
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return value * (1 << _BINARY[suffix])
    return value * Fraction(10) ** _DECIMAL[suffix]


def parse_quantity(value: str | int | float) -> Fraction:
    """The exact value of a quantity; bare JSON numbers are accepted as the apiserver accepts them."""
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a Kubernetes quantity")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(f"{value!r} is not a Kubernetes quantity")
        return Fraction(repr(value))
    return _parse_text(value)


def _ceil(value: Fraction) -> int:
    """Rounded away from zero, as resource.Quantity rounds a value it cannot hold exactly."""
    if value >= 0:
        return -((-value.numerator) // value.denominator)
    return -_ceil(-value)


def to_int(value: str | int | float) -> int:
    """`Quantity.Value()`: whole units (bytes, pods), rounded up: "1Gi" → 1073741824, "0.5" → 1."""
    if isinstance(value, str):
        return _int_of_text(value)
    return _ceil(parse_quantity(value))


def to_milli(value: str | int | float) -> int:
    """`Quantity.MilliValue()`: thousandths (millicores), rounded up: "100m" → 100, "1.5" → 1500."""
    if isinstance(value, str):
        return _milli_of_text(value)
    return _ceil(parse_quantity(value) * 1000)


# The same few request strings ("100m", "128Mi") recur across 150,000 pods.
@lru_cache(maxsize=8192)
def _int_of_text(text: str) -> int:
    return _ceil(_parse_text(text))


@lru_cache(maxsize=8192)
def _milli_of_text(text: str) -> int:
    return _ceil(_parse_text(text) * 1000)


def int_or_zero(value: object) -> int:
    """`to_int` of a field read from an object; missing or malformed counts as 0."""
    return _lenient(value, to_int)


def milli_or_zero(value: object) -> int:
    """`to_milli` of a field read from an object; missing or malformed counts as 0."""
    return _lenient(value, to_milli)


def _lenient(value: object, convert: Callable[[str | int | float], int]) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return 0
    try:
        return convert(value)
    except QuantityError:
        return 0
