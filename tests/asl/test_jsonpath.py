"""JSONPath as Step Functions reads it (Jayway JsonPath semantics)."""

from __future__ import annotations

from typing import Any

import pytest

from landlord_workflow._asl._jsonpath import (
    MISSING,
    PathError,
    PathSyntaxError,
    compile_path,
    compile_reference_path,
)

DATA: dict[str, Any] = {
    "store": {
        "book": [
            {"title": "A", "price": 8, "tags": ["x"]},
            {"title": "B", "price": 12},
            {"title": "C", "price": 20, "isbn": "1"},
        ],
        "bike": {"price": 19},
    },
    "items": [{"a": 1, "b": 2, "c": 3}, {"a": 4, "b": 5}],
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", DATA),
        ("$.store.bike.price", 19),
        ("$['store']['bike']", {"price": 19}),
        ("$.store.book[0].title", "A"),
        ("$.store.book[-1].title", "C"),
        ("$.items.[0].a", 1),
        ("$['items'][1]['b']", 5),
    ],
)
def test_definite_paths_select_one_value(path: str, expected: Any) -> None:
    assert compile_path(path).read(DATA) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.store.book[*].title", ["A", "B", "C"]),
        ("$.store.book[0:2].title", ["A", "B"]),
        ("$.store.book[0,2].price", [8, 20]),
        ("$..price", [8, 12, 20, 19]),
        ("$.store.book[?(@.price > 10)].title", ["B", "C"]),
        ("$.store.book[?(@.price > 10 && @.isbn)].title", ["C"]),
        ("$.store.book[?(@.title == 'A' || @.price >= 20)].title", ["A", "C"]),
        ("$.store.book[?(!(@.price < 10))].title", ["B", "C"]),
        ("$.store.book[?(@.title in ['A', 'B'])].price", [8, 12]),
        ("$.store.book[?(@.title =~ /[ab]/i)].title", ["A", "B"]),
        ("$.items[*].['a','b']", [{"a": 1, "b": 2}, {"a": 4, "b": 5}]),
        ("$.store.book[?(@.nothing)]", []),
    ],
)
def test_indefinite_paths_select_a_list(path: str, expected: Any) -> None:
    assert compile_path(path).read(DATA) == expected


def test_a_property_union_under_a_wildcard_selects_objects_of_those_properties() -> None:
    assert compile_path("$.[*].['a','b']").read(DATA["items"]) == [
        {"a": 1, "b": 2},
        {"a": 4, "b": 5},
    ]


def test_a_trailing_property_union_merges_into_one_object() -> None:
    assert compile_path("$.items[0]['a','c']").read(DATA) == {"a": 1, "c": 3}


def test_filters_compare_with_other_paths_of_the_document() -> None:
    data = {"min": 10, "list": [{"v": 5}, {"v": 15}]}
    assert compile_path("$.list[?(@.v > $.min)].v").read(data) == [15]


def test_trailing_functions_compute_over_the_selection() -> None:
    assert compile_path("$.store.book.length()").read(DATA) == 3
    assert compile_path("$.store.book[*].price.sum()").read(DATA) == 40.0


def test_missing_leaf_is_reported_as_jayway_words_it() -> None:
    with pytest.raises(PathError, match=r"No results for path: \$\['store'\]\['car'\]"):
        compile_path("$.store.car").read(DATA)


def test_missing_intermediate_property_is_reported_as_jayway_words_it() -> None:
    with pytest.raises(PathError, match=r"Missing property in path \$\['no'\]"):
        compile_path("$.no.such.path").read(DATA)


def test_find_returns_missing_instead_of_failing() -> None:
    assert compile_path("$.nope").find(DATA) is MISSING


def test_quoted_keys_unescape_only_their_own_quote() -> None:
    key = 'Test\\""Name"'
    assert compile_path('$[\'Test\\""Name"\']').read({key: 1}) == 1
    assert compile_path("$['it\\'s']").read({"it's": 2}) == 2


def test_context_and_variable_roots_are_recognised() -> None:
    assert compile_path("$$.Execution.Id").root == "$$"
    variable = compile_path("$order.id")
    assert (variable.root, variable.variable) == ("var", "order")


@pytest.mark.parametrize("text", ["store", "$.a[", "$.a[?(@.b >", "$.a..", "$.a[1:2:0]"])
def test_malformed_paths_do_not_compile(text: str) -> None:
    with pytest.raises(PathSyntaxError):
        compile_path(text)


def test_reference_paths_select_a_single_node_only() -> None:
    assert compile_reference_path("$.a[0].b").is_reference
    with pytest.raises(PathSyntaxError):
        compile_reference_path("$.a[*]")
