"""Label and field selectors, parsed and matched the way kube-apiserver does.

Ports of k8s.io/apimachinery `pkg/labels/selector.go` (the set-based grammar, its lexer and its
error messages) and `pkg/fields/selector.go` (comma-separated `a=b`/`a!=b` terms with escapes).
Parsing does all validation and compiles each requirement into a small closure, so `matches`,
which runs once per object of a list (up to 150,000 pods), is a few dict look-ups.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any


class SelectorError(ValueError):
    """An invalid selector; the message is what kube-apiserver puts in its 400 Status."""


Labels = Mapping[str, str]
_LabelCheck = Callable[[Labels], bool]
_ObjCheck = Callable[[Mapping[str, Any]], bool]

_EMPTY_LABELS: Labels = {}
_EXACT_OPS = frozenset({"=", "=="})


# --------------------------------------------------------------------------- label selectors


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector, e.g. `tier in (web,api)`; `values` is empty for exists / `!`."""

    key: str
    operator: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        op = self.operator
        if op == "exists":
            return self.key
        if op == "!":
            return "!" + self.key
        value = ",".join(sorted(self.values))
        if op in ("in", "notin"):
            return f"{self.key} {op} ({value})"
        return f"{self.key}{_SYMBOL_OF_OP.get(op, op)}{value}"


_SYMBOL_OF_OP = {"gt": ">", "lt": "<"}


