"""Task failures, Retry, Catch, timeouts, heartbeats and callbacks, as on AWS."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asl.kit import KitRuntime, run, run_machine, single

from landlord_workflow._asl import StatesError, TaskFailure
from landlord_workflow._asl._errors import error_matches

pytestmark = pytest.mark.asyncio


def failing(error: str, cause: str | None = None, times: int = 10**9) -> Any:
    calls = {"n": 0}

    async def handler(value: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise TaskFailure(error, cause)
        return {"calls": calls["n"]}

    handler.calls = calls  # type: ignore[attr-defined]
    return handler


def task(**fields: Any) -> dict[str, Any]:
    return single({"Type": "Task", "Resource": "f", **fields})


async def test_a_task_failure_fails_the_execution_with_its_error() -> None:
    result = await run(task(), handlers={"f": failing("Boom", "it broke")})
    assert result.error == ("Boom", "it broke")
    assert result.types()[-2:] == ["TaskFailed", "ExecutionFailed"]


async def test_any_other_exception_fails_with_its_class_name() -> None:
    async def broken(value: Any) -> Any:
        raise KeyError("x")

    result = await run(task(), handlers={"f": broken})
    assert result.error[0] == "KeyError"


async def test_a_result_that_is_not_json_fails_with_states_runtime() -> None:
    async def nan(value: Any) -> Any:
        return {"x": float("nan")}

    result = await run(task(), handlers={"f": nan})
    assert result.error[0] == "States.Runtime"


async def test_retry_waits_interval_times_backoff_capped_by_max_delay() -> None:
    handler = failing("Flaky", times=3)
    retry = [
        {
            "ErrorEquals": ["Flaky"],
            "IntervalSeconds": 2,
            "BackoffRate": 3,
            "MaxAttempts": 3,
            "MaxDelaySeconds": 10,
        }
    ]
    result = await run(task(Retry=retry), handlers={"f": handler})
    assert result.output == {"calls": 4}
    delays = [e.details["delaySeconds"] for e in result.of_type("TaskRetried")]
    assert delays == [2.0, 6.0, 10.0]
    assert result.runtime.clock.elapsed.total_seconds() == 18.0


async def test_full_jitter_waits_a_random_part_of_the_delay() -> None:
    retry = [
        {
            "ErrorEquals": ["Flaky"],
            "IntervalSeconds": 10,
            "MaxAttempts": 1,
            "JitterStrategy": "FULL",
        }
    ]
    result = await run(task(Retry=retry), handlers={"f": failing("Flaky", times=1)})
    (delay,) = [e.details["delaySeconds"] for e in result.of_type("TaskRetried")]
    assert 0 <= delay < 10


async def test_retry_count_is_in_the_context_object_of_each_attempt() -> None:
    seen: list[int] = []

    async def handler(value: Any) -> Any:
        seen.append(value["retry"])
        if len(seen) < 3:
            raise TaskFailure("Again")
        return value

    retry = [{"ErrorEquals": ["Again"], "IntervalSeconds": 1, "MaxAttempts": 5}]
    await run(
        task(Retry=retry, Parameters={"retry.$": "$$.State.RetryCount"}), handlers={"f": handler}
    )
    assert seen == [0, 1, 2]


async def test_max_attempts_zero_never_retries_and_catch_takes_over() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "f",
                "End": True,
                "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 0}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "H"}],
            },
            "H": {"Type": "Pass", "End": True},
        },
    }
    handler = failing("E", "c")
    result = await run(definition, {"in": 1}, handlers={"f": handler})
    assert result.output == {"in": 1, "err": {"Error": "E", "Cause": "c"}}
    assert handler.calls["n"] == 1


async def test_states_runtime_is_never_retried_nor_caught() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "f",
                "OutputPath": "$.missing",
                "End": True,
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
            },
            "H": {"Type": "Pass", "End": True},
        },
    }
    result = await run(definition, {}, handlers={"f": failing("x", times=0)})
    assert result.error[0] == "States.Runtime"


@pytest.mark.parametrize(
    ("patterns", "error", "matched"),
    [
        (("States.ALL",), "Custom", True),
        (("States.ALL",), "States.Timeout", True),
        (("States.TaskFailed",), "Custom", True),
        (("States.TaskFailed",), "States.Timeout", False),
        (("States.TaskFailed",), "States.HeartbeatTimeout", True),
        (("States.Timeout",), "States.HeartbeatTimeout", True),
        (("States.HeartbeatTimeout",), "States.HeartbeatTimeout", True),
        (("States.HeartbeatTimeout",), "States.Timeout", False),
        (("Custom",), "Custom", True),
        (("Other",), "Custom", False),
        (("States.Runtime",), "States.Runtime", False),
    ],
)
async def test_error_names_match_with_aws_wildcards(
    patterns: tuple[str, ...], error: str, matched: bool
) -> None:
    assert error_matches(patterns, StatesError(error)) is matched


async def test_task_timeout_fails_with_states_timeout_and_no_cause() -> None:
    async def slow(value: Any) -> Any:
        await asyncio.Event().wait()

    result = await run(task(TimeoutSeconds=30), handlers={"f": slow})
    assert result.error == ("States.Timeout", None)
    assert "TaskTimedOut" in result.types()
    assert result.runtime.clock.elapsed.total_seconds() == 30


async def test_a_caught_timeout_shows_an_empty_cause() -> None:
    async def slow(value: Any) -> Any:
        await asyncio.Event().wait()

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "f",
                "TimeoutSecondsPath": "$.t",
                "End": True,
                "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "H"}],
            },
            "H": {"Type": "Pass", "End": True},
        },
    }
    result = await run(definition, {"t": 5}, handlers={"f": slow})
    assert result.output == {"Error": "States.Timeout", "Cause": ""}


async def test_a_missing_handler_fails_as_a_missing_lambda_fails_on_aws() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:nope"
    result = await run(single({"Type": "Task", "Resource": arn}))
    error, cause = result.error
    assert error == "Lambda.ResourceNotFoundException"
    assert cause is not None
    assert cause.startswith(f"Function not found: {arn}:$LATEST (Service: AWSLambda;")


async def test_echo_mode_returns_the_input_when_no_handler_exists() -> None:
    result = await run(single({"Type": "Task", "Resource": "nothing"}), {"a": 1}, echo=True)
    assert result.output == {"a": 1}


async def callback_run(
    fields: dict[str, Any], answer: Any, data: Any = None
) -> tuple[Any, KitRuntime]:
    runtime = KitRuntime()
    definition = single(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"MessageBody": {"token.$": "$$.Task.Token"}},
            **fields,
        }
    )
    if "Catch" in fields:
        definition["States"]["Caught"] = {"Type": "Pass", "End": True}

    async def send(message: Any) -> Any:
        return {"MessageId": "m-1"}

    runtime.handlers["sqs:sendMessage"] = send
    execution = asyncio.ensure_future(run_machine(definition, data or {}, runtime=runtime))
    while not runtime.callbacks:
        await asyncio.sleep(0)
    token = next(iter(runtime.callbacks))
    if answer is not None:
        answer(runtime, token)
    result = await execution
    await runtime.clock.quiesce()
    return result, runtime


async def test_wait_for_task_token_waits_for_send_task_success() -> None:
    result, runtime = await callback_run({}, lambda rt, token: rt.send_success(token, {"ok": 1}))
    assert result.outcome.output == {"ok": 1}
    assert runtime.requests[0].input == {"MessageBody": {"token": runtime.tokens[0]}}
    assert result.types()[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]


async def test_send_task_failure_fails_the_task_with_its_error_and_cause() -> None:
    result, _ = await callback_run({}, lambda rt, token: rt.send_failure(token, "No", "nope"))
    assert (result.outcome.error, result.outcome.cause) == ("No", "nope")


async def test_a_missed_heartbeat_fails_the_task_with_states_timeout_and_no_cause() -> None:
    # AWS records a missed heartbeat as TaskTimedOut / ExecutionFailed "States.Timeout",
    # no cause (LocalStack's test_heartbeats snapshots, recorded against AWS).
    result, runtime = await callback_run({"HeartbeatSeconds": 60, "TimeoutSeconds": 600}, None)
    assert (result.outcome.error, result.outcome.cause) == ("States.Timeout", None)
    assert result.types()[-2:] == ["TaskTimedOut", "ExecutionFailed"]
    assert runtime.clock.elapsed.total_seconds() == 60


@pytest.mark.parametrize("name", ["States.HeartbeatTimeout", "States.Timeout"])
async def test_a_missed_heartbeat_is_caught_as_heartbeat_timeout_or_timeout(name: str) -> None:
    catch = [
        {"ErrorEquals": [name], "ResultPath": "$.error", "Next": "Caught"},
    ]
    result, _ = await callback_run({"HeartbeatSeconds": 60, "Catch": catch}, None)
    assert result.output == {"error": {"Error": "States.Timeout", "Cause": ""}}


async def test_a_task_timeout_is_not_caught_as_heartbeat_timeout() -> None:
    catch = [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Caught"}]
    result, _ = await callback_run({"TimeoutSeconds": 60, "Catch": catch}, None)
    assert result.error == ("States.Timeout", None)


async def test_callback_without_answer_fails_states_timeout() -> None:
    result, runtime = await callback_run({"TimeoutSeconds": 300}, None)
    assert result.outcome.error == "States.Timeout"
    assert runtime.clock.elapsed.total_seconds() == 300
