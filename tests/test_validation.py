"""Structural validation: every rule, every problem at once, only InvalidSpecError."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs
import pytest
from conftest import make_spec
from hypothesis import given, settings
from hypothesis import strategies as st

from landlord_workflow._limits import MAX_DEFINITION_BYTES, MAX_PAYLOAD_BYTES
from landlord_workflow._types import ExecutionInput, RetryPolicy, WorkflowSpec
from landlord_workflow._validation import validate_execution_input, validate_workflow_spec
from landlord_workflow.errors import InvalidSpecError

DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


def forced_spec(**fields: Any) -> WorkflowSpec:
    """A valid spec with ``fields`` forced in, bypassing attrs validators (as hostile code may)."""
    spec = make_spec(DEFINITION, workflow_id="tenant-1", name="T")
    for name, value in fields.items():
        object.__setattr__(spec, name, value)
    return spec


def make_policy(**fields: Any) -> RetryPolicy:
    policy = RetryPolicy()
    for name, value in fields.items():
        object.__setattr__(policy, name, value)
    return policy


def make_input(**fields: Any) -> ExecutionInput:
    execution_input = ExecutionInput(input={"tenant": "t-1"})
    for name, value in fields.items():
        object.__setattr__(execution_input, name, value)
    return execution_input


def problems_raised_by(check: Callable[[], None]) -> list[tuple[str, str]] | None:
    """The problems of the InvalidSpecError ``check`` raised, or None when it passed."""
    try:
        check()
    except InvalidSpecError as exc:
        return exc.problems
    return None


def spec_problems(**fields: Any) -> dict[str, str]:
    """Problems of a spec with ``fields`` set; {} when it is valid."""
    try:
        validate_workflow_spec(forced_spec(**fields))
    except InvalidSpecError as exc:
        return dict(exc.problems)
    return {}


def input_problems(**fields: Any) -> dict[str, str]:
    try:
        validate_execution_input(make_input(**fields))
    except InvalidSpecError as exc:
        return dict(exc.problems)
    return {}


def sized_object(size: int, char: str = "x") -> dict[str, str]:
    """A JSON object whose compact UTF-8 encoding is exactly ``size`` bytes."""
    overhead = len('{"a":""}')
    width = len(char.encode("utf-8"))
    assert (size - overhead) % width == 0
    return {"a": char * ((size - overhead) // width)}


# -- valid input passes ------------------------------------------------------------------------


def test_a_complete_valid_spec_passes() -> None:
    spec = WorkflowSpec(
        workflow_id="tenant-provisioning",
        provider_type="step-functions",
        name="Tenant Provisioning Workflow",
        definition=DEFINITION,
        description="Provisions compute and database",
        timeout=timedelta(minutes=30),
        retry_policy=RetryPolicy(max_attempts=3),
        tags={"environment": "production"},
        provider_config={"logging": {"level": "ALL"}},
    )

    assert problems_raised_by(lambda: validate_workflow_spec(spec)) is None


def test_a_valid_execution_input_passes() -> None:
    execution_input = ExecutionInput(input=[1, "two"], execution_name="run_1-A", tags={"k": "v"})

    assert problems_raised_by(lambda: validate_execution_input(execution_input)) is None


# -- workflow_id -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a", "a" * 128, "tenant-provisioning-2", "0-9"])
def test_workflow_id_of_lowercase_digits_and_hyphens_up_to_128_passes(value: str) -> None:
    assert "workflow_id" not in spec_problems(workflow_id=value)


@pytest.mark.parametrize(
    "value", ["", "a" * 129, "Tenant", "tenant_1", "tenant 1", "tenant\n", "caf\u00e9", "\u0661"]
)
def test_workflow_id_outside_the_pattern_is_refused(value: str) -> None:
    assert "workflow_id" in spec_problems(workflow_id=value)


# -- provider_type, name, description ----------------------------------------------------------


def test_provider_type_must_not_be_empty_or_blank() -> None:
    assert spec_problems(provider_type="x") == {}
    assert spec_problems(provider_type="")["provider_type"] == "must not be empty"
    assert spec_problems(provider_type="  ")["provider_type"] == "must not be empty"


@pytest.mark.parametrize(("length", "valid"), [(1, True), (256, True), (0, False), (257, False)])
def test_name_is_1_to_256_characters(length: int, valid: bool) -> None:
    assert ("name" not in spec_problems(name="n" * length)) is valid


@pytest.mark.parametrize(("length", "valid"), [(0, True), (1024, True), (1025, False)])
def test_description_is_at_most_1024_characters(length: int, valid: bool) -> None:
    assert ("description" not in spec_problems(description="d" * length)) is valid


def test_free_text_with_a_lone_surrogate_is_refused() -> None:
    assert "surrogate" in spec_problems(name="bad \ud800")["name"]


# -- definition --------------------------------------------------------------------------------


def test_definition_must_be_a_non_empty_json_object() -> None:
    assert spec_problems(definition={})["definition"] == "must not be empty"
    assert "JSON object" in spec_problems(definition=["StartAt"])["definition"]
    assert "JSON object" in spec_problems(definition="x")["definition"]


def test_definition_of_exactly_1_mib_passes_and_one_byte_more_is_refused() -> None:
    assert spec_problems(definition=sized_object(MAX_DEFINITION_BYTES)) == {}
    assert (
        "1,048,577 bytes"
        in spec_problems(definition=sized_object(MAX_DEFINITION_BYTES + 1))["definition"]
    )


def test_definition_size_counts_utf8_bytes_not_characters() -> None:
    definition = sized_object(MAX_DEFINITION_BYTES + 2, "\u00e9")  # fewer characters than bytes

    assert len(str(definition)) < MAX_DEFINITION_BYTES
    assert "definition" in spec_problems(definition=definition)


def test_definition_content_problems_are_named_by_path() -> None:
    definition = {"States": {"Wait": {"Seconds": math.inf}}, "Bad": {3: "x"}, "Set": {1}}

    assert spec_problems(definition=definition) == {
        "definition.States.Wait.Seconds": "Infinity is not allowed in JSON",
        "definition.Bad": "object keys must be strings, found a number",
        "definition.Set": "set is not a JSON value",
    }


# -- timeout and retry policy ------------------------------------------------------------------


def test_timeout_is_optional_but_must_be_positive_when_set() -> None:
    assert spec_problems(timeout=None) == {}
    assert spec_problems(timeout=timedelta(microseconds=1)) == {}
    assert spec_problems(timeout=timedelta(0)) == {"timeout": "must be greater than zero"}
    assert spec_problems(timeout=timedelta(seconds=-1)) == {"timeout": "must be greater than zero"}


@pytest.mark.parametrize(("attempts", "valid"), [(0, True), (1, True), (-1, False), (True, False)])
def test_retry_max_attempts_is_an_integer_of_0_or_more(attempts: object, valid: bool) -> None:
    problems = spec_problems(retry_policy=make_policy(max_attempts=attempts))

    assert ("retry_policy.max_attempts" not in problems) is valid


@pytest.mark.parametrize(
    ("rate", "valid"),
    [(1, True), (1.0, True), (2.5, True), (0.999, False), (math.nan, False), (math.inf, False)],
)
def test_retry_backoff_rate_is_a_finite_number_of_at_least_1(rate: float, valid: bool) -> None:
    problems = spec_problems(retry_policy=make_policy(backoff_rate=rate))

    assert ("retry_policy.backoff_rate" not in problems) is valid


@pytest.mark.parametrize("field", ["initial_interval", "max_interval"])
def test_retry_intervals_must_be_positive(field: str) -> None:
    tiny = make_policy(initial_interval=timedelta(microseconds=1))
    object.__setattr__(tiny, field, timedelta(microseconds=1))

    assert spec_problems(retry_policy=tiny) == {}
    assert spec_problems(retry_policy=make_policy(**{field: timedelta(0)})) == {
        f"retry_policy.{field}": "must be greater than zero"
    }


def test_retry_initial_interval_may_equal_but_not_exceed_max_interval() -> None:
    same = make_policy(initial_interval=timedelta(seconds=5), max_interval=timedelta(seconds=5))
    above = make_policy(initial_interval=timedelta(seconds=6), max_interval=timedelta(seconds=5))

    assert spec_problems(retry_policy=same) == {}
    assert spec_problems(retry_policy=above) == {
        "retry_policy.initial_interval": "must not exceed max_interval"
    }


# -- tags (spec and execution input) -----------------------------------------------------------

TAG_CHECKS: list[Callable[..., dict[str, str]]] = [spec_problems, input_problems]


@pytest.mark.parametrize("problems_of", TAG_CHECKS, ids=["spec", "input"])
def test_at_most_50_tags(problems_of: Callable[..., dict[str, str]]) -> None:
    fifty = {f"k{i}": "v" for i in range(50)}

    assert problems_of(tags=fifty) == {}
    assert "at most 50" in problems_of(tags={**fifty, "one-more": "v"})["tags"]


@pytest.mark.parametrize("problems_of", TAG_CHECKS, ids=["spec", "input"])
def test_tag_keys_are_1_to_128_characters(problems_of: Callable[..., dict[str, str]]) -> None:
    assert problems_of(tags={"k" * 128: "v"}) == {}
    assert "tag key" in problems_of(tags={"k" * 129: "v"})["tags." + "k" * 129]
    assert "tag key" in problems_of(tags={"": "v"})["tags"]


@pytest.mark.parametrize("problems_of", TAG_CHECKS, ids=["spec", "input"])
def test_tag_values_are_at_most_128_characters(problems_of: Callable[..., dict[str, str]]) -> None:
    assert problems_of(tags={"team": "v" * 128, "empty": ""}) == {}
    assert problems_of(tags={"team": "v" * 129}) == {
        "tags.team": "tag value must be at most 128 characters long, got 129"
    }


@pytest.mark.parametrize("problems_of", TAG_CHECKS, ids=["spec", "input"])
def test_tags_must_map_strings_to_strings(problems_of: Callable[..., dict[str, str]]) -> None:
    assert problems_of(tags={"a": 1}) == {"tags.a": "tag value must be a string, got int"}
    assert problems_of(tags={1: "a"}) == {"tags": "tag keys must be strings, found int"}
    assert "mapping" in problems_of(tags=["a"])["tags"]


# -- provider_config ---------------------------------------------------------------------------


def test_provider_config_is_a_json_object() -> None:
    assert spec_problems(provider_config={}) == {}
    assert "JSON object" in spec_problems(provider_config=[1])["provider_config"]
    assert spec_problems(provider_config={"x": math.nan}) == {
        "provider_config.x": "NaN is not allowed in JSON"
    }


# -- execution name and input ------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "a", "A" * 80, "run_1-B"])
def test_execution_name_of_letters_digits_dash_underscore_up_to_80_passes(
    value: str | None,
) -> None:
    assert input_problems(execution_name=value) == {}


@pytest.mark.parametrize("value", ["", "a" * 81, "a b", "run\n", "run.1", "caf\u00e9", 7])
def test_execution_name_outside_the_pattern_is_refused(value: object) -> None:
    assert "execution_name" in input_problems(execution_name=value)


@pytest.mark.parametrize("value", [{}, [], {"a": [1, None, True, 2.5]}, (1, 2)])
def test_input_may_be_a_json_object_or_array(value: object) -> None:
    assert input_problems(input=value) == {}


@pytest.mark.parametrize("value", ["text", 5, None, True, set(), b"{}", object()])
def test_input_that_is_not_an_object_or_array_is_refused(value: object) -> None:
    assert "object or array" in input_problems(input=value)["input"]


def test_input_of_exactly_256_kib_passes_and_one_byte_more_is_refused() -> None:
    assert input_problems(input=sized_object(MAX_PAYLOAD_BYTES)) == {}
    assert input_problems(input=sized_object(MAX_PAYLOAD_BYTES + 1)) == {
        "input": "encodes to 262,145 bytes of JSON; the limit is 262,144"
    }


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"a": math.nan}, "input.a"),
        ({"a": [0, -math.inf]}, "input.a[1]"),
        ({"a": {"b": object()}}, "input.a.b"),
        ({"a": "\ud800"}, "input.a"),
        ({"a": {2: "x"}}, "input.a"),
        ({"a": 10**5000}, "input.a"),
    ],
)
def test_input_content_that_is_not_strict_json_is_named_by_path(value: object, field: str) -> None:
    assert list(input_problems(input=value)) == [field]


@pytest.mark.parametrize("depth", [1_001, 100_000])
def test_deeply_nested_input_gives_invalid_spec_error_not_recursion_error(depth: int) -> None:
    nested: Any = {}
    for _ in range(depth):
        nested = {"a": nested}

    assert "nested deeper" in input_problems(input=nested)["input"]


# -- all problems at once; wrong types; hostile values -----------------------------------------


def test_every_problem_of_a_spec_is_reported_in_one_error() -> None:
    spec = forced_spec(
        workflow_id="Bad_ID",
        provider_type="",
        name="",
        description="d" * 2000,
        definition={},
        timeout=timedelta(0),
        retry_policy=make_policy(max_attempts=-1, backoff_rate=0.5),
        tags={"team": "x" * 200},
        provider_config=[],
    )

    with pytest.raises(InvalidSpecError) as excinfo:
        validate_workflow_spec(spec)

    assert [field for field, _ in excinfo.value.problems] == [
        "workflow_id",
        "provider_type",
        "name",
        "description",
        "definition",
        "timeout",
        "retry_policy.max_attempts",
        "retry_policy.backoff_rate",
        "tags.team",
        "provider_config",
    ]
    assert str(excinfo.value).startswith("10 problems: workflow_id: ")


def test_every_problem_of_an_execution_input_is_reported_in_one_error() -> None:
    with pytest.raises(InvalidSpecError) as excinfo:
        validate_execution_input(make_input(input="x", execution_name="a b", tags={"k": 1}))

    assert [field for field, _ in excinfo.value.problems] == ["input", "execution_name", "tags.k"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("workflow_id", 5),
        ("provider_type", None),
        ("name", b"name"),
        ("description", ["d"]),
        ("definition", "x"),
        ("definition", {"StartAt"}),
        ("timeout", "30m"),
        ("timeout", 30),
        ("retry_policy", {"max_attempts": 3}),
        ("tags", "env=prod"),
        ("provider_config", 1.5),
    ],
)
def test_wrong_runtime_types_in_a_spec_are_named(field: str, value: object) -> None:
    assert field in spec_problems(**{field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("initial_interval", 1.0),
        ("max_interval", "60s"),
        ("max_attempts", 2.0),
        ("backoff_rate", "2"),
    ],
)
def test_wrong_runtime_types_in_a_retry_policy_are_named(field: str, value: object) -> None:
    problems = spec_problems(retry_policy=make_policy(**{field: value}))

    assert f"retry_policy.{field}" in problems


def test_validating_something_that_is_not_a_spec_raises_invalid_spec_error() -> None:
    with pytest.raises(InvalidSpecError, match="expected a WorkflowSpec"):
        validate_workflow_spec({"workflow_id": "x"})  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecError, match="expected an ExecutionInput"):
        validate_execution_input(None)  # type: ignore[arg-type]


class ExplodingMapping(Mapping[str, Any]):
    """A mapping whose every access fails, standing in for hostile user objects."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("boom")

    def __len__(self) -> int:
        raise RuntimeError("boom")


