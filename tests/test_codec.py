"""The codec: JSON <-> value types, durations, timestamps, field-precise errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landlord_workflow._types import (
    CreateWorkflowResult,
    ExecutionError,
    ExecutionEvent,
    ExecutionInput,
    ExecutionResult,
    ExecutionState,
    ExecutionStatus,
    RetryPolicy,
    WorkflowSpec,
)
from landlord_workflow.codec import (
    MAX_JSON_DEPTH,
    encode_json,
    from_dict,
    from_json,
    to_dict,
    to_json,
)
from landlord_workflow.errors import InvalidSpecError

# The two documents of the original specification (design/EXAMPLES.md), verbatim.
SPEC_JSON = """
{
  "workflow_id": "tenant-provisioning",
  "provider_type": "step-functions",
  "name": "Tenant Provisioning Workflow",
  "description": "Provisions compute and database for new tenant",
  "definition": {
    "Comment": "Tenant provisioning state machine",
    "StartAt": "ProvisionCompute",
    "States": {
      "ProvisionCompute": {
        "Type": "Task",
        "Resource": "arn:aws:lambda:...",
        "Next": "ConfigureDatabase"
      },
      "ConfigureDatabase": {
        "Type": "Task",
        "Resource": "arn:aws:lambda:...",
        "End": true
      }
    }
  },
  "timeout": "30m",
  "retry_policy": {
    "max_attempts": 3,
    "backoff_rate": 2.0,
    "initial_interval": "1s",
    "max_interval": "60s"
  },
  "tags": {
    "environment": "production",
    "team": "platform"
  }
}
"""

STATUS_JSON = """
{
  "execution_id": "exec-abc123",
  "workflow_id": "tenant-provisioning",
  "provider_type": "step-functions",
  "state": "succeeded",
  "start_time": "2026-01-30T10:00:00Z",
  "stop_time": "2026-01-30T10:05:00Z",
  "input": {
    "tenant_id": "tenant-123",
    "image": "app:v1.0.0"
  },
  "output": {
    "compute_id": "ecs-task-123",
    "database_id": "rds-instance-456"
  },
  "history": [
    {"timestamp": "2026-01-30T10:00:00Z", "type": "ExecutionStarted", "details": {}},
    {"timestamp": "2026-01-30T10:02:00Z", "type": "StateEntered", "details": {"state": "ProvisionCompute"}},
    {"timestamp": "2026-01-30T10:04:00Z", "type": "StateEntered", "details": {"state": "ConfigureDatabase"}},
    {"timestamp": "2026-01-30T10:05:00Z", "type": "ExecutionSucceeded", "details": {}}
  ]
}
"""  # noqa: E501

T0 = datetime(2026, 1, 30, 10, 0, tzinfo=UTC)


def problems_of(excinfo: pytest.ExceptionInfo[InvalidSpecError]) -> dict[str, str]:
    return dict(excinfo.value.problems)


def fields_of(excinfo: pytest.ExceptionInfo[InvalidSpecError]) -> list[str]:
    return [field for field, _ in excinfo.value.problems]


def spec_dict(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_JSON)
    data.update(changes)
    return data


# -- the specification's examples ---------------------------------------------------------


def test_spec_example_parses_into_the_expected_values() -> None:
    spec = from_json(WorkflowSpec, SPEC_JSON)

    assert spec.workflow_id == "tenant-provisioning"
    assert spec.timeout == timedelta(minutes=30)
    assert spec.retry_policy == RetryPolicy(
        max_attempts=3,
        backoff_rate=2.0,
        initial_interval=timedelta(seconds=1),
        max_interval=timedelta(seconds=60),
    )
    assert spec.tags == {"environment": "production", "team": "platform"}
    assert spec.definition == json.loads(SPEC_JSON)["definition"]
    assert spec.provider_config == {}


def test_spec_example_to_dict_is_the_original_plus_defaults_with_durations_normalised() -> None:
    """Only the omitted default is added; "60s" is rewritten in its shortest form "1m"."""
    original = json.loads(SPEC_JSON)
    expected = {
        **original,
        "provider_config": {},
        "retry_policy": {**original["retry_policy"], "max_interval": "1m"},
    }

    assert to_dict(from_json(WorkflowSpec, SPEC_JSON)) == expected


def test_status_example_parses_into_the_expected_values() -> None:
    status = from_json(ExecutionStatus, STATUS_JSON)

    assert status.state is ExecutionState.SUCCEEDED
    assert status.start_time == T0
    assert status.stop_time == T0 + timedelta(minutes=5)
    assert status.input == {"tenant_id": "tenant-123", "image": "app:v1.0.0"}
    assert [event.type for event in status.history] == [
        "ExecutionStarted",
        "StateEntered",
        "StateEntered",
        "ExecutionSucceeded",
    ]
    assert status.history[1] == ExecutionEvent(
        timestamp=T0 + timedelta(minutes=2),
        type="StateEntered",
        details={"state": "ProvisionCompute"},
    )
    assert isinstance(status.history, tuple)


def test_status_example_to_dict_is_the_original_plus_defaults() -> None:
    expected = {**json.loads(STATUS_JSON), "error": None, "metadata": {}}

    assert to_dict(from_json(ExecutionStatus, STATUS_JSON)) == expected


@pytest.mark.parametrize(
    ("cls", "text"), [(WorkflowSpec, SPEC_JSON), (ExecutionStatus, STATUS_JSON)]
)
def test_examples_round_trip_through_json(cls: type[Any], text: str) -> None:
    value = from_json(cls, text)
    written = to_json(value)

    assert from_json(cls, written) == value
    assert to_json(from_json(cls, written)) == written


# -- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("500ms", timedelta(milliseconds=500)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("2h45m30.5s", timedelta(hours=2, minutes=45, seconds=30.5)),
        ("1500us", timedelta(microseconds=1500)),
        ("1500\u00b5s", timedelta(microseconds=1500)),
        ("1500\u03bcs", timedelta(microseconds=1500)),
        ("2000ns", timedelta(microseconds=2)),
        ("1m1m", timedelta(minutes=2)),
        ("0", timedelta(0)),
        ("+5s", timedelta(seconds=5)),
        ("PT30M", timedelta(minutes=30)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("PT1,5S", timedelta(milliseconds=1500)),
        ("P2W", timedelta(weeks=2)),
        ("P1D", timedelta(days=1)),
        ("90", timedelta(seconds=90)),
        ("1.25", timedelta(seconds=1.25)),
        (90, timedelta(seconds=90)),
        (0.25, timedelta(milliseconds=250)),
    ],
)
def test_durations_are_read_in_go_iso_8601_and_seconds_forms(
    text: str | float, expected: timedelta
) -> None:
    assert from_dict(RetryPolicy, {"initial_interval": text}).initial_interval == expected


def test_sub_microsecond_durations_are_rounded_to_the_nearest_microsecond() -> None:
    assert from_dict(RetryPolicy, {"max_interval": "1700ns"}).max_interval == timedelta(
        microseconds=2
    )


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(minutes=30), "30m"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(seconds=60), "1m"),
        (timedelta(milliseconds=500), "500ms"),
        (timedelta(microseconds=1500), "1.5ms"),
        (timedelta(microseconds=7), "7us"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(hours=1, milliseconds=500), "1h0.5s"),
        (timedelta(hours=2, minutes=45, seconds=30.5), "2h45m30.5s"),
        (timedelta(days=2), "48h"),
    ],
)
def test_durations_are_written_in_shortest_exact_go_form(duration: timedelta, text: str) -> None:
    policy = RetryPolicy(initial_interval=duration)

    assert to_dict(policy)["initial_interval"] == text


@pytest.mark.parametrize(
    "text",
    ["", "abc", "1H", "1h ", " 1h", "h", "1d", "P", "PT", "P1DT", "P1Y", "P1M", "PT1H30", "1e9999"],
)
def test_unreadable_durations_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(RetryPolicy, {"initial_interval": text})

    assert fields_of(excinfo) == ["initial_interval"]
    assert "duration" in problems_of(excinfo)["initial_interval"]


@pytest.mark.parametrize("value", ["-1s", -1, "-PT1S", True, None, [1], float("inf")])
def test_negative_or_non_duration_values_are_refused_naming_the_nested_field(
    value: object,
) -> None:
    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(WorkflowSpec, spec_dict(retry_policy={"max_interval": value}))

    assert fields_of(excinfo) == ["retry_policy.max_interval"]


def test_a_duration_beyond_timedelta_range_is_refused() -> None:
    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(WorkflowSpec, spec_dict(timeout="99999999999999h"))

    assert problems_of(excinfo)["timeout"] == "duration out of range"


@given(st.timedeltas(min_value=timedelta(0)))
@settings(max_examples=200, deadline=None)
def test_written_durations_read_back_exactly(duration: timedelta) -> None:
    text = to_dict(RetryPolicy(max_interval=duration))["max_interval"]

    assert from_dict(RetryPolicy, {"max_interval": text}).max_interval == duration


# -- datetimes --------------------------------------------------------------------------------


def test_timestamps_with_offsets_are_read_into_utc() -> None:
    event = from_dict(ExecutionEvent, {"timestamp": "2026-01-30T12:00:00+02:00", "type": "x"})

    assert event.timestamp == T0
    assert event.timestamp.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (T0, "2026-01-30T10:00:00Z"),
        (T0.replace(microsecond=250_000), "2026-01-30T10:00:00.250000Z"),
        (datetime(2026, 1, 30, 5, 0, tzinfo=timezone(timedelta(hours=-5))), "2026-01-30T10:00:00Z"),
    ],
)
def test_timestamps_are_written_in_utc_with_z_keeping_nonzero_microseconds(
    moment: datetime, text: str
) -> None:
    assert to_dict(ExecutionEvent(timestamp=moment, type="x"))["timestamp"] == text


@pytest.mark.parametrize(
    "text", ["2026-01-30T10:00:00", "2026-01-30", "yesterday", "2026-13-30T10:00:00Z", 1700000000]
)
def test_naive_or_malformed_timestamps_are_refused_naming_the_field(text: object) -> None:
    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(ExecutionEvent, {"timestamp": text, "type": "x"})

    assert fields_of(excinfo) == ["timestamp"]


def test_a_naive_timestamp_message_asks_for_an_offset() -> None:
    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(ExecutionEvent, {"timestamp": "2026-01-30T10:00:00", "type": "x"})

    assert "UTC offset" in problems_of(excinfo)["timestamp"]


def test_writing_a_naive_datetime_is_refused_naming_the_field() -> None:
    event = ExecutionEvent(timestamp=T0, type="x")
    object.__setattr__(event, "timestamp", datetime(2026, 1, 30))

    with pytest.raises(InvalidSpecError) as excinfo:
        to_dict(event)

    assert problems_of(excinfo) == {"timestamp": "must be timezone-aware"}


# -- states, JSON fields, history ------------------------------------------------------------


def test_execution_state_is_written_and_read_by_value() -> None:
    result = ExecutionResult(
        execution_id="e", workflow_id="w", provider_type="mock", state=ExecutionState.TIMED_OUT,
        started_at=T0,
    )  # fmt: skip

    assert to_dict(result)["state"] == "timed_out"
    assert from_dict(ExecutionResult, to_dict(result)).state is ExecutionState.TIMED_OUT


def test_an_unknown_state_is_refused_listing_the_valid_values() -> None:
    data = {**json.loads(STATUS_JSON), "state": "done"}

    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(ExecutionStatus, data)

    assert "succeeded" in problems_of(excinfo)["state"]


def test_json_fields_are_written_as_plain_dicts_and_lists() -> None:
    event = ExecutionEvent(timestamp=T0, type="x", details=MappingProxyType({"a": ("b", {"c": 1})}))

    written = to_dict(event)

    assert written["details"] == {"a": ["b", {"c": 1}]}
    assert type(written["details"]) is dict
    assert type(written["details"]["a"]) is list


def test_history_is_a_json_array_and_reads_back_as_a_tuple() -> None:
    status = from_json(ExecutionStatus, STATUS_JSON)

    assert isinstance(to_dict(status)["history"], list)
    assert from_dict(ExecutionStatus, to_dict(status)).history == status.history


def test_status_output_may_be_any_json_value() -> None:
    data = {**json.loads(STATUS_JSON), "output": "done"}

    assert from_dict(ExecutionStatus, data).output == "done"


# -- errors -------------------------------------------------------------------------------------


def test_missing_required_fields_are_each_named() -> None:
    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(WorkflowSpec, {"provider_type": "mock"})

    assert problems_of(excinfo) == {
        "workflow_id": "required field missing",
        "name": "required field missing",
        "definition": "required field missing",
    }


def test_wrong_types_are_each_named_with_dotted_paths() -> None:
    data = spec_dict(
        name=5,
        definition=["not", "an", "object"],
        tags={"team": 7},
        retry_policy={"max_attempts": "3", "backoff_rate": True},
    )

    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(WorkflowSpec, data)

    assert fields_of(excinfo) == [
        "name",
        "definition",
        "retry_policy.max_attempts",
        "retry_policy.backoff_rate",
        "tags.team",
    ]
    assert problems_of(excinfo)["name"] == "expected a string, got a number"


def test_unknown_keys_are_refused_each_named() -> None:
    data = spec_dict(time_out="5m", retry_policy={"max_atempts": 3})

    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(WorkflowSpec, data)

    assert fields_of(excinfo) == ["retry_policy.max_atempts", "time_out"]
    assert problems_of(excinfo)["time_out"].startswith("unknown field")


def test_errors_inside_history_name_the_event_index() -> None:
    data = json.loads(STATUS_JSON)
    data["history"][2]["timestamp"] = "noon"
    data["history"][3] = "not an event"

    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(ExecutionStatus, data)

    assert fields_of(excinfo) == ["history[2].timestamp", "history[3]"]


def test_non_json_values_inside_json_fields_are_named_by_path() -> None:
    data = spec_dict(definition={"States": {"A": {"Seconds": float("nan")}}, 1: "x"})

    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(WorkflowSpec, data)

    assert problems_of(excinfo) == {
        "definition": "object keys must be strings, found a number",
        "definition.States.A.Seconds": "NaN is not allowed in JSON",
    }


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{", "not valid JSON"),
        ('{"workflow_id": NaN}', "NaN is not allowed"),
        ('{"workflow_id": Infinity}', "Infinity is not allowed"),
        ("[]", "expected a JSON object, got an array"),
        ("null", "expected a JSON object, got null"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
        ('{"n": ' + "9" * 5000 + "}", "not valid JSON"),
        (b"\xff\xfe{", "not valid JSON"),
    ],
)
def test_malformed_json_text_is_reported_on_the_document(text: str | bytes, fragment: str) -> None:
    with pytest.raises(InvalidSpecError) as excinfo:
        from_json(WorkflowSpec, text)

    assert fields_of(excinfo) == ["$"]
    assert fragment in problems_of(excinfo)["$"]


def test_from_json_of_something_that_is_not_text_raises_invalid_spec_error() -> None:
    with pytest.raises(InvalidSpecError) as excinfo:
        from_json(WorkflowSpec, 42)  # type: ignore[arg-type]

    assert fields_of(excinfo) == ["$"]


def test_json_nested_deeper_than_the_limit_is_refused_without_recursion_error() -> None:
    deep: object = "leaf"
    for _ in range(MAX_JSON_DEPTH + 1):
        deep = [deep]

    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(WorkflowSpec, spec_dict(definition={"a": deep}))

    assert "nested deeper" in problems_of(excinfo)["definition"]


def test_errors_chain_to_the_cattrs_error_but_are_invalid_spec_errors() -> None:
    with pytest.raises(InvalidSpecError) as excinfo:
        from_dict(WorkflowSpec, spec_dict(name=5))

    assert isinstance(excinfo.value, ValueError)
    assert excinfo.value.__cause__ is not None


def test_to_dict_refuses_values_that_are_not_attrs_types() -> None:
    with pytest.raises(TypeError, match="attrs value type"):
        to_dict({"workflow_id": "x"})


def test_writing_non_json_content_is_refused_naming_the_field() -> None:
    spec = from_json(WorkflowSpec, SPEC_JSON)
    object.__setattr__(spec, "definition", {"StartAt": {1, 2}})
    object.__setattr__(spec, "name", None)

    with pytest.raises(InvalidSpecError) as excinfo:
        to_json(spec)

    assert problems_of(excinfo) == {
        "name": "expected a string, got null",
        "definition.StartAt": "set is not a JSON value",
    }


# -- encode_json --------------------------------------------------------------------------------


def test_encode_json_is_deterministic_compact_and_keeps_unicode() -> None:
    assert encode_json({"b": [1, 2.5], "a": {"é": None}}) == '{"a":{"é":null},"b":[1,2.5]}'
    assert encode_json({"x": 1, "y": 2}) == encode_json({"y": 2, "x": 1})


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"a": float("nan")}, "a"),
        ({"a": [1, float("inf")]}, "a[1]"),
        ({"a": "\ud800"}, "a"),
        ({"a": {1, 2}}, "a"),
        (b"bytes", "$"),
    ],
)
def test_encode_json_refuses_non_json_naming_the_path(value: object, field: str) -> None:
    with pytest.raises(InvalidSpecError) as excinfo:
        encode_json(value)

    assert fields_of(excinfo) == [field]


# -- property tests -------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=4)
aware_datetimes = st.datetimes(
    min_value=datetime(2, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.builds(
        timezone, st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timedelta(minutes=m))
    ),
)
durations = st.timedeltas(min_value=timedelta(0))
string_maps = st.dictionaries(st.text(), st.text(), max_size=4)
states = st.sampled_from(ExecutionState)

retry_policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(),
    backoff_rate=st.floats(allow_nan=False, allow_infinity=False),
    initial_interval=durations,
    max_interval=durations,
)
execution_errors = st.builds(
    ExecutionError,
    code=st.text(),
    message=st.text(),
    cause=st.none() | st.text(),
    failed_at=st.none() | st.text(),
)
events = st.builds(ExecutionEvent, timestamp=aware_datetimes, type=st.text(), details=json_objects)
STRATEGIES: dict[type[Any], st.SearchStrategy[Any]] = {
    RetryPolicy: retry_policies,
    WorkflowSpec: st.builds(
        WorkflowSpec,
        workflow_id=st.text(),
        provider_type=st.text(),
        name=st.text(),
        definition=json_objects,
        description=st.text(),
        timeout=st.none() | durations,
        retry_policy=st.none() | retry_policies,
        tags=string_maps,
        provider_config=json_objects,
    ),
    ExecutionInput: st.builds(
        ExecutionInput, input=json_values, execution_name=st.none() | st.text(), tags=string_maps
    ),
    ExecutionError: execution_errors,
    ExecutionEvent: events,
    ExecutionStatus: st.builds(
        ExecutionStatus,
        execution_id=st.text(),
        workflow_id=st.text(),
        provider_type=st.text(),
        state=states,
        start_time=aware_datetimes,
        stop_time=st.none() | aware_datetimes,
        input=json_values,
        output=json_values,
        error=st.none() | execution_errors,
        history=st.lists(events, max_size=3).map(tuple),
        metadata=json_objects,
    ),
    CreateWorkflowResult: st.builds(
        CreateWorkflowResult,
        workflow_id=st.text(),
        provider_type=st.text(),
        resource_ids=string_maps,
        created_at=aware_datetimes,
        message=st.text(),
    ),
    ExecutionResult: st.builds(
        ExecutionResult,
        execution_id=st.text(),
        workflow_id=st.text(),
        provider_type=st.text(),
        state=states,
        started_at=aware_datetimes,
        message=st.text(),
    ),
}


@pytest.mark.parametrize("cls", list(STRATEGIES), ids=lambda cls: cls.__name__)
@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_every_type_round_trips_through_json(cls: type[Any], data: st.DataObject) -> None:
    value = data.draw(STRATEGIES[cls])

    written = to_json(value)

    assert from_json(cls, written) == value
    assert to_json(from_json(cls, written)) == written


def problems_raised_by(parse: Callable[[], object]) -> list[tuple[str, str]] | None:
    """The problems of the InvalidSpecError ``parse`` raised, or None when it succeeded."""
    try:
        parse()
    except InvalidSpecError as exc:
        return exc.problems
    return None


def well_formed(problems: list[tuple[str, str]]) -> bool:
    return bool(problems) and all(
        isinstance(field, str) and field and isinstance(message, str) for field, message in problems
    )


garbage = st.recursive(
    json_scalars
    | st.just(float("nan"))
    | st.binary(max_size=4)
    | st.sets(st.integers(), max_size=2)
    | st.just(object()),
    lambda children: (
        st.lists(children, max_size=3)
        | st.tuples(children)
        | st.dictionaries(st.text(max_size=12) | st.integers(), children, max_size=4)
    ),
    max_leaves=10,
)
spec_keys = st.sampled_from(
    [
        "workflow_id",
        "provider_type",
        "name",
        "definition",
        "description",
        "timeout",
        "retry_policy",
        "tags",
        "provider_config",
        "extra",
    ]
)


@given(document=st.dictionaries(spec_keys, garbage, max_size=10))
@settings(max_examples=150, deadline=None)
def test_arbitrary_documents_either_parse_or_raise_invalid_spec_error(
    document: dict[str, Any],
) -> None:
    problems = problems_raised_by(lambda: from_dict(WorkflowSpec, document))

    assert problems is None or well_formed(problems)


@given(text=st.text(max_size=60) | st.binary(max_size=60))
@settings(max_examples=150, deadline=None)
def test_arbitrary_text_either_parses_or_raises_invalid_spec_error(text: str | bytes) -> None:
    problems = problems_raised_by(lambda: from_json(ExecutionStatus, text))

    assert problems is None or well_formed(problems)