@dataclass(frozen=True)
class LabelSelector:
    """A conjunction of requirements. `nothing` marks the selector of a nil metav1.LabelSelector."""

    requirements: tuple[Requirement, ...]
    nothing: bool = False
    _match: _LabelCheck = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_match", _compile_labels(self.requirements, self.nothing))

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        return self._match(_EMPTY_LABELS if labels is None else labels)

    @property
    def empty(self) -> bool:
        """True when the selector matches everything."""
        return not self.requirements and not self.nothing

    def equality_values(self, key: str) -> str | None:
        """The value `key` must have, if the selector pins it (labels.Selector.RequiresExactMatch)."""
        for req in self.requirements:
            if req.key == key:
                exact = req.operator in ("=", "==", "in") and len(req.values) == 1
                return req.values[0] if exact else None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parses the string form (`a=b,c!=d,e in (f,g),h notin (i),j,!k,l>3,m<4`); "" matches everything."""
    if not text:
        return EVERYTHING
    requirements = _LabelParser(text).parse()
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


_DICT_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def label_selector_from_dict(sel: Mapping[str, Any] | None) -> LabelSelector:
    """A metav1.LabelSelector: None selects nothing, {} everything (metav1.LabelSelectorAsSelector)."""
    if sel is None:
        return NOTHING
    if not isinstance(sel, Mapping):
        raise SelectorError(f"invalid label selector: expected an object, got {type(sel).__name__}")
    match_labels = sel.get("matchLabels") or {}
    expressions = sel.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping) or not isinstance(expressions, list):
        raise SelectorError("invalid label selector: matchLabels must be an object, matchExpressions a list")
    requirements = [_new_requirement(str(k), "=", (_as_str(v),)) for k, v in match_labels.items()]
    requirements.extend(_requirement_from_expression(expr) for expr in expressions)
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


def _requirement_from_expression(expr: Any) -> Requirement:
    if not isinstance(expr, Mapping):
        raise SelectorError("invalid label selector: a matchExpressions entry must be an object")
    operator = expr.get("operator")
    op = _DICT_OPERATORS.get(operator) if isinstance(operator, str) else None
    if op is None:
        raise SelectorError(f"{_go_quote(str(operator or ''))} is not a valid label selector operator")
    values = expr.get("values") or []
    if not isinstance(values, list):
        raise SelectorError("invalid label selector: values must be a list")
    return _new_requirement(_as_str(expr.get("key")), op, tuple(_as_str(v) for v in values))


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise SelectorError(f"invalid label selector: expected a string, got {value!r}")
    return value


# --- matching


def _compile_labels(requirements: tuple[Requirement, ...], nothing: bool) -> _LabelCheck:
    if nothing:
        return _never
    checks = tuple(_compile_requirement(r) for r in requirements)
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]

    def all_of(labels: Labels) -> bool:
        for check in checks:  # noqa: SIM110 - a plain loop is faster than all() over a generator
            if not check(labels):
                return False
        return True

    return all_of


def _never(_: Any) -> bool:
    return False


def _always(_: Any) -> bool:
    return True


def _compile_requirement(req: Requirement) -> _LabelCheck:
    """One closure per requirement: missing keys fail =, in, exists, gt, lt and pass !=, notin, !."""
    key, op, values = req.key, req.operator, req.values
    if op in ("=", "==", "in", "!=", "notin"):
        return _compile_set_check(key, values, negate=op in ("!=", "notin"))
    if op == "exists":
        return lambda labels: key in labels
    if op == "!":
        return lambda labels: key not in labels
    if op in ("gt", "lt"):
        return _compile_int_check(key, values, greater=op == "gt")
    return _never


def _compile_set_check(key: str, values: tuple[str, ...], negate: bool) -> _LabelCheck:
    # A missing key reads as None, which is never one of the (string) values.
    if len(values) == 1:
        value = values[0]
        if negate:
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    allowed = frozenset(values)
    if negate:
        return lambda labels: labels.get(key) not in allowed
    return lambda labels: labels.get(key) in allowed


def _compile_int_check(key: str, values: tuple[str, ...], greater: bool) -> _LabelCheck:
    bound = _parse_int64(values[0]) if len(values) == 1 else None
    if bound is None:
        return _never
    limit = bound

    def check(labels: Labels) -> bool:
        raw = labels.get(key)
        number = None if raw is None else _parse_int64(raw)
        if number is None:
            return False
        return number > limit if greater else number < limit

    return check


def _parse_int64(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 10, 64): optional sign, ASCII digits, no spaces or underscores."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    number = int(text)
    return number if -(2**63) <= number < 2**63 else None


# Built once the matchers above exist: the selectors of "" and of a nil metav1.LabelSelector.
EVERYTHING = LabelSelector(())
NOTHING = LabelSelector((), nothing=True)


# --- lexer and parser (labels.Parser)

_END, _IDENT, _OPEN, _CLOSE, _COMMA, _NOT, _EQ, _DEQ, _NEQ, _GT, _LT, _IN, _NOTIN = range(13)
_WHITESPACE = frozenset(" \t\r\n")
_SPECIAL = frozenset("=!(),><")
_SYMBOLS = {
    "(": _OPEN,
    ")": _CLOSE,
    ",": _COMMA,
    "!": _NOT,
    "=": _EQ,
    "==": _DEQ,
    "!=": _NEQ,
    ">": _GT,
    "<": _LT,
}
_KEYWORDS = {"in": _IN, "notin": _NOTIN}
_OPERATOR_OF_TOKEN = {_IN: "in", _NOTIN: "notin", _EQ: "=", _DEQ: "==", _NEQ: "!=", _GT: "gt", _LT: "lt"}
_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"

Token = tuple[int, str]


def _lex(text: str) -> list[Token]:
    """All tokens of `text`, ending with _END; `in`/`notin` are keywords, specials are greedy."""
    tokens: list[Token] = []
    pos, size = 0, len(text)
    while True:
        while pos < size and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= size:
            tokens.append((_END, ""))
            return tokens
        if text[pos] in _SPECIAL:
            token, pos = _scan_symbol(text, pos)
        else:
            start = pos
            while pos < size and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
                pos += 1
            word = text[start:pos]
            token = (_KEYWORDS.get(word, _IDENT), word)
        tokens.append(token)


def _scan_symbol(text: str, pos: int) -> tuple[Token, int]:
    # Longest run of special characters that is still a symbol ("!=" before "!", "==" before "=").
    best: Token = (_SYMBOLS[text[pos]], text[pos])
    end = pos + 1
    while end < len(text) and text[end] in _SPECIAL:
        candidate = text[pos : end + 1]
        if candidate not in _SYMBOLS:
            break
        best = (_SYMBOLS[candidate], candidate)
        end += 1
    return best, end


class _LabelParser:
    """Recursive descent over the token list, with the error messages of labels.Parser."""

    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def _peek(self) -> Token:
        # Inside values (and keys), "in" and "notin" are plain identifiers.
        kind, literal = self.tokens[self.pos]
        return (_IDENT if kind in (_IN, _NOTIN) else kind), literal

    def _next(self, keywords: bool = False) -> Token:
        token = self.tokens[self.pos] if keywords else self._peek()
        self.pos += 1
        return token

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            kind, literal = self._peek()
            if kind == _END:
                return requirements
            if kind not in (_IDENT, _NOT):
                raise SelectorError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self._requirement())
            except SelectorError as err:
                raise SelectorError(f"unable to parse requirement: {err}") from None
            kind, literal = self._next()
            if kind == _END:
                return requirements
            if kind != _COMMA:
                raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            kind, literal = self._peek()
            if kind not in (_IDENT, _NOT):
                raise SelectorError(f"found '{literal}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        key, unary = self._key_and_unary_operator()
        if unary is not None:
            return _new_requirement(key, unary, (), strict_key=False)
        kind, literal = self._next(keywords=True)
        op = _OPERATOR_OF_TOKEN.get(kind)
        if op is None:
            raise SelectorError(f"found '{literal}', expected: {_BINARY_OPERATORS}")
        values = self._set_values() if op in ("in", "notin") else self._exact_value()
        return _new_requirement(key, op, tuple(sorted(values)), strict_key=False)

    def _key_and_unary_operator(self) -> tuple[str, str | None]:
        kind, literal = self._next()
        negated = kind == _NOT
        if negated:
            kind, literal = self._next()
        if kind != _IDENT:
            raise SelectorError(f"found '{literal}', expected: identifier")
        _check_label_key(literal, "")
        if negated:
            return literal, "!"
        return literal, ("exists" if self._peek()[0] in (_END, _COMMA) else None)

    def _exact_value(self) -> set[str]:
        if self._peek()[0] in (_END, _COMMA):
            return {""}
        kind, literal = self._next()
        if kind != _IDENT:
            raise SelectorError(f"found '{literal}', expected: identifier")
        return {literal}

    def _set_values(self) -> set[str]:
        kind, literal = self._next()
        if kind != _OPEN:
            raise SelectorError(f"found '{literal}' expected: '('")
        kind, literal = self._peek()
        if kind == _CLOSE:
            self._next()
            return {""}
        if kind not in (_IDENT, _COMMA):
            raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self._identifier_list()
        if self._next()[0] != _CLOSE:
            raise SelectorError(f"found '{literal}', expected: ')'")
        return values

    def _identifier_list(self) -> set[str]:
        """`a,b`, with empty members allowed (`(,a)`, `(a,,b)`, `(a,)` all include "")."""
        values: set[str] = set()
        while True:
            kind, literal = self._next()
            if kind == _IDENT:
                values.add(literal)
                follow, follow_literal = self._peek()
                if follow == _CLOSE:
                    return values
                if follow != _COMMA:
                    raise SelectorError(f"found '{follow_literal}', expected: ',' or ')'")
            elif kind == _COMMA:
                follow = self._peek()[0]
                if not values or follow in (_CLOSE, _COMMA):
                    values.add("")
                if follow == _CLOSE:
                    return values
                if follow == _COMMA:
                    self._next()
            else:
                raise SelectorError(f"found '{literal}', expected: ',', or identifier")


# --- validation (labels.NewRequirement, util/validation)

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN_FMT = f"{_DNS_LABEL_FMT}(\\.{_DNS_LABEL_FMT})*"
_DNS_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_QNAME_RE = re.compile(_QNAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_DNS_SUBDOMAIN_RE = re.compile(_DNS_SUBDOMAIN_FMT)


_SET_EMPTY = "for 'in', 'notin' operators, values set can't be empty"
_EXACT_ARITY = "exact-match compatibility requires one single value"
_UNARY_ARITY = "values set must be empty for exists and does not exist"
_INT_ARITY = "for 'Gt', 'Lt' operators, exactly one value is required"
_INT_VALUE = "for 'Gt', 'Lt' operators, the value must be an integer"


def _new_requirement(key: str, op: str, values: tuple[str, ...], strict_key: bool = True) -> Requirement:
    """labels.NewRequirement: validates key, operator arity and values, reporting every problem."""
    errors: list[str] = []
    if strict_key:
        errors += _field_errors("key", key, _label_key_errors(key))
    errors += _operator_errors(op, values)
    for i, value in enumerate(values):
        errors += _field_errors(f"values[{i}][{key}]", value, _label_value_errors(value))
    if errors:
        raise SelectorError(_aggregate(errors))
    return Requirement(key, op, values)


def _operator_errors(op: str, values: tuple[str, ...]) -> list[str]:
    shown = _go_slice(values)
    if op in ("in", "notin"):
        return [] if values else [_invalid("values", shown, _SET_EMPTY)]
    if op in ("=", "==", "!="):
        return [] if len(values) == 1 else [_invalid("values", shown, _EXACT_ARITY)]
    if op in ("exists", "!"):
        return [_invalid("values", shown, _UNARY_ARITY)] if values else []
    if op in ("gt", "lt"):
        errors = [] if len(values) == 1 else [_invalid("values", shown, _INT_ARITY)]
        bad = [(i, v) for i, v in enumerate(values) if _parse_int64(v) is None]
        return errors + [_invalid(f"values[{i}]", _go_quote(v), _INT_VALUE) for i, v in bad]
    return [f"operator: Unsupported value: {_go_quote(op)}"]


def _check_label_key(key: str, path: str) -> None:
    errors = _field_errors(path, key, _label_key_errors(key))
    if errors:
        raise SelectorError(errors[0])


def _field_errors(path: str, value: str, problems: list[str]) -> list[str]:
    return [_invalid(path, _go_quote(value), "; ".join(problems))] if problems else []


def _invalid(path: str, shown_value: str, detail: str) -> str:
    # field.Error.Error(): "<path>: Invalid value: <value>: <detail>" (the path may be empty).
    return f"{path}: Invalid value: {shown_value}: {detail}"


def _aggregate(errors: list[str]) -> str:
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _label_key_errors(key: str) -> list[str]:
    """validation.IsQualifiedName: an optional DNS-subdomain prefix and '/', then a name."""
    parts = key.split("/")
    errors: list[str] = []
    if len(parts) > 2:
        return [
            "a qualified name "
            + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors += ["prefix part " + e for e in _dns_subdomain_errors(prefix)]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        errors.append("name part must be no more than 63 characters")
    if not _QNAME_RE.fullmatch(name):
        errors.append("name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errors


def _dns_subdomain_errors(value: str) -> list[str]:
    errors = []
    if len(value.encode()) > 253:
        errors.append("must be no more than 253 characters")
    if not _DNS_SUBDOMAIN_RE.fullmatch(value):
        errors.append(_regex_error(_DNS_SUBDOMAIN_MSG, _DNS_SUBDOMAIN_FMT, "example.com"))
    return errors


def _label_value_errors(value: str) -> list[str]:
    errors = []
    if len(value.encode()) > 63:
        errors.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.fullmatch(value):
        errors.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    # validation.RegexError, double spaces before "or" included.
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _go_quote(text: str) -> str:
    """Go's %q (strconv.Quote), so messages match the apiserver's byte for byte."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _go_slice(values: tuple[str, ...]) -> str:
    # %#v of a []string, as field.Invalid shows non-string values.
    return "[]string{" + ", ".join(_go_quote(v) for v in values) + "}"


