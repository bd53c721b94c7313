"""Kubernetes resource quantities ("100m", "1Gi", "1e3", "1k") as exact integers of milli-units.

The scheduler compares requests with allocatable amounts; one integer scale for every resource
(millicores for cpu, millibytes for memory) keeps that exact and cheap. Rounding goes up, as the
apiserver rounds a quantity finer than a milli-unit.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
# <sign><digits>[.<digits>] then a binary suffix, a decimal suffix, or an exponent (e/E<sign><digits>).
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<exponent>[eE][+-]?\d+)|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?)$"
)


class QuantityError(ValueError):
    """Not a quantity (the apiserver's "quantities must match the regular expression" error)."""


@lru_cache(maxsize=4096)
def parse_milli(text: str) -> int:
    """The quantity in milli-units, rounded up: "100m" → 100, "1" → 1000, "1Ki" → 1_024_000."""
    match = _QUANTITY.match(text.strip())
    if match is None:
        raise QuantityError(f"quantities must match the regular expression, got {text!r}")
    value = Fraction(match["number"])
    if match["exponent"] is not None:
        value *= Fraction(10) ** int(match["exponent"][1:])
    else:
        suffix = match["suffix"] or ""
        if suffix in _BINARY:
            value *= 1024 ** _BINARY[suffix]
        else:
            value *= Fraction(10) ** _DECIMAL[suffix]
    milli = value * 1000
    return -((-milli.numerator) // milli.denominator)  # ceiling


def milli_or_zero(value: object) -> int:
    """A quantity from an object's field (a string or a bare number); malformed or missing is 0."""
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value * 1000
    try:
        return parse_milli(str(value))
    except QuantityError:
        return 0
