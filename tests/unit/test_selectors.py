"""Label and field selectors: the grammar, the matching rules and the errors of kube-apiserver."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overhaul.sim.selectors import (
    FieldRequirement,
    FieldSelector,
    LabelSelector,
    Requirement,
    SelectorError,
    escape_field_value,
    field_value,
    label_selector_from_dict,
    parse_field_selector,
    parse_label_selector,
)

POD_FIELDS = ("spec.nodeName", "status.phase", "spec.hostNetwork", "spec.restartPolicy")

# --------------------------------------------------------------------------- label selectors


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app=web", {"app": "api"}, False),
        ("app==web", {"app": "web"}, True),
        ("app!=web", {"app": "api"}, True),
        ("app!=web", {"app": "web"}, False),
        ("app in (web,api)", {"app": "api"}, True),
        ("app in (web,api)", {"app": "db"}, False),
        ("app notin (web,api)", {"app": "db"}, True),
        ("app notin (web,api)", {"app": "web"}, False),
        ("app", {"app": ""}, True),
        ("app", {"tier": "x"}, False),
        ("!app", {"tier": "x"}, True),
        ("!app", {"app": "web"}, False),
        ("replicas>3", {"replicas": "4"}, True),
        ("replicas>3", {"replicas": "3"}, False),
        ("replicas<3", {"replicas": "-10"}, True),
        ("replicas<3", {"replicas": "3"}, False),
        ("app=", {"app": ""}, True),
        ("app=", {"app": "web"}, False),
        ("app in ()", {"app": ""}, True),
        ("app.kubernetes.io/name=web", {"app.kubernetes.io/name": "web"}, True),
        ("app=web,tier in (fe),!legacy,version>1", {"app": "web", "tier": "fe", "version": "2"}, True),
        ("app=web,tier in (fe),!legacy", {"app": "web", "tier": "fe", "legacy": "y"}, False),
    ],
)
def test_each_operator_matches_like_the_apiserver(
    selector: str, labels: dict[str, str], expected: bool
) -> None:
    assert parse_label_selector(selector).matches(labels) is expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", False),
        ("app==web", False),
        ("app in (web)", False),
        ("app", False),
        ("app>1", False),
        ("app<1", False),
        ("app!=web", True),
        ("app notin (web)", True),
        ("!app", True),
    ],
)
def test_a_missing_key_fails_positive_and_passes_negative_requirements(selector: str, expected: bool) -> None:
    selector_obj = parse_label_selector(selector)
    assert selector_obj.matches({"other": "x"}) is expected
    assert selector_obj.matches(None) is expected


@pytest.mark.parametrize("value", ["abc", "", "1.5", "1_000", " 4", "99999999999999999999"])
def test_gt_and_lt_do_not_match_labels_that_are_not_int64(value: str) -> None:
    assert not parse_label_selector("n>0").matches({"n": value})
    assert not parse_label_selector("n<100").matches({"n": value})


def test_gt_handles_the_int64_range() -> None:
    assert parse_label_selector("n>0").matches({"n": "9223372036854775807"})
    assert parse_label_selector("n<0").matches({"n": "-9223372036854775808"})


def test_empty_and_none_match_everything() -> None:
    for text in ("", None, "   "):
        selector = parse_label_selector(text)
        assert selector.empty
        assert selector.matches({}) and selector.matches(None) and selector.matches({"a": "b"})


def test_whitespace_around_tokens_is_allowed() -> None:
    spaced = parse_label_selector("  app = web ,  tier  in  ( a , b )  , ! legacy ,n > 3 ")
    assert spaced == parse_label_selector("app=web,tier in (a,b),!legacy,n>3")


def test_in_and_notin_are_identifiers_as_keys_and_values() -> None:
    selector = parse_label_selector("in=notin,notin in (in)")
    assert selector.matches({"in": "notin", "notin": "in"})


def test_requirements_are_sorted_by_key_and_values_deduplicated() -> None:
    selector = parse_label_selector("z=1,a in (c,b,c)")
    assert selector.requirements == (Requirement("a", "in", ("b", "c")), Requirement("z", "=", ("1",)))
    assert str(selector) == "a in (b,c),z=1"


@pytest.mark.parametrize(
    "text",
    ["a=b,c!=d,e in (f,g),h notin (i),j,!k,l>3,m<4", "x in (,baz,foo),y,z notin ()", "a==b", "a="],
)
def test_string_form_roundtrips(text: str) -> None:
    assert str(parse_label_selector(text)) == text


def test_empty_members_of_a_set_are_the_empty_string() -> None:
    assert parse_label_selector("a in (x,,y)").requirements[0].values == ("", "x", "y")
    assert parse_label_selector("a in (,x)").requirements[0].values == ("", "x")
    assert parse_label_selector("a in (x,)").requirements[0].values == ("", "x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!(", "unable to parse requirement: found '(', expected: identifier"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("(", "found '(', expected: !, identifier, or 'end of string'"),
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
        ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a=b,", "found '', expected: identifier after ','"),
        ("a,,b", "found ',', expected: identifier after ','"),
        ("a>x", "values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer"),
        ("a/b/c=d", ': Invalid value: "a/b/c": a qualified name must consist of'),
        ("-a=b", ': Invalid value: "-a": name part must consist of alphanumeric characters'),
        ("Example.com/a=b", 'Invalid value: "Example.com/a": prefix part a lowercase RFC 1123 subdomain'),
        ("/a=b", "prefix part must be non-empty"),
        ("a=-b", 'values[0][a]: Invalid value: "-b": a valid label must be an empty string or consist'),
        ("a=" + "x" * 64, "must be no more than 63 characters"),
        ("a" * 64, "name part must be no more than 63 characters"),
    ],
)
def test_parse_errors_carry_the_apiserver_message(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as raised:
        parse_label_selector(text)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_key_errors_show_the_validation_regex() -> None:
    with pytest.raises(SelectorError, match=r"regex used for validation is '\(\[A-Za-z0-9\]"):
        parse_label_selector("a_=b")


def test_equality_values_pin_a_key_for_index_lookups() -> None:
    selector = parse_label_selector("app=web,tier in (fe),env in (a,b),x!=y,n==1")
    assert selector.equality_values("app") == "web"
    assert selector.equality_values("tier") == "fe"
    assert selector.equality_values("n") == "1"
    assert selector.equality_values("env") is None
    assert selector.equality_values("x") is None
    assert selector.equality_values("missing") is None


def test_a_selector_built_by_hand_matches_too() -> None:
    selector = LabelSelector((Requirement("app", "in", ("a", "b")), Requirement("n", "gt", ("2",))))
    assert selector.matches({"app": "b", "n": "3"})
    assert not selector.matches({"app": "b", "n": "x"})


# --- metav1.LabelSelector


def test_a_nil_label_selector_selects_nothing_and_an_empty_one_everything() -> None:
    nothing = label_selector_from_dict(None)
    assert not nothing.matches({}) and not nothing.matches({"a": "b"})
    assert not nothing.empty
    assert nothing.equality_values("a") is None
    everything = label_selector_from_dict({})
    assert everything.empty and everything.matches({"a": "b"})
    assert label_selector_from_dict({"matchLabels": {}, "matchExpressions": []}).empty


def test_match_labels_and_expressions_are_anded() -> None:
    selector = label_selector_from_dict(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                {"key": "env", "operator": "NotIn", "values": ["prod"]},
                {"key": "owner", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"},
            ],
        }
    )
    assert selector.matches({"app": "web", "tier": "fe", "owner": "me"})
    assert selector.matches({"app": "web", "tier": "be", "owner": "me", "env": "dev"})
    assert not selector.matches({"app": "web", "tier": "fe", "owner": "me", "env": "prod"})
    assert not selector.matches({"app": "web", "tier": "fe"})
    assert not selector.matches({"app": "web", "tier": "fe", "owner": "me", "legacy": "1"})
    assert selector.equality_values("app") == "web"
    assert str(selector) == "app=web,env notin (prod),!legacy,owner,tier in (be,fe)"


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, "values set can't be empty"),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            "must be empty for exists",
        ),
        ({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, '"Gt" is not a valid'),
        ({"matchLabels": {"a b": "c"}}, 'key: Invalid value: "a b"'),
        ({"matchLabels": {"a": "c d"}}, 'values[0][a]: Invalid value: "c d"'),
        ({"matchLabels": {"a": 1}}, "expected a string"),
        ({"matchExpressions": "a"}, "matchExpressions"),
    ],
)
def test_invalid_label_selector_objects_raise(selector: dict[str, Any], message: str) -> None:
    with pytest.raises(SelectorError) as raised:
        label_selector_from_dict(selector)
    assert message in str(raised.value)


def test_several_problems_are_aggregated_on_one_line() -> None:
    with pytest.raises(SelectorError) as raised:
        label_selector_from_dict({"matchLabels": {"a b": "c d"}})
    message = str(raised.value)
    assert message.startswith("[key: Invalid value") and "values[0][a b]" in message and "\n" not in message


# --- properties

KEYS = ["app", "tier", "in", "example.com/role", "a.b_c-d", "n"]
VALUES = ["", "web", "api", "x_y.z", "3", "10", "in"]
LABEL_VALUES = [*VALUES, "-3", "abc", "7"]


@st.composite
def requirements(draw: st.DrawFn) -> Requirement:
    key = draw(st.sampled_from(KEYS))
    op = draw(st.sampled_from(["=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt"]))
    if op in ("exists", "!"):
        return Requirement(key, op, ())
    if op in ("gt", "lt"):
        return Requirement(key, op, (str(draw(st.integers(0, 20))),))
    if op in ("in", "notin"):
        values = draw(st.sets(st.sampled_from(VALUES), min_size=1, max_size=3))
        return Requirement(key, op, tuple(sorted(values)))
    return Requirement(key, op, (draw(st.sampled_from(VALUES)),))


label_sets = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(LABEL_VALUES), max_size=4)


def reference_match(req: Requirement, labels: dict[str, str]) -> bool:
    """A deliberately naive restatement of labels.Requirement.Matches."""
    present = req.key in labels
    value = labels.get(req.key, "")
    if req.operator in ("=", "==", "in"):
        return present and value in req.values
    if req.operator in ("!=", "notin"):
        return not present or value not in req.values
    if req.operator == "exists":
        return present
    if req.operator == "!":
        return not present
    if not present or not value.lstrip("-").isdigit():
        return False
    return int(value) > int(req.values[0]) if req.operator == "gt" else int(value) < int(req.values[0])


@given(st.lists(requirements(), max_size=5), label_sets, st.sampled_from([",", " , ", ",\t"]))
def test_parsing_the_string_form_matches_like_the_reference(
    reqs: list[Requirement], labels: dict[str, str], separator: str
) -> None:
    selector = parse_label_selector(separator.join(str(r) for r in reqs))
    assert selector.matches(labels) == all(reference_match(r, labels) for r in reqs)


@given(st.lists(requirements(), max_size=5))
def test_format_then_parse_is_the_identity(reqs: list[Requirement]) -> None:
    selector = parse_label_selector(",".join(str(r) for r in reqs))
    assert parse_label_selector(str(selector)) == selector


@given(st.text(max_size=30))
def test_parsing_any_text_either_succeeds_or_raises_a_one_line_selector_error(text: str) -> None:
    try:
        parse_label_selector(text)
    except SelectorError as err:
        assert "\n" not in str(err)


# --------------------------------------------------------------------------- field selectors


def pod(name: str = "p", node: str | None = "n1", phase: str = "Running", **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"restartPolicy": "Always", **extra}
    if node is not None:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec, "status": {"phase": phase}}


def test_field_selectors_match_equality_and_inequality() -> None:
    selector = parse_field_selector(
        "spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed", POD_FIELDS
    )
    assert selector.matches(pod())
    assert not selector.matches(pod(phase="Failed"))
    assert not selector.matches(pod(node="n2"))
    assert parse_field_selector("metadata.name==p", ()).matches(pod())


def test_a_missing_field_reads_as_the_empty_string() -> None:
    unscheduled = pod(node=None)
    assert parse_field_selector("spec.nodeName=", POD_FIELDS).matches(unscheduled)
    assert parse_field_selector("spec.nodeName!=n1", POD_FIELDS).matches(unscheduled)
    assert not parse_field_selector("spec.nodeName!=", POD_FIELDS).matches(unscheduled)
    assert not parse_field_selector("spec.nodeName=n1", POD_FIELDS).matches(unscheduled)


def test_booleans_and_numbers_are_compared_as_text() -> None:
    assert parse_field_selector("spec.hostNetwork=true", POD_FIELDS).matches(pod(hostNetwork=True))
    assert parse_field_selector("spec.hostNetwork!=true", POD_FIELDS).matches(pod(hostNetwork=False))
    assert field_value({"spec": {"replicas": 3}}, "spec.replicas") == "3"
    assert field_value({"spec": {"hostNetwork": False}}, "spec.hostNetwork") == "false"
    assert field_value({"spec": "text"}, "spec.nodeName") == ""
    assert field_value({}, "spec.nodeName") == ""
    assert field_value({"spec": {"tolerations": []}}, "spec.tolerations") == ""


def test_empty_field_selector_matches_everything() -> None:
    for text in ("", None):
        selector = parse_field_selector(text, ())
        assert selector.empty and selector.matches({})


def test_metadata_name_and_namespace_are_always_supported() -> None:
    selector = parse_field_selector("metadata.namespace=default,metadata.name=p", ())
    assert selector.matches(pod())


@pytest.mark.parametrize("text", ["spec.nodeName=n1", "metadata.name=a,spec.schedulerName=x", "=x"])
def test_unsupported_fields_are_refused_with_the_apiserver_text(text: str) -> None:
    with pytest.raises(SelectorError) as raised:
        parse_field_selector(text, ("status.phase",))
    field = "spec.nodeName" if "nodeName" in text else ("spec.schedulerName" if "scheduler" in text else "")
    assert str(raised.value) == f"field label not supported: {field}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
        ("metadata.name=a,b", "invalid selector: 'metadata.name=a,b'; can't understand 'b'"),
        ("metadata.name=a=b", "invalid field selector: unescaped character in value: ="),
        ("metadata.name=a\\x", "invalid field selector: invalid escape sequence: \\x"),
        ("metadata.name=a\\", "invalid field selector: invalid escape sequence: \\"),
    ],
)
def test_malformed_field_selectors_raise(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as raised:
        parse_field_selector(text, ())
    assert str(raised.value) == message


def test_values_may_escape_commas_equals_and_backslashes() -> None:
    selector = parse_field_selector(r"metadata.name=a\,b\=c\\d", ())
    assert selector.requirements == (FieldRequirement("metadata.name", "=", "a,b=c\\d"),)
    assert selector.matches({"metadata": {"name": "a,b=c\\d"}})
    assert str(selector) == r"metadata.name=a\,b\=c\\d"


def test_equality_value_pins_a_field() -> None:
    selector = parse_field_selector("spec.nodeName!=x,spec.nodeName=n1,status.phase==Running", POD_FIELDS)
    assert selector.equality_value("spec.nodeName") == "n1"
    assert selector.equality_value("status.phase") == "Running"
    assert selector.equality_value("metadata.name") is None
    assert FieldSelector(()).equality_value("spec.nodeName") is None


@given(st.text(max_size=20))
def test_escaped_values_roundtrip(value: str) -> None:
    selector = parse_field_selector(f"metadata.name={escape_field_value(value)}", ())
    assert selector.requirements[0].value == value
    assert parse_field_selector(str(selector), ()) == selector
    assert selector.matches({"metadata": {"name": value}})
