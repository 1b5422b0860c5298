"""Redrive from a checkpoint, the history as AWS records it, and the core's purity."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from asl.kit import KitRuntime, chain, run, run_machine, single

from landlord_workflow._asl import TaskFailure


def counting(fail_first: int) -> Any:
    calls = {"n": 0}

    async def handler(value: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= fail_first:
            raise TaskFailure("NotYet")
        return calls["n"]

    handler.calls = calls  # type: ignore[attr-defined]
    return handler


@pytest.mark.asyncio
async def test_redrive_resumes_at_the_failed_state_without_rerunning_succeeded_ones() -> None:
    first = counting(0)
    flaky = counting(1)
    runtime = KitRuntime(handlers={"first": first, "flaky": flaky})
    definition = chain(
        ("A", {"Type": "Task", "Resource": "first", "ResultPath": "$.a"}),
        ("V", {"Type": "Pass", "Assign": {"seen.$": "$.a"}}),
        ("B", {"Type": "Task", "Resource": "flaky", "ResultPath": "$.b"}),
        ("C", {"Type": "Pass", "Parameters": {"a.$": "$.a", "b.$": "$.b", "v.$": "$seen"}}),
    )
    failed = await run_machine(definition, {}, runtime=runtime)
    assert failed.outcome.error == "NotYet"
    checkpoint = failed.outcome.checkpoint
    assert checkpoint is not None
    redriven = await run_machine(
        definition, {}, runtime=runtime, checkpoint=checkpoint, redrive_count=1
    )
    assert redriven.outcome.output == {"a": 1, "b": 2, "v": 1}
    assert first.calls["n"] == 1
    assert redriven.events[0].type == "ExecutionRedriven"
    assert redriven.events[0].id == failed.events[-1].id + 1


@pytest.mark.asyncio
async def test_redrive_of_a_map_reruns_only_the_failed_iterations() -> None:
    attempts: dict[int, int] = {}

    async def work(item: Any) -> Any:
        attempts[item] = attempts.get(item, 0) + 1
        if item == 2 and attempts[item] == 1:
            raise TaskFailure("Once")
        return item * 10

    runtime = KitRuntime(handlers={"w": work})
    definition = single(
        {
            "Type": "Map",
            "MaxConcurrency": 1,
            "ItemProcessor": {
                "StartAt": "W",
                "States": {"W": {"Type": "Task", "Resource": "w", "End": True}},
            },
        }
    )
    failed = await run_machine(definition, [1, 2, 3], runtime=runtime)
    assert failed.outcome.error == "Once"
    redriven = await run_machine(
        definition,
        [1, 2, 3],
        runtime=runtime,
        checkpoint=failed.outcome.checkpoint,
        redrive_count=1,
    )
    assert redriven.outcome.output == [10, 20, 30]
    assert attempts == {1: 1, 2: 2, 3: 1}


@pytest.mark.asyncio
async def test_a_task_records_the_events_aws_records() -> None:
    async def echo(value: Any) -> Any:
        return value

    result = await run(single({"Type": "Task", "Resource": "f"}), {}, handlers={"f": echo})
    assert result.types() == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert [event.id for event in result.events] == list(range(1, 8))


@pytest.mark.asyncio
async def test_the_history_limit_fails_an_execution_at_25000_events() -> None:
    loop = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "End"}],
                "Default": "A",
            },
            "End": {"Type": "Succeed"},
        },
    }
    result = await run(loop, {})
    assert result.error[0] == "States.Runtime"
    assert result.events[-1].id == 25_000
    assert result.events[-1].type == "ExecutionFailed"


CORE = Path(__file__).parents[2] / "landlord_workflow" / "_asl"
FORBIDDEN = {"asyncio", "anyio", "time", "random", "uuid", "threading", "trio"}


@pytest.mark.parametrize("module", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_the_core_imports_no_event_loop_clock_or_randomness(module: Path) -> None:
    tree = ast.parse(module.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN
    assert "datetime.now" not in module.read_text()
