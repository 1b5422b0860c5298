"""User code only ever gets copies of an execution's data, and the clocks' sleep is a coroutine.

A task handler's context object, an ItemReader's input and a ResultWriter's
results are private copies: changing them in place changes nothing in the
execution (its data, ``$$.Execution.Input``, and the payload limit, which
the engine checks on size bounds it keeps for the data it owns).
"""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest

from landlord_workflow import ExecutionInput, ExecutionState, ExecutionStatus, WorkflowSpec
from landlord_workflow._asl._values import payload_size
from landlord_workflow.providers.mock import MockProvider, RealClock, TaskContext, VirtualClock

pytestmark = pytest.mark.asyncio

LIMIT = 1_000
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:grow"


async def _run(definition: dict[str, Any], **provider_args: Any) -> ExecutionStatus:
    clock = VirtualClock(datetime(2024, 1, 1, tzinfo=UTC))
    async with MockProvider(clock=clock, max_payload_bytes=LIMIT, **provider_args) as provider:
        await provider.create_workflow(
            WorkflowSpec(workflow_id="wf", provider_type="mock", name="wf", definition=definition)
        )
        started = await provider.start_execution(
            "wf", ExecutionInput(input={"a": 1}, execution_name="e")
        )
        while True:
            status = await provider.get_execution_status(started.execution_id)
            if status.state.is_terminal:
                return status
            await clock.sleep(1)


@pytest.mark.parametrize(
    ("after", "output"),
    [
        # $$.Execution.Input still reads the input the execution started with.
        (
            {"Type": "Pass", "Parameters": {"data.$": "$", "input.$": "$$.Execution.Input"}},
            {"data": {"a": 1}, "input": {"a": 1}},
        ),
        # The next output is within the limit (the engine's size bound holds).
        ({"Type": "Pass", "Result": 1, "ResultPath": "$.k"}, {"a": 1, "k": 1}),
    ],
    ids=["context-input", "payload-limit"],
)
async def test_a_handler_changing_its_context_object_changes_nothing_in_the_execution(
    after: dict[str, Any], output: Any
) -> None:
    async def grow(task_input: Any, context: TaskContext) -> Any:
        context.context_object["Execution"]["Input"]["pad"] = "x" * 2_000  # type: ignore[index]
        return {}

    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": LAMBDA, "ResultPath": None, "Next": "P"},
            "P": {**after, "End": True},
        },
    }
    status = await _run(definition, task_handlers={"grow": grow})

    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == output
    assert payload_size(status.output) <= LIMIT


async def test_an_item_reader_changing_its_input_changes_nothing_in_the_execution() -> None:
    async def reader(state: str, item_reader: Any, data: Any) -> list[Any]:
        data["pad"] = "x" * 2_000
        return [1, 2]

    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "Parameters": {"Bucket": "b", "Key": "k"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "I",
                    "States": {"I": {"Type": "Pass", "End": True}},
                },
                "ResultPath": "$.items",
                "Next": "P",
            },
            "P": {"Type": "Pass", "Result": 1, "ResultPath": "$.k", "End": True},
        },
    }
    status = await _run(definition, item_reader=reader)

    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == {"a": 1, "items": [1, 2], "k": 1}


@pytest.mark.parametrize("clock", [RealClock(), VirtualClock()], ids=["real", "virtual"])
async def test_clock_sleep_is_a_coroutine_function_for_any_duration(
    clock: RealClock | VirtualClock,
) -> None:
    assert inspect.iscoroutinefunction(clock.sleep)
    async with anyio.create_task_group() as group:
        group.start_soon(clock.sleep, 0)
        group.start_soon(clock.sleep, -1)
    await asyncio.create_task(clock.sleep(0))
