"""Pass, Task, Choice, Wait, Succeed and Fail: data flow and outcomes as on AWS."""

from __future__ import annotations

from typing import Any

import pytest
from asl.kit import START, chain, run, single

pytestmark = pytest.mark.asyncio


async def echo(value: Any) -> Any:
    return value


async def test_pass_data_flow_applies_input_parameters_result_and_output_paths() -> None:
    state = {
        "Type": "Pass",
        "InputPath": "$.in",
        "Parameters": {"doubled.$": "$.v", "fixed": [1]},
        "ResultPath": "$.out",
        "OutputPath": "$.out",
    }
    result = await run(single(state), {"in": {"v": 2}, "keep": True})
    assert result.output == {"doubled": 2, "fixed": [1]}


async def test_result_path_merges_into_the_raw_input_creating_missing_objects() -> None:
    result = await run(single({"Type": "Pass", "Result": 1, "ResultPath": "$.a.b"}), {"x": 0})
    assert result.output == {"x": 0, "a": {"b": 1}}


async def test_null_paths_discard_as_aws_does() -> None:
    input_null = await run(single({"Type": "Pass", "InputPath": None}), {"x": 1})
    result_null = await run(single({"Type": "Pass", "Result": 5, "ResultPath": None}), {"x": 1})
    output_null = await run(single({"Type": "Pass", "OutputPath": None}), {"x": 1})
    assert (input_null.output, result_null.output, output_null.output) == ({}, {"x": 1}, {})


async def test_a_missing_input_path_fails_with_aws_wording() -> None:
    result = await run(single({"Type": "Pass", "InputPath": "$.nope"}), {})
    assert result.error == (
        "States.Runtime",
        "An error occurred while executing the state 'S' (entered at the event id #2). "
        "Invalid path '$.nope' : No results for path: $['nope']",
    )


async def test_pass_context_object_has_no_retry_count_but_task_context_has() -> None:
    pass_result = await run(single({"Type": "Pass", "Parameters": {"c.$": "$$.State"}}), {})
    assert set(pass_result.output["c"]) == {"Name", "EnteredTime"}
    task_result = await run(
        single({"Type": "Task", "Resource": "f", "Parameters": {"c.$": "$$.State"}}),
        {},
        handlers={"f": echo},
    )
    assert task_result.output["c"]["RetryCount"] == 0


async def test_context_object_describes_the_execution_as_aws_does() -> None:
    result = await run(single({"Type": "Pass", "Parameters": {"c.$": "$$"}}), {"i": 1})
    context = result.output["c"]
    assert list(context) == ["Execution", "StateMachine", "State"]
    assert list(context["Execution"]) == [
        "Id",
        "Input",
        "StartTime",
        "Name",
        "RoleArn",
        "RedriveCount",
    ]
    assert context["Execution"]["Input"] == {"i": 1}
    assert context["Execution"]["StartTime"] == "2024-01-01T00:00:00.000Z"
    assert context["State"]["Name"] == "S"


async def test_choice_routes_on_the_first_matching_rule_then_default() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
                    {
                        "And": [
                            {"Variable": "$.s", "IsPresent": True},
                            {"Variable": "$.s", "StringMatches": "a*z"},
                        ],
                        "Next": "Word",
                    },
                ],
                "Default": "Other",
            },
            "Big": {"Type": "Pass", "Result": "big", "End": True},
            "Word": {"Type": "Pass", "Result": "word", "End": True},
            "Other": {"Type": "Pass", "Result": "other", "End": True},
        },
    }
    assert (await run(definition, {"n": 11})).output == "big"
    assert (await run(definition, {"n": 1, "s": "abcz"})).output == "word"
    assert (await run(definition, {"n": 1})).output == "other"


async def test_choice_without_match_or_default_fails_no_choice_matched() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Done"}],
            },
            "Done": {"Type": "Succeed"},
        },
    }
    result = await run(definition, {"n": 2})
    assert result.error[0] == "States.NoChoiceMatched"


