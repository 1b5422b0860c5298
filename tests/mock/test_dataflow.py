"""JSONPath data flow, Choice, Wait, Fail, Retry and Catch as Step Functions applies them.

Expected values were cross-checked against moto's ASL interpreter where moto
implements the construct (Task handlers, which moto cannot run, excepted).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from landlord_workflow import ExecutionState
from landlord_workflow.providers.mock import TaskFailure

pytestmark = pytest.mark.asyncio


def single(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": {**state, "End": True}}}


async def test_input_path_selects_the_state_input(run: Any) -> None:
    status = await run(single({"Type": "Pass", "InputPath": "$.a"}), {"a": {"b": 1}, "c": 2})
    assert status.output == {"b": 1}


async def test_input_path_null_gives_an_empty_object_and_result_path_keeps_raw_input(
    run: Any,
) -> None:
    status = await run(single({"Type": "Pass", "InputPath": None, "ResultPath": "$.r"}), {"n": 1})
    assert status.output == {"n": 1, "r": {}}


async def test_parameters_resolve_paths_context_object_and_constants(run: Any) -> None:
    parameters = {
        "copied.$": "$.v",
        "nested": {"item.$": "$.items[1]", "constant": "k"},
        "list": [1, {"inner.$": "$.v"}],
        "name.$": "$$.Execution.Name",
        "state.$": "$$.State.Name",
        "machine.$": "$$.StateMachine.Name",
        "original.$": "$$.Execution.Input.v",
    }
    status = await run(
        single({"Type": "Pass", "Parameters": parameters}), {"v": "V", "items": [1, 2]}
    )
    output = status.output
    assert output["copied"] == "V"
    assert output["nested"] == {"item": 2, "constant": "k"}
    assert output["list"] == [1, {"inner": "V"}]
    assert output["name"] == status.metadata["execution_name"]
    assert output["state"] == "S"
    assert output["machine"] == "wf"
    assert output["original"] == "V"


async def test_wildcards_and_slices_select_lists(run: Any) -> None:
    parameters = {
        "ids.$": "$.items[*].id",
        "first_two.$": "$.items[0:2]",
        "last.$": "$.items[-1:]",
        "none.$": "$.empty[*]",
        "quoted.$": "$['odd key']",
    }
    data = {"items": [{"id": 1}, {"id": 2}, {"id": 3}], "empty": [], "odd key": True}
    status = await run(single({"Type": "Pass", "Parameters": parameters}), data)
    assert status.output == {
        "ids": [1, 2, 3],
        "first_two": [{"id": 1}, {"id": 2}],
        "last": [{"id": 3}],
        "none": [],
        "quoted": True,
    }


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("States.Format('n={} b={} s={}', $.n, $.b, $.s)", "n=3 b=true s=V"),
        ("States.Array($.s, 2, States.Array(1))", ["V", 2, [1]]),
        ("States.JsonToString($.o)", '{"z":1,"a":[1,2]}'),
        ("States.StringToJson($.json)", {"k": [1]}),
        ("States.ArrayLength($.o.a)", 2),
        ("States.ArrayPartition($.o.a, 1)", [[1], [2]]),
        ("States.ArrayContains($.o.a, 2)", True),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayGetItem($.o.a, 0)", 1),
        ("States.ArrayUnique(States.Array(1, 1, 2))", [1, 2]),
        ("States.MathAdd($.n, 4)", 7),
        ("States.StringSplit('a,b,,c', ',')", ["a", "b", "c"]),
        ("States.Base64Encode('hello')", "aGVsbG8="),
        ("States.Base64Decode('aGVsbG8=')", "hello"),
        ("States.JsonMerge($.o, $.p, false)", {"z": 2, "a": [1, 2]}),
        (
            "States.Hash('x', 'SHA-256')",
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
        ),
    ],
)
async def test_intrinsic_functions_compute_like_step_functions(
    run: Any, expression: str, expected: Any
) -> None:
    data = {"n": 3, "b": True, "s": "V", "o": {"z": 1, "a": [1, 2]}, "p": {"z": 2}}
    data["json"] = '{"k": [1]}'
    status = await run(single({"Type": "Pass", "Parameters": {"value.$": expression}}), data)
    assert status.output == {"value": expected}


async def test_intrinsic_failure_fails_the_execution_with_states_intrinsic_failure(
    run: Any,
) -> None:
    status = await run(
        single({"Type": "Pass", "Parameters": {"v.$": "States.StringToJson($.s)"}}), {"s": "{"}
    )
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.code == "States.IntrinsicFailure"


async def test_result_replaces_the_effective_input_as_the_pass_result(run: Any) -> None:
    status = await run(
        single({"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.out"}), {"a": 1}
    )
    assert status.output == {"a": 1, "out": {"r": 1}}


async def test_result_path_null_discards_the_result(run: Any) -> None:
    status = await run(single({"Type": "Pass", "Result": {"r": 1}, "ResultPath": None}), {"a": 1})
    assert status.output == {"a": 1}


async def test_result_path_creates_missing_objects_and_never_mutates_the_input(run: Any) -> None:
    status = await run(
        single({"Type": "Pass", "Result": 5, "ResultPath": "$.a.b.c"}), {"a": {"x": 1}}
    )
    assert status.output == {"a": {"x": 1, "b": {"c": 5}}}
    assert status.input == {"a": {"x": 1}}


async def test_result_path_through_a_non_object_fails_with_result_path_match_failure(
    run: Any,
) -> None:
    status = await run(single({"Type": "Pass", "Result": 1, "ResultPath": "$.a.b"}), {"a": "text"})
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.code == "States.ResultPathMatchFailure"


async def test_output_path_selects_and_null_gives_empty_object(run: Any) -> None:
    selected = await run(single({"Type": "Pass", "OutputPath": "$.keep"}), {"keep": [1], "drop": 2})
    assert selected.output == [1]
    emptied = await run(single({"Type": "Pass", "OutputPath": None}), {"drop": 2})
    assert emptied.output == {}


async def test_task_applies_input_parameters_result_selector_result_and_output_paths(
    run: Any,
) -> None:
    seen: list[Any] = []

    async def handler(data: Any) -> Any:
        seen.append(data)
        return {"id": "r-1", "noise": True}

    state = {
        "Type": "Task",
        "Resource": "create",
        "InputPath": "$.request",
        "Parameters": {"tenant.$": "$.tenant", "fixed": 1},
        "ResultSelector": {"resource_id.$": "$.id"},
        "ResultPath": "$.result",
        "OutputPath": "$.result",
    }
    status = await run(single(state), {"request": {"tenant": "acme"}}, handlers={"create": handler})
    assert seen == [{"tenant": "acme", "fixed": 1}]
    assert status.output == {"resource_id": "r-1"}


async def test_missing_path_fails_with_states_runtime(run: Any) -> None:
    status = await run(single({"Type": "Pass", "Parameters": {"x.$": "$.nope"}}), {"n": 1})
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.code == "States.Runtime"
    assert status.error.failed_at == "S"


# ------------------------------------------------------------------ choice


def choice(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{**rule, "Next": "Yes"}], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": "yes", "End": True},
            "No": {"Type": "Pass", "Result": "no", "End": True},
        },
    }


DATA = {
    "s": "abd",
    "n": 2,
    "m": 2.0,
    "b": True,
    "x": None,
    "t": "2020-01-01T00:00:00Z",
    "u": "2021-01-01T00:00:00Z",
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.s", "StringEquals": "abd"}, "yes"),
        ({"Variable": "$.s", "StringEquals": "abc"}, "no"),
        ({"Variable": "$.s", "StringLessThan": "abe"}, "yes"),
        ({"Variable": "$.s", "StringGreaterThanEquals": "abc"}, "yes"),
        ({"Variable": "$.s", "StringMatches": "a*d"}, "yes"),
        ({"Variable": "$.s", "StringMatches": "a\\*d"}, "no"),
        ({"Variable": "$.n", "NumericEquals": 2}, "yes"),
        ({"Variable": "$.n", "NumericGreaterThan": 2}, "no"),
        ({"Variable": "$.n", "NumericLessThanEquals": 2}, "yes"),
        ({"Variable": "$.n", "NumericEqualsPath": "$.m"}, "yes"),
        ({"Variable": "$.s", "NumericEquals": 2}, "no"),  # wrong type: false
        ({"Variable": "$.b", "BooleanEquals": True}, "yes"),
        ({"Variable": "$.b", "BooleanEqualsPath": "$.b"}, "yes"),
        ({"Variable": "$.t", "TimestampLessThan": "2020-06-01T00:00:00Z"}, "yes"),
        ({"Variable": "$.t", "TimestampLessThanPath": "$.u"}, "yes"),
        ({"Variable": "$.t", "TimestampEquals": "2020-01-01T00:00:00+00:00"}, "yes"),
        ({"Variable": "$.x", "IsNull": True}, "yes"),
        ({"Variable": "$.missing", "IsPresent": False}, "yes"),
        ({"Variable": "$.n", "IsPresent": True}, "yes"),
        ({"Variable": "$.n", "IsNumeric": True}, "yes"),
        ({"Variable": "$.s", "IsString": True}, "yes"),
        ({"Variable": "$.b", "IsBoolean": True}, "yes"),
        ({"Variable": "$.t", "IsTimestamp": True}, "yes"),
        ({"Variable": "$.s", "IsTimestamp": True}, "no"),
        (
            {
                "And": [
                    {"Variable": "$.n", "NumericGreaterThan": 1},
                    {"Variable": "$.b", "BooleanEquals": True},
                ]
            },
            "yes",
        ),
        (
            {
                "Or": [
                    {"Variable": "$.n", "NumericLessThan": 1},
                    {"Variable": "$.x", "IsNull": False},
                ]
            },
            "no",
        ),
        ({"Not": {"Variable": "$.s", "StringEquals": "zzz"}}, "yes"),
    ],
)
async def test_choice_operators_route_like_step_functions(
    run: Any, rule: dict[str, Any], expected: str
) -> None:
    status = await run(choice(rule), DATA)
    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == expected


async def test_choice_on_a_missing_variable_fails_with_states_runtime(run: Any) -> None:
    """AWS fails ('The choice state's condition path references an invalid value');
    moto takes the Default instead - the mock follows AWS."""
    status = await run(choice({"Variable": "$.missing", "StringEquals": "x"}), DATA)
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.code == "States.Runtime"
    assert status.error.failed_at == "C"


async def test_choice_without_match_or_default_fails_with_no_choice_matched(run: Any) -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericEquals": 5, "Next": "Y"}],
            },
            "Y": {"Type": "Succeed"},
        },
    }
    status = await run(definition, {"n": 1})
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.code == "States.NoChoiceMatched"


# ---------------------------------------------------------------- wait/fail


@pytest.mark.parametrize(
    ("wait", "data", "seconds"),
    [
        ({"Seconds": 90}, {}, 90),
        ({"SecondsPath": "$.delay"}, {"delay": 600}, 600),
        ({"Timestamp": "2024-01-01T02:00:00Z"}, {}, 7200),
        ({"TimestampPath": "$.at"}, {"at": "2024-01-02T00:00:00Z"}, 86400),
        ({"Timestamp": "2000-01-01T00:00:00Z"}, {}, 0),  # in the past: no wait
    ],
)
async def test_wait_states_wait_simulated_time(
    run: Any, wait: dict[str, Any], data: Any, seconds: int
) -> None:
    status = await run(single({"Type": "Wait", **wait}), data)
    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == data
    assert status.stop_time - status.start_time == timedelta(seconds=seconds)


async def test_wait_seconds_path_with_a_bad_value_fails_with_states_runtime(run: Any) -> None:
    status = await run(single({"Type": "Wait", "SecondsPath": "$.d"}), {"d": "soon"})
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.code == "States.Runtime"


async def test_fail_state_reports_error_and_cause_from_paths_and_intrinsics(run: Any) -> None:
    definition = {
        "StartAt": "F",
        "States": {
            "F": {
                "Type": "Fail",
                "ErrorPath": "$.code",
                "CausePath": "States.Format('tenant {} broke', $.tenant)",
            }
        },
    }
    status = await run(definition, {"code": "Broken", "tenant": "acme"})
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert (status.error.code, status.error.cause, status.error.failed_at) == (
        "Broken",
        "tenant acme broke",
        "F",
    )
    assert status.output is None


async def test_fail_error_path_that_selects_a_non_string_fails_with_states_runtime(
    run: Any,
) -> None:
    definition = {"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.code"}}}
    status = await run(definition, {"code": 42})
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert (status.error.code, status.error.failed_at) == ("States.Runtime", "F")
    assert "ErrorPath must resolve to a string" in (status.error.cause or "")


# ------------------------------------------------------------- retry/catch


async def test_catch_result_path_gets_error_and_cause_in_the_raw_input(run: Any) -> None:
    async def boom(data: Any) -> Any:
        raise TaskFailure("QuotaExceeded", "no more tenants")

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "boom",
                "InputPath": "$.unused",
                "Catch": [{"ErrorEquals": ["QuotaExceeded"], "ResultPath": "$.error", "Next": "H"}],
                "End": True,
            },
            "H": {"Type": "Pass", "End": True},
        },
    }
    status = await run(definition, {"tenant": "acme", "unused": {}}, handlers={"boom": boom})
    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == {
        "tenant": "acme",
        "unused": {},
        "error": {"Error": "QuotaExceeded", "Cause": "no more tenants"},
    }
    exited = [e for e in status.history if e.type == "StateExited"]
    assert [e.details["state"] for e in exited] == ["T", "H"]


async def test_catch_default_result_path_replaces_the_input_with_the_error(run: Any) -> None:
    async def boom(data: Any) -> Any:
        raise KeyError("missing")

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "boom",
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "H"}],
                "End": True,
            },
            "H": {"Type": "Pass", "End": True},
        },
    }
    status = await run(definition, {"a": 1}, handlers={"boom": boom})
    assert status.output == {"Error": "KeyError", "Cause": "'missing'"}


async def test_retry_backs_off_exponentially_and_respects_max_attempts_then_fails(
    run: Any,
) -> None:
    calls = 0

    async def flaky(data: Any) -> Any:
        nonlocal calls
        calls += 1
        raise TaskFailure("Flaky")

    retry = [
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 3, "BackoffRate": 2}
    ]
    definition = single({"Type": "Task", "Resource": "flaky", "Retry": retry})
    status = await run(definition, {}, handlers={"flaky": flaky})
    assert status.state is ExecutionState.FAILED
    assert calls == 4
    delays = [e.details["delay_seconds"] for e in status.history if e.type == "TaskRetried"]
    assert delays == [3, 6, 12]
    assert status.stop_time - status.start_time == timedelta(seconds=21)


async def test_retry_max_delay_caps_the_backoff_and_default_max_attempts_is_three(
    run: Any,
) -> None:
    async def flaky(data: Any) -> Any:
        raise TaskFailure("Flaky")

    retry = [
        {"ErrorEquals": ["Flaky"], "IntervalSeconds": 10, "BackoffRate": 3, "MaxDelaySeconds": 20}
    ]
    status = await run(
        single({"Type": "Task", "Resource": "f", "Retry": retry}), {}, handlers={"f": flaky}
    )
    delays = [e.details["delay_seconds"] for e in status.history if e.type == "TaskRetried"]
    assert delays == [10, 20, 20]


async def test_only_the_first_matching_retrier_applies(run: Any) -> None:
    calls = 0

    async def flaky(data: Any) -> Any:
        nonlocal calls
        calls += 1
        raise TaskFailure("Specific")

    retry = [
        {"ErrorEquals": ["Specific"], "MaxAttempts": 0},
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5},
    ]
    status = await run(
        single({"Type": "Task", "Resource": "f", "Retry": retry}), {}, handlers={"f": flaky}
    )
    assert status.state is ExecutionState.FAILED
    assert calls == 1


async def test_task_timeout_raises_states_timeout_which_task_failed_does_not_catch(
    run: Any,
) -> None:
    async def hang(data: Any) -> Any:
        await asyncio.Event().wait()

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "hang",
                "TimeoutSeconds": 60,
                "Catch": [
                    {"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
                    {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.e", "Next": "Right"},
                ],
                "End": True,
            },
            "Wrong": {"Type": "Fail", "Error": "Wrong"},
            "Right": {"Type": "Succeed"},
        },
    }
    status = await run(definition, {}, handlers={"hang": hang})
    assert status.state is ExecutionState.SUCCEEDED
    assert status.output["e"]["Error"] == "States.Timeout"
    failed = [e for e in status.history if e.type == "TaskFailed"]
    assert failed[0].details["raw_type"] == "TaskTimedOut"
    assert status.stop_time - status.start_time == timedelta(seconds=60)


async def test_states_all_does_not_catch_states_runtime(run: Any) -> None:
    async def ok(data: Any) -> Any:
        return {}

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "ok",
                "OutputPath": "$.missing",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
                "End": True,
            },
            "H": {"Type": "Succeed"},
        },
    }
    status = await run(definition, {}, handlers={"ok": ok})
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.code == "States.Runtime"


async def test_handler_exception_fails_with_class_name_and_message(run: Any) -> None:
    async def broken(data: Any) -> Any:
        raise ValueError("bad tenant id")

    status = await run(single({"Type": "Task", "Resource": "b"}), {}, handlers={"b": broken})
    assert status.error is not None
    assert (status.error.code, status.error.cause) == ("ValueError", "bad tenant id")


async def test_task_without_handler_fails_as_a_missing_lambda_fails_on_aws(
    run: Any,
) -> None:
    """AWS fails a Task whose function does not exist (Lambda.ResourceNotFoundException)."""
    arn = "arn:aws:lambda:us-east-1:123456789012:function:absent"
    status = await run(single({"Type": "Task", "Resource": arn}), {"k": 1})
    assert status.error is not None
    assert status.error.code == "Lambda.ResourceNotFoundException"
    assert (status.error.cause or "").startswith(f"Function not found: {arn}:$LATEST")


async def test_with_echo_a_task_without_handler_passes_input_after_the_default_duration(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    from landlord_workflow import ExecutionInput

    provider = make_provider(echo_unknown_tasks=True, default_task_duration=timedelta(minutes=5))
    await provider.create_workflow(make_spec(single({"Type": "Task", "Resource": "arn:x"})))
    result = await provider.start_execution("wf", ExecutionInput(input={"k": 1}))
    status = await finish(provider, result.execution_id)
    assert status.output == {"k": 1}
    assert status.stop_time - status.start_time == timedelta(minutes=5)


async def test_handler_gets_a_copy_so_mutation_cannot_change_engine_state(run: Any) -> None:
    async def mutate(data: Any) -> Any:
        data["injected"] = True
        return {"ok": True}

    definition = single({"Type": "Task", "Resource": "m", "ResultPath": "$.r"})
    status = await run(definition, {"a": 1}, handlers={"m": mutate})
    assert status.output == {"a": 1, "r": {"ok": True}}
    entered = next(e for e in status.history if e.type == "StateEntered")
    assert entered.details["input"] == {"a": 1}
