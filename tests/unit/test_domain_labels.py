"""metav1.LabelSelector matching, and its query form checked against the apiserver's parser."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overhaul.domain.labels import (
    LabelSelectorError,
    compile_selector,
    lenient_selector,
    selector_matches,
)
from overhaul.sim.selectors import parse_label_selector

WEB = {"app": "web", "tier": "frontend", "env": "prod"}


def test_nil_matches_nothing_and_empty_matches_everything() -> None:
    assert not selector_matches(None, WEB)
    assert not selector_matches(None, {})
    assert selector_matches({}, WEB)
    assert selector_matches({}, {})
    assert selector_matches({"matchLabels": {}, "matchExpressions": []}, WEB)


def test_match_labels() -> None:
    assert selector_matches({"matchLabels": {"app": "web"}}, WEB)
    assert selector_matches({"matchLabels": {"app": "web", "env": "prod"}}, WEB)
    assert not selector_matches({"matchLabels": {"app": "web", "env": "dev"}}, WEB)
    assert not selector_matches({"matchLabels": {"app": "web"}}, {})
    assert not selector_matches({"matchLabels": {"app": "web"}}, None)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"key": "env", "operator": "In", "values": ["prod", "staging"]}, True),
        ({"key": "env", "operator": "In", "values": ["dev"]}, False),
        ({"key": "missing", "operator": "In", "values": ["x"]}, False),
        ({"key": "env", "operator": "NotIn", "values": ["dev"]}, True),
        ({"key": "env", "operator": "NotIn", "values": ["prod"]}, False),
        ({"key": "missing", "operator": "NotIn", "values": ["x"]}, True),  # absent key: NotIn holds
        ({"key": "tier", "operator": "Exists"}, True),
        ({"key": "missing", "operator": "Exists"}, False),
        ({"key": "missing", "operator": "DoesNotExist"}, True),
        ({"key": "tier", "operator": "DoesNotExist"}, False),
    ],
)
def test_match_expressions(expression: dict[str, Any], expected: bool) -> None:
    assert selector_matches({"matchExpressions": [expression]}, WEB) is expected


def test_all_terms_must_hold() -> None:
    selector = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}],
    }
    assert not selector_matches(selector, WEB)


@pytest.mark.parametrize(
    "selector",
    [
        {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]},
        {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
        {"matchExpressions": [{"key": "a", "operator": "NotIn"}]},
        {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
        {"matchExpressions": [{"operator": "Exists"}]},
        {"matchExpressions": ["a"]},
        {"matchLabels": {"a": 1}},
        {"matchLabels": ["a"]},
    ],
)
def test_invalid_selectors_raise_when_compiled_and_select_nothing_leniently(selector: dict[str, Any]) -> None:
    with pytest.raises(LabelSelectorError):
        compile_selector(selector)
    assert lenient_selector(selector).nothing
    assert not selector_matches(selector, {"a": "x"})


def test_query_form() -> None:
    selector = compile_selector(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "tier", "operator": "NotIn", "values": ["db"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "team", "operator": "Exists"},
            ],
        }
    )
    assert selector.to_query() == "app=web,!canary,env in (dev,prod),team,tier notin (db)"
    assert compile_selector({}).to_query() == ""
    with pytest.raises(LabelSelectorError):
        compile_selector(None).to_query()


# ----- properties

KEYS = st.sampled_from(["app", "tier", "env", "example.com/team", "k8s.io/x"])
VALUES = st.sampled_from(["a", "b", "c", "web", "v-1"])
LABELS = st.dictionaries(KEYS, VALUES, max_size=5)
EXPRESSION = st.one_of(
    st.fixed_dictionaries(
        {"key": KEYS, "operator": st.sampled_from(["In", "NotIn"]), "values": st.lists(VALUES, min_size=1)}
    ),
    st.fixed_dictionaries({"key": KEYS, "operator": st.sampled_from(["Exists", "DoesNotExist"])}),
)
SELECTOR = st.fixed_dictionaries(
    {},
    optional={
        "matchLabels": st.dictionaries(KEYS, VALUES, max_size=3),
        "matchExpressions": st.lists(EXPRESSION, max_size=4),
    },
)


@given(LABELS)
def test_a_selector_of_an_objects_own_labels_selects_it(labels: dict[str, str]) -> None:
    assert selector_matches({"matchLabels": labels}, labels)
    assert selector_matches({"matchLabels": labels}, {**labels, "extra": "x"})


@given(SELECTOR, SELECTOR, LABELS)
def test_combining_selectors_is_a_conjunction(
    a: dict[str, Any], b: dict[str, Any], labels: dict[str, str]
) -> None:
    combined_labels = {**a.get("matchLabels", {}), **b.get("matchLabels", {})}
    if any(a.get("matchLabels", {}).get(k, v) != v for k, v in b.get("matchLabels", {}).items()):
        return  # conflicting matchLabels cannot be merged into one dict
    combined = {
        "matchLabels": combined_labels,
        "matchExpressions": a.get("matchExpressions", []) + b.get("matchExpressions", []),
    }
    assert selector_matches(combined, labels) == (selector_matches(a, labels) and selector_matches(b, labels))


@given(KEYS, st.lists(VALUES, min_size=1), LABELS)
def test_notin_is_the_complement_of_in(key: str, values: list[str], labels: dict[str, str]) -> None:
    in_ = {"matchExpressions": [{"key": key, "operator": "In", "values": values}]}
    not_in = {"matchExpressions": [{"key": key, "operator": "NotIn", "values": values}]}
    assert selector_matches(in_, labels) != selector_matches(not_in, labels)


@given(SELECTOR, LABELS)
def test_the_query_form_selects_the_same_objects_for_the_apiserver(
    selector: dict[str, Any], labels: dict[str, str]
) -> None:
    # The embedded cluster's parser is a port of apimachinery's: what a list with
    # `labelSelector=<to_query()>` returns must be what the dict selector selects.
    query = compile_selector(selector).to_query()
    assert parse_label_selector(query).matches(labels) == selector_matches(selector, labels)