async def test_wait_seconds_pass_on_the_execution_clock() -> None:
    result = await run(
        chain(
            ("W", {"Type": "Wait", "Seconds": 3600}),
            ("T", {"Type": "Pass", "Parameters": {"t.$": "$$.State.EnteredTime"}}),
        )
    )
    assert result.output == {"t": "2024-01-01T01:00:00.000Z"}


async def test_wait_timestamp_path_waits_until_that_moment() -> None:
    definition = chain(
        ("W", {"Type": "Wait", "TimestampPath": "$.at"}),
        ("T", {"Type": "Pass", "Parameters": {"t.$": "$$.State.EnteredTime"}}),
    )
    result = await run(definition, {"at": "2024-01-02T00:00:00Z"})
    assert result.output == {"t": "2024-01-02T00:00:00.000Z"}
    assert result.runtime.now() == START.replace(day=2)


@pytest.mark.parametrize(
    ("value", "cause"),
    [
        (-1, "The SecondsPath parameter references a negative value: $.s == -1"),
        (1.5, "The SecondsPath parameter cannot be parsed as a long value: $.s == 1.5"),
        ("x", "The SecondsPath parameter cannot be parsed as a long value: $.s == x"),
    ],
)
async def test_wait_seconds_path_errors_are_worded_as_aws_words_them(
    value: Any, cause: str
) -> None:
    result = await run(single({"Type": "Wait", "SecondsPath": "$.s"}), {"s": value})
    assert result.error == (
        "States.Runtime",
        f"An error occurred while executing the state 'S' (entered at the event id #2). {cause}",
    )


async def test_wait_seconds_path_that_selects_nothing() -> None:
    result = await run(single({"Type": "Wait", "SecondsPath": "$.s"}), {})
    assert result.error[1] is not None
    assert result.error[1].endswith(
        "The SecondsPath parameter does not reference an input value: $.s"
    )


async def test_wait_timestamp_path_that_is_not_a_timestamp() -> None:
    result = await run(
        single({"Type": "Wait", "TimestampPath": "$.t"}), {"t": "2016-13-05T21:29:29Z"}
    )
    assert result.error[1] is not None
    assert result.error[1].endswith(
        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
        "date-time format string: $.t == 2016-13-05T21:29:29Z"
    )


async def test_succeed_ends_with_its_output() -> None:
    result = await run(single({"Type": "Succeed", "OutputPath": "$.a"}), {"a": [1]})
    assert result.output == [1]


async def test_fail_reports_its_error_and_cause() -> None:
    result = await run(single({"Type": "Fail", "Error": "Bad", "Cause": "because"}))
    assert result.error == ("Bad", "because")
    assert result.outcome.state == "S"


async def test_fail_with_neither_error_nor_cause_records_neither() -> None:
    result = await run(single({"Type": "Fail"}))
    assert result.error == (None, None)
    assert result.of_type("ExecutionFailed")[0].details == {}


async def test_fail_paths_may_use_intrinsics_and_must_select_strings() -> None:
    ok = await run(
        single(
            {
                "Type": "Fail",
                "ErrorPath": "$.code",
                "CausePath": "States.Format('tenant {} broke', $.t)",
            }
        ),
        {"code": "E1", "t": "acme"},
    )
    assert ok.error == ("E1", "tenant acme broke")
    bad = await run(single({"Type": "Fail", "ErrorPath": "$.code"}), {"code": 42})
    assert bad.error[0] == "States.Runtime"


async def test_state_output_over_256_kib_fails_with_states_data_limit_exceeded() -> None:
    result = await run(single({"Type": "Pass", "Result": "x" * 262_144}))
    assert result.error == (
        "States.DataLimitExceeded",
        "The state/task 'S' returned a result with a size exceeding the maximum number of "
        "bytes service limit.",
    )
