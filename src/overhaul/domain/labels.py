"""metav1.LabelSelector matching, as `metav1.LabelSelectorAsSelector` and `labels.Selector` decide.

A selector is the API's dict form (`{"matchLabels": {...}, "matchExpressions": [...]}`):
a nil selector (None) matches nothing, an empty one (`{}`) matches everything, and otherwise
every term must hold. `NotIn` and `DoesNotExist` hold for objects without the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Labels = Mapping[str, str]

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class LabelSelectorError(ValueError):
    """A selector the apiserver would reject (unknown operator, In without values, ...)."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One term: `key` `operator` `values` (values empty for Exists / DoesNotExist)."""

    key: str
    operator: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Labels) -> bool:
        op = self.operator
        if op == "In":
            return labels.get(self.key) in self.values
        if op == "NotIn":
            value = labels.get(self.key)
            return value is None or value not in self.values
        if op == "Exists":
            return self.key in labels
        return self.key not in labels  # DoesNotExist

    def to_query(self) -> str:
        """The term in the `labelSelector=` query syntax."""
        values = ",".join(sorted(self.values))
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return "!" + self.key
        if self.operator == "In" and len(self.values) == 1:
            return f"{self.key}={values}"
        return f"{self.key} {self.operator.lower()} ({values})"


@dataclass(frozen=True, slots=True)
class Selector:
    """A compiled selector; `nothing` marks the nil selector."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @property
    def everything(self) -> bool:
        return not self.nothing and not self.requirements

    def matches(self, labels: Labels | None) -> bool:
        if self.nothing:
            return False
        present: Labels = labels if labels is not None else {}
        return all(req.matches(present) for req in self.requirements)

    def to_query(self) -> str:
        """The `labelSelector=` parameter that selects the same objects ("" selects all).

        The nil selector has no query form; listing with it would select everything, so it raises.
        """
        if self.nothing:
            raise LabelSelectorError("a nil label selector selects nothing and has no query form")
        return ",".join(r.to_query() for r in sorted(self.requirements, key=lambda r: (r.key, r.operator)))


NOTHING = Selector(nothing=True)
EVERYTHING = Selector()


def compile_selector(selector: Mapping[str, Any] | None) -> Selector:
    """The compiled form of a metav1.LabelSelector dict; raises LabelSelectorError when invalid."""
    if selector is None:
        return NOTHING
    if not isinstance(selector, Mapping):
        raise LabelSelectorError(f"a label selector is an object, not {type(selector).__name__}")
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping) or not isinstance(expressions, list):
        raise LabelSelectorError("matchLabels must be an object and matchExpressions a list")
    requirements: list[Requirement] = []
    for key, value in match_labels.items():
        if not isinstance(value, str):
            raise LabelSelectorError(f"matchLabels[{key!r}] must be a string")
        requirements.append(Requirement(str(key), "In", frozenset((value,))))
    for expr in expressions:
        requirements.append(_requirement(expr))
    return Selector(tuple(requirements))


def _requirement(expr: Any) -> Requirement:
    if not isinstance(expr, Mapping):
        raise LabelSelectorError("a matchExpressions entry must be an object")
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if not isinstance(key, str) or not key:
        raise LabelSelectorError("a matchExpressions entry needs a key")
    if op not in OPERATORS:
        raise LabelSelectorError(f"{op!r} is not a valid label selector operator")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise LabelSelectorError(f"values of {key!r} must be a list of strings")
    if op in ("In", "NotIn") and not values:
        raise LabelSelectorError(f"for 'in', 'notin' operators, values set can't be empty (key {key!r})")
    if op in ("Exists", "DoesNotExist") and values:
        raise LabelSelectorError(f"values set must be empty for exists and does not exist (key {key!r})")
    return Requirement(key, op, frozenset(values))


def selector_matches(selector: Mapping[str, Any] | None, labels: Labels | None) -> bool:
    """Whether `selector` selects an object with `labels`; an invalid selector selects nothing.

    (The API validates selectors when objects are written, so an invalid one is rare; treating it
    as selecting nothing is what the disruption controller does with a PDB's bad selector.) To
    match many objects, compile once with `lenient_selector` and call `matches`.
    """
    return lenient_selector(selector).matches(labels)


def lenient_selector(selector: Mapping[str, Any] | None) -> Selector:
    """`compile_selector`, but an invalid selector becomes the one that selects nothing."""
    try:
        return compile_selector(selector)
    except LabelSelectorError:
        return NOTHING
