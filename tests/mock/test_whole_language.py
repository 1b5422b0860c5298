"""The mock runs the whole language: callbacks, children, Parallel/Map redrive, seeds.

The ASL constructs themselves are specified in ``tests/asl``; these tests
cover what the mock adds around the core (task tokens, child executions on
the provider, redrive, reproducible randomness, how errors are reported).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from landlord_workflow import ExecutionInput, ExecutionState, TaskTokenError
from landlord_workflow.providers.mock import NO_ERROR_CODE, TaskContext, TaskFailure

pytestmark = pytest.mark.asyncio

CALLBACK = {
    "StartAt": "Approve",
    "States": {
        "Approve": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
            "HeartbeatSeconds": 600,
            "TimeoutSeconds": 3600,
            "End": True,
        }
    },
}


async def start(provider: Any, make_spec: Any, definition: Any, data: Any = None) -> str:
    await provider.create_workflow(make_spec(definition))
    result = await provider.start_execution("wf", ExecutionInput(input=data or {}))
    return result.execution_id


def token_catcher() -> tuple[dict[str, Any], list[str]]:
    tokens: list[str] = []

    async def send(message: Any) -> Any:
        tokens.append(message["MessageBody"]["token"])
        return {"MessageId": "m"}

    return {"sqs:sendMessage": send}, tokens


async def wait_for(tokens: list[str]) -> str:
    while not tokens:
        await asyncio.sleep(0)
    return tokens[0]


async def test_a_callback_task_waits_for_send_task_success(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    handlers, tokens = token_catcher()
    provider = make_provider(task_handlers=handlers)
    execution_id = await start(provider, make_spec, CALLBACK)
    token = await wait_for(tokens)
    await provider.send_task_heartbeat(token)
    await provider.send_task_success(token, {"approved": True})
    status = await finish(provider, execution_id)
    assert status.output == {"approved": True}
    with pytest.raises(TaskTokenError):
        await provider.send_task_success(token, {})


async def test_send_task_failure_fails_the_task_with_its_error(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    handlers, tokens = token_catcher()
    provider = make_provider(task_handlers=handlers)
    execution_id = await start(provider, make_spec, CALLBACK)
    await provider.send_task_failure(await wait_for(tokens), "Rejected", "not today")
    status = await finish(provider, execution_id)
    assert (status.error.code, status.error.cause) == ("Rejected", "not today")


async def test_a_callback_without_heartbeat_times_out_and_its_token_closes(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    handlers, tokens = token_catcher()
    provider = make_provider(task_handlers=handlers)
    execution_id = await start(provider, make_spec, CALLBACK)
    token = await wait_for(tokens)
    status = await finish(provider, execution_id)
    assert (status.error.code, status.error.cause) == ("States.Timeout", None)
    with pytest.raises(TaskTokenError):
        await provider.send_task_heartbeat(token)


async def test_unknown_tokens_are_refused(make_provider: Any) -> None:
    provider = make_provider()
    with pytest.raises(TaskTokenError):
        await provider.send_task_failure("nope", "E")


async def test_a_handler_sees_its_task_context(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    seen: list[TaskContext] = []

    async def handler(value: Any, context: TaskContext) -> Any:
        seen.append(context)
        return value

    provider = make_provider(task_handlers={"Work": handler})
    definition = {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": "r", "End": True}},
    }
    execution_id = await start(provider, make_spec, definition)
    await finish(provider, execution_id)
    assert (seen[0].state_name, seen[0].execution_id) == ("Work", execution_id)


async def test_nested_start_execution_runs_a_child_on_the_same_provider(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    await provider.create_workflow(
        make_spec(
            {"StartAt": "C", "States": {"C": {"Type": "Pass", "Result": "child", "End": True}}},
            workflow_id="child",
        )
    )
    parent = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {
                    "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child",
                    "Name": "kid",
                },
                "OutputPath": "$.Output",
                "End": True,
            }
        },
    }
    execution_id = await start(provider, make_spec, parent)
    status = await finish(provider, execution_id)
    assert status.output == "child"
    child = await provider.get_execution_status("mock:child:kid")
    assert child.state is ExecutionState.SUCCEEDED


async def test_redrive_of_a_parallel_reruns_only_the_failed_branch(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    calls = {"ok": 0, "flaky": 0}

    async def ok(value: Any) -> Any:
        calls["ok"] += 1
        return "ok"

    async def flaky(value: Any) -> Any:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise TaskFailure("Flaky")
        return "flaky"

    def branch(resource: str) -> dict[str, Any]:
        return {
            "StartAt": "T",
            "States": {"T": {"Type": "Task", "Resource": resource, "End": True}},
        }

    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Branches": [branch("ok"), branch("flaky")], "End": True}
        },
    }
    provider = make_provider(task_handlers={"ok": ok, "flaky": flaky})
    execution_id = await start(provider, make_spec, definition)
    assert (await finish(provider, execution_id)).state is ExecutionState.FAILED
    await provider.redrive_execution(execution_id)
    status = await finish(provider, execution_id)
    assert status.output == ["ok", "flaky"]
    assert calls == {"ok": 1, "flaky": 2}


async def test_random_intrinsics_are_reproducible_with_a_seed(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    definition = {
        "StartAt": "R",
        "States": {"R": {"Type": "Pass", "Parameters": {"id.$": "States.UUID()"}, "End": True}},
    }
    outputs = []
    for _ in range(2):
        provider = make_provider(random_seed=5)
        await provider.create_workflow(make_spec(definition))
        result = await provider.start_execution(
            "wf", ExecutionInput(input={}, execution_name="same")
        )
        outputs.append((await finish(provider, result.execution_id)).output)
    assert outputs[0] == outputs[1]


async def test_a_fail_state_without_error_reports_the_empty_error_code(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    execution_id = await start(
        provider, make_spec, {"StartAt": "F", "States": {"F": {"Type": "Fail"}}}
    )
    status = await finish(provider, execution_id)
    assert (status.error.code, status.error.cause, status.error.failed_at) == (
        NO_ERROR_CODE,
        None,
        "F",
    )


async def test_history_keeps_the_contract_events_with_aws_raw_types(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    async def fail(value: Any) -> Any:
        raise TaskFailure("E", "c")

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "f",
                "End": True,
                "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1}],
            }
        },
    }
    provider = make_provider(task_handlers={"f": fail})
    status = await finish(provider, await start(provider, make_spec, definition))
    kinds = [(event.type, event.details["raw_type"]) for event in status.history]
    assert kinds == [
        ("ExecutionStarted", "ExecutionStarted"),
        ("StateEntered", "TaskStateEntered"),
        ("TaskFailed", "TaskFailed"),
        ("TaskRetried", "TaskRetried"),
        ("TaskFailed", "TaskFailed"),
        ("ExecutionFailed", "ExecutionFailed"),
    ]