def test_a_value_that_fails_while_being_checked_is_reported_not_raised() -> None:
    problems = spec_problems(definition=ExplodingMapping(), tags=ExplodingMapping())

    assert problems == {
        "definition": "could not be checked (RuntimeError)",
        "tags": "could not be checked (RuntimeError)",
    }


# -- hypothesis: garbage in, only InvalidSpecError out -----------------------------------------

weird_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities included
    st.text(),
    st.text(alphabet=st.characters(categories=["Cs"]), min_size=1),  # lone surrogates
    st.binary(),
    st.just("x" * (MAX_DEFINITION_BYTES + 1)),
    st.builds(pow, st.just(10), st.just(5000)),  # too many digits for str()
    st.just(object()),
    st.from_type(complex),
    st.from_type(Decimal),
    st.from_type(Fraction),
    st.from_type(datetime),
    st.from_type(timedelta),
    st.from_type(type),
)
hashables = st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.binary())
weird = st.recursive(
    weird_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(hashables, children, max_size=3),
        st.frozensets(hashables, max_size=3),
        st.sets(hashables, max_size=3),
    ),
    max_leaves=8,
)
SPEC_FIELDS = [field.name for field in attrs.fields(WorkflowSpec)]
POLICY_FIELDS = [field.name for field in attrs.fields(RetryPolicy)]
INPUT_FIELDS = [field.name for field in attrs.fields(ExecutionInput)]


def well_formed(problems: list[tuple[str, str]]) -> bool:
    return bool(problems) and all(
        isinstance(field, str) and field and isinstance(message, str) for field, message in problems
    )


@given(
    fields=st.dictionaries(st.sampled_from(SPEC_FIELDS), weird, max_size=4),
    policy_fields=st.none() | st.dictionaries(st.sampled_from(POLICY_FIELDS), weird, max_size=3),
)
@settings(max_examples=150, deadline=None)
def test_garbage_in_any_spec_field_only_ever_gives_invalid_spec_error(
    fields: dict[str, Any], policy_fields: dict[str, Any] | None
) -> None:
    if policy_fields is not None:
        fields["retry_policy"] = make_policy(**policy_fields)

    problems = problems_raised_by(lambda: validate_workflow_spec(forced_spec(**fields)))

    assert problems is None or well_formed(problems)


@given(fields=st.dictionaries(st.sampled_from(INPUT_FIELDS), weird, max_size=3))
@settings(max_examples=150, deadline=None)
def test_garbage_in_any_input_field_only_ever_gives_invalid_spec_error(
    fields: dict[str, Any],
) -> None:
    problems = problems_raised_by(lambda: validate_execution_input(make_input(**fields)))

    assert problems is None or well_formed(problems)