# --------------------------------------------------------------------------- field selectors

_ALWAYS_SUPPORTED_FIELDS = ("metadata.name", "metadata.namespace")
_FIELD_OPERATORS = ("!=", "==", "=")  # "==" before "=" so no "=" is left on the value


@dataclass(frozen=True)
class FieldRequirement:
    """One term of a field selector, e.g. `spec.nodeName=node-1`."""

    field: str
    operator: str
    value: str

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{escape_field_value(self.value)}"


@dataclass(frozen=True)
class FieldSelector:
    """A conjunction of field requirements; no requirements matches everything."""

    requirements: tuple[FieldRequirement, ...]
    _match: _ObjCheck = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_match", _compile_fields(self.requirements))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return self._match(obj)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def equality_value(self, field: str) -> str | None:
        """The value `field` must have, if some `=`/`==` term pins it (fields.Selector.RequiresExactMatch)."""
        for req in self.requirements:
            if req.field == field and req.operator in _EXACT_OPS:
                return req.value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def parse_field_selector(text: str | None, supported: Collection[str]) -> FieldSelector:
    """fields.ParseSelector, then the per-resource field label check; "" matches everything."""
    if not text:
        return FieldSelector(())
    requirements = [_parse_field_term(text, term) for term in sorted(_split_field_terms(text)) if term]
    for req in requirements:
        if req.field not in _ALWAYS_SUPPORTED_FIELDS and req.field not in supported:
            raise SelectorError(f"field label not supported: {req.field}")
    return FieldSelector(tuple(requirements))


