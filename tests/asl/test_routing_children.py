"""Task routing as AWS resolves a Resource, handler contexts, and child executions."""

from __future__ import annotations

from typing import Any

import pytest
from asl.kit import run, single

from landlord_workflow._asl import TaskContext, find_handler, parse_resource

pytestmark = pytest.mark.asyncio

LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:provision"


def named(name: str) -> Any:
    async def handler(value: Any) -> Any:
        return name

    return handler


@pytest.mark.parametrize(
    ("resource", "kind", "service", "action", "pattern"),
    [
        (LAMBDA_ARN, "lambda", "lambda", "invoke", ""),
        ("arn:aws:states:::lambda:invoke", "integration", "lambda", "invoke", ""),
        (
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "integration",
            "sqs",
            "sendMessage",
            "waitForTaskToken",
        ),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            "integration",
            "states",
            "startExecution",
            "sync:2",
        ),
        ("arn:aws:states:::aws-sdk:s3:listBuckets", "integration", "aws-sdk:s3", "listBuckets", ""),
        ("arn:aws:states:us-east-1:123456789012:activity:a", "activity", "activity", "", ""),
        ("provision", "plain", "", "", ""),
    ],
)
async def test_resources_parse_as_aws_reads_them(
    resource: str, kind: str, service: str, action: str, pattern: str
) -> None:
    parsed = parse_resource(resource)
    assert (parsed.kind, parsed.service, parsed.action, parsed.pattern) == (
        kind,
        service,
        action,
        pattern,
    )


async def test_handlers_resolve_by_state_then_resource_then_function_then_integration() -> None:
    handlers = {
        "Deploy": named("state"),
        "arn:aws:states:::sqs:sendMessage": named("resource"),
        "provision": named("function"),
        "sns:publish": named("integration"),
    }

    def pick(state: str, resource: str, task_input: Any = None) -> Any:
        return find_handler(
            handlers, state=state, resource=parse_resource(resource), task_input=task_input
        )

    assert pick("Deploy", "arn:aws:states:::sqs:sendMessage") is handlers["Deploy"]
    assert (
        pick("Other", "arn:aws:states:::sqs:sendMessage")
        is handlers["arn:aws:states:::sqs:sendMessage"]
    )
    assert pick("Other", LAMBDA_ARN) is handlers["provision"]
    assert (
        pick("Other", "arn:aws:states:::lambda:invoke", {"FunctionName": f"{LAMBDA_ARN}:live"})
        is handlers["provision"]
    )
    assert pick("Other", "arn:aws:states:::sns:publish") is handlers["sns:publish"]
    assert pick("Other", "arn:aws:states:::sns:publish.waitForTaskToken") is handlers["sns:publish"]
    assert pick("Other", "arn:aws:states:::ecs:runTask") is None


async def test_direct_lambda_returns_the_result_and_invoke_returns_aws_shape() -> None:
    async def provision(event: Any) -> Any:
        return {"got": event}

    direct = await run(
        single({"Type": "Task", "Resource": LAMBDA_ARN}),
        {"a": 1},
        handlers={"provision": provision},
    )
    assert direct.output == {"got": {"a": 1}}
    invoke = await run(
        single(
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "provision", "Payload.$": "$"},
            }
        ),
        {"a": 1},
        handlers={"provision": provision},
    )
    output = invoke.output
    assert list(output) == [
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    ]
    assert (output["Payload"], output["StatusCode"]) == ({"got": {"a": 1}}, 200)


async def test_a_handler_may_read_the_task_context() -> None:
    seen: list[TaskContext] = []

    async def handler(value: Any, context: TaskContext) -> Any:
        seen.append(context)
        return value

    await run(single({"Type": "Task", "Resource": "f"}), {}, handlers={"f": handler})
    (context,) = seen
    assert (context.state_name, context.retry_count, context.task_token) == ("S", 0, None)
    assert context.execution_id.endswith(":run")


async def test_handlers_receive_a_private_copy_of_the_input() -> None:
    async def mutate(value: Any) -> Any:
        value["x"] = "changed"
        return 1

    definition = single(
        {"Type": "Task", "Resource": "f", "Parameters": {"x": "kept"}, "ResultPath": "$.r"}
    )
    result = await run(definition, {}, handlers={"f": mutate})
    again = await run(definition, {}, handlers={"f": mutate})
    assert result.output == again.output == {"r": 1}


async def test_start_execution_sync_2_runs_the_child_and_returns_its_output() -> None:
    child = {"StartAt": "C", "States": {"C": {"Type": "Pass", "Result": "child", "End": True}}}
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:child"
    definition = single(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": arn, "Input": {"x": 1}},
        }
    )
    result = await run(definition, {}, machines={arn: child})
    assert result.output == "child"
    assert len(result.runtime.children) == 1


async def test_a_failing_child_fails_the_parent_task() -> None:
    child = {"StartAt": "C", "States": {"C": {"Type": "Fail", "Error": "ChildBroke"}}}
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:child"
    definition = single(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync",
            "Parameters": {"StateMachineArn": arn},
        }
    )
    result = await run(definition, {}, machines={arn: child})
    assert result.error[0] == "ChildBroke"
