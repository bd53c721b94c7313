"""Small wording helpers shared by the checks' messages."""

from __future__ import annotations

from collections.abc import Sequence


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 node`, `3 nodes`."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def some(names: Sequence[str], shown: int = 5) -> str:
    """`a, b, c` or `a, b, c, d, e and 7 more`."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def cpu(milli: int) -> str:
    """`500m`, `2`."""
    return f"{milli // 1000}" if milli % 1000 == 0 else f"{milli}m"


def memory(n: int) -> str:
    """`512Mi`, `2Gi`, or bytes when not a whole mebibyte."""
    for unit, size in (("Gi", 1 << 30), ("Mi", 1 << 20)):
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)