def _split_field_terms(text: str) -> list[str]:
    """Splits on commas that are not escaped by a backslash (the backslash stays in the term)."""
    terms, start, escaped = [], 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _parse_field_term(selector: str, term: str) -> FieldRequirement:
    # The field cannot be escaped: the first operator found splits the term.
    for i in range(len(term)):
        for op in _FIELD_OPERATORS:
            if term.startswith(op, i):
                return FieldRequirement(term[:i], op, _unescape_field_value(term[i + len(op) :]))
    raise SelectorError(f"invalid selector: '{selector}'; can't understand '{term}'")


def _unescape_field_value(raw: str) -> str:
    """fields.UnescapeValue: `\\\\`, `\\,` and `\\=` are escapes; a bare `,` or `=` is an error."""
    if "\\" not in raw and "," not in raw and "=" not in raw:
        return raw
    out: list[str] = []
    escaped = False
    for ch in raw:
        if escaped:
            if ch not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            raise SelectorError(f"invalid field selector: unescaped character in value: {ch}")
        else:
            out.append(ch)
    if escaped:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def escape_field_value(value: str) -> str:
    """fields.EscapeValue, the inverse of the unescaping done by the parser."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The value at a dotted path as a field selector sees it: missing is "", bools are true/false."""
    return _value_at(obj, tuple(path.split(".")))


def _value_at(obj: Any, parts: tuple[str, ...]) -> str:
    current = obj
    try:
        for part in parts:
            current = current.get(part)
    except AttributeError:  # a missing parent (None) or a scalar on the way: cheaper than isinstance
        return ""
    return _field_string(current)


def _field_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return ""


def _compile_fields(requirements: tuple[FieldRequirement, ...]) -> _ObjCheck:
    checks = tuple(_compile_field(r) for r in requirements)
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]

    def all_of(obj: Mapping[str, Any]) -> bool:
        for check in checks:  # noqa: SIM110 - a plain loop is faster than all() over a generator
            if not check(obj):
                return False
        return True

    return all_of


def _compile_field(req: FieldRequirement) -> _ObjCheck:
    parts = tuple(req.field.split("."))
    value = req.value
    if req.operator == "!=":
        return lambda obj: _value_at(obj, parts) != value
    if req.operator in _EXACT_OPS:
        return lambda obj: _value_at(obj, parts) == value
    return _never
