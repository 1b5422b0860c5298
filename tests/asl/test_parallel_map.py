"""Parallel and Map (inline and distributed), as on AWS."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asl.kit import run, single

from landlord_workflow._asl import TaskFailure

pytestmark = pytest.mark.asyncio


def branch(state: dict[str, Any]) -> dict[str, Any]:
    body = dict(state)
    if body["Type"] not in ("Succeed", "Fail", "Choice"):
        body["End"] = True
    return {"StartAt": "B", "States": {"B": body}}


def processor(state: dict[str, Any], **config: Any) -> dict[str, Any]:
    machine = branch(state)
    if config:
        machine["ProcessorConfig"] = config
    return machine


async def test_parallel_outputs_each_branch_result_in_order() -> None:
    definition = single(
        {
            "Type": "Parallel",
            "Branches": [
                branch({"Type": "Pass", "Result": 1}),
                branch({"Type": "Pass", "InputPath": "$.x"}),
            ],
        }
    )
    result = await run(definition, {"x": "in"})
    assert result.output == [1, "in"]
    assert result.types()[2:3] == ["ParallelStateStarted"]
    assert "ParallelStateSucceeded" in result.types()


async def test_a_failing_branch_fails_the_parallel_and_cancels_its_siblings() -> None:
    cancelled = asyncio.Event()

    async def slow(value: Any) -> Any:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    async def boom(value: Any) -> Any:
        await asyncio.sleep(0)
        raise TaskFailure("Boom", "branch broke")

    definition = {
        "StartAt": "S",
        "States": {
            "S": {
                "Type": "Parallel",
                "Branches": [
                    branch({"Type": "Task", "Resource": "slow"}),
                    branch({"Type": "Task", "Resource": "boom"}),
                ],
                "Catch": [{"ErrorEquals": ["Boom"], "Next": "S2"}],
                "Next": "S2",
            },
            "S2": {"Type": "Pass", "End": True},
        },
    }
    result = await run(definition, {}, handlers={"slow": slow, "boom": boom})
    assert result.output == {"Error": "Boom", "Cause": "branch broke"}
    assert cancelled.is_set()
    assert "ParallelStateFailed" in result.types()


async def test_inline_map_runs_the_processor_per_item_with_item_selector_context() -> None:
    definition = single(
        {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {
                "index.$": "$$.Map.Item.Index",
                "value.$": "$$.Map.Item.Value",
                "shared.$": "$.shared",
            },
            "ItemProcessor": processor({"Type": "Pass"}),
        }
    )
    result = await run(definition, {"items": ["a", "b"], "shared": 1})
    assert result.output == [
        {"index": 0, "value": "a", "shared": 1},
        {"index": 1, "value": "b", "shared": 1},
    ]
    assert result.types().count("MapIterationSucceeded") == 2


async def test_max_concurrency_bounds_running_iterations() -> None:
    running = 0
    peak = 0

    async def work(value: Any) -> Any:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        running -= 1
        return value

    definition = single(
        {
            "Type": "Map",
            "MaxConcurrency": 2,
            "ItemProcessor": processor({"Type": "Task", "Resource": "w"}),
        }
    )
    result = await run(definition, [1, 2, 3, 4, 5], handlers={"w": work})
    assert result.output == [1, 2, 3, 4, 5]
    assert peak == 2


async def test_an_iteration_failure_fails_the_map_with_that_error() -> None:
    definition = single(
        {"Type": "Map", "ItemProcessor": processor({"Type": "Fail", "Error": "Bad"})}
    )
    result = await run(definition, [1])
    assert result.error[0] == "Bad"
    assert result.types()[-3:] == ["MapIterationFailed", "MapStateFailed", "ExecutionFailed"]


async def test_map_input_must_be_an_array() -> None:
    result = await run(single({"Type": "Map", "ItemProcessor": processor({"Type": "Pass"})}), {})
    assert result.error[0] == "States.Runtime"
    assert (result.error[1] or "").endswith("Map state input must be an array but was: {}")


async def test_distributed_map_runs_children_and_tolerates_failures() -> None:
    async def check(item: Any) -> Any:
        if item["Items"][0] < 0:
            raise TaskFailure("Negative")
        return sum(item["Items"])

    definition = single(
        {
            "Type": "Map",
            "ItemProcessor": processor(
                {"Type": "Task", "Resource": "check"},
                Mode="DISTRIBUTED",
                ExecutionType="EXPRESS",
            ),
            "ItemBatcher": {"MaxItemsPerBatch": 2},
            "ToleratedFailureCount": 1,
        }
    )
    result = await run(definition, [1, 2, -3, 4], handlers={"check": check})
    assert result.output == [3, {"Error": "Negative", "Cause": None}]
    assert len(result.runtime.children) == 2
    assert "MapRunStarted" in result.types()


async def test_distributed_map_over_the_threshold_fails() -> None:
    definition = single(
        {
            "Type": "Map",
            "ItemProcessor": processor(
                {"Type": "Fail", "Error": "E"}, Mode="DISTRIBUTED", ExecutionType="STANDARD"
            ),
            "ToleratedFailurePercentage": 10,
        }
    )
    result = await run(definition, [1, 2])
    assert result.error == (
        "States.ExceedToleratedFailureThreshold",
        "The specified tolerated failure threshold was exceeded",
    )


async def test_item_reader_items_come_from_the_runtime_reader() -> None:
    definition = single(
        {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"MaxItems": 2},
            },
            "ItemProcessor": processor(
                {"Type": "Pass"}, Mode="DISTRIBUTED", ExecutionType="EXPRESS"
            ),
        }
    )
    result = await run(definition, {}, items={"arn:aws:states:::s3:getObject": [1, 2, 3]})
    assert result.output == [1, 2]


@pytest.mark.parametrize("kind", ["Parallel", "Map"])
async def test_a_retried_parallel_or_map_runs_again_and_records_no_task_retried(kind: str) -> None:
    # AWS records the retry of a Parallel or Map as its branches started again
    # (ParallelStateStarted / MapStateStarted), never a Task's retry.
    failing = branch({"Type": "Fail", "Error": "Flaky", "Cause": "again"})
    body: dict[str, Any] = (
        {"Type": "Parallel", "Branches": [failing]}
        if kind == "Parallel"
        else {"Type": "Map", "ItemProcessor": failing}
    )
    retry = [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 1}]
    result = await run(single({**body, "Retry": retry}), [1])
    assert result.error == ("Flaky", "again")
    assert result.types().count(f"{kind}StateStarted") == 2
    assert result.types().count("FailStateEntered") == 2
    assert result.of_type("TaskRetried") == []
