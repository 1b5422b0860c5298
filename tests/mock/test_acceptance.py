"""Tenant provisioning on the mock engine, at the provider level, runs as AWS would run it."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from landlord_workflow import (
    ExecutionInput,
    ExecutionState,
)
from landlord_workflow.providers.mock import MockProvider, TaskFailure, VirtualClock

pytestmark = pytest.mark.asyncio

STEPS = ["ProvisionCompute", "ConfigureNetworking", "InitializeDatabase", "RunMigrations"]


def provisioning(retry_database: bool = False) -> dict[str, Any]:
    """compute -> networking -> database -> migrations, each result under its own key."""
    states: dict[str, Any] = {}
    keys = ["compute", "network", "database", "migrations"]
    for index, (step, key) in enumerate(zip(STEPS, keys, strict=True)):
        state: dict[str, Any] = {"Type": "Task", "Resource": step, "ResultPath": f"$.{key}"}
        if index + 1 < len(STEPS):
            state["Next"] = STEPS[index + 1]
        else:
            state["End"] = True
        states[step] = state
    if retry_database:
        states["InitializeDatabase"]["Retry"] = [
            {"ErrorEquals": ["DatabaseNotReady"], "IntervalSeconds": 2, "MaxAttempts": 2}
        ]
    return {"StartAt": STEPS[0], "States": states}


class Handlers:
    """Task handlers that count their calls; the database can fail the first N times."""

    def __init__(self, database_failures: int = 0) -> None:
        self.calls: Counter[str] = Counter()
        self.database_failures = database_failures

    def table(self) -> dict[str, Any]:
        async def compute(data: Any) -> Any:
            self.calls["ProvisionCompute"] += 1
            return {"instance": f"i-{data['tenant']}"}

        async def network(data: Any) -> Any:
            self.calls["ConfigureNetworking"] += 1
            return {"vpc": "vpc-1", "instance": data["compute"]["instance"]}

        async def database(data: Any) -> Any:
            self.calls["InitializeDatabase"] += 1
            if self.calls["InitializeDatabase"] <= self.database_failures:
                raise TaskFailure("DatabaseNotReady", "the cluster is still booting")
            return {"dsn": f"postgres://{data['tenant']}"}

        async def migrations(data: Any) -> Any:
            self.calls["RunMigrations"] += 1
            return {"applied": 12}

        return {
            "ProvisionCompute": compute,
            "ConfigureNetworking": network,
            "InitializeDatabase": database,
            "RunMigrations": migrations,
        }


EXPECTED_OUTPUT = {
    "tenant": "acme",
    "compute": {"instance": "i-acme"},
    "network": {"vpc": "vpc-1", "instance": "i-acme"},
    "database": {"dsn": "postgres://acme"},
    "migrations": {"applied": 12},
}


async def test_four_step_provisioning_succeeds_with_output_and_ordered_history(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    handlers = Handlers()
    provider = make_provider(task_handlers=handlers.table())
    await provider.create_workflow(make_spec(provisioning()))
    result = await provider.start_execution("wf", ExecutionInput(input={"tenant": "acme"}))
    status = await finish(provider, result.execution_id)

    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == EXPECTED_OUTPUT
    assert status.error is None
    entered = [e.details["state"] for e in status.history if e.type == "StateEntered"]
    exited = [e.details["state"] for e in status.history if e.type == "StateExited"]
    assert entered == STEPS
    assert exited == STEPS
    types = [e.type for e in status.history]
    assert types[0] == "ExecutionStarted"
    assert types[-1] == "ExecutionSucceeded"
    assert {e.details["raw_type"] for e in status.history if e.type == "StateEntered"} == {
        "TaskStateEntered"
    }
    assert all(e.timestamp.tzinfo is not None for e in status.history)


async def test_task_failing_once_with_retry_succeeds_and_shows_task_retried(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    handlers = Handlers(database_failures=1)
    provider = make_provider(task_handlers=handlers.table())
    await provider.create_workflow(make_spec(provisioning(retry_database=True)))
    result = await provider.start_execution("wf", ExecutionInput(input={"tenant": "acme"}))
    status = await finish(provider, result.execution_id)

    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == EXPECTED_OUTPUT
    retried = [e for e in status.history if e.type == "TaskRetried"]
    assert len(retried) == 1
    assert retried[0].details["state"] == "InitializeDatabase"
    failed = [e for e in status.history if e.type == "TaskFailed"]
    assert [e.details["error"] for e in failed] == ["DatabaseNotReady"]
    assert handlers.calls["InitializeDatabase"] == 2
    # the retry waited IntervalSeconds (2 s) of simulated time
    entered = next(e for e in status.history if e.details.get("state") == "InitializeDatabase")
    exited = next(
        e
        for e in status.history
        if e.type == "StateExited" and e.details["state"] == "InitializeDatabase"
    )
    assert exited.timestamp - entered.timestamp == timedelta(seconds=2)


async def test_task_failing_without_retry_fails_with_failed_at_its_state(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    handlers = Handlers(database_failures=1)
    provider = make_provider(task_handlers=handlers.table())
    await provider.create_workflow(make_spec(provisioning()))
    result = await provider.start_execution("wf", ExecutionInput(input={"tenant": "acme"}))
    status = await finish(provider, result.execution_id)

    assert status.state is ExecutionState.FAILED
    assert status.output is None
    assert status.error is not None
    assert status.error.code == "DatabaseNotReady"
    assert status.error.cause == "the cluster is still booting"
    assert status.error.failed_at == "InitializeDatabase"
    assert status.history[-1].type == "ExecutionFailed"
    assert handlers.calls["RunMigrations"] == 0


async def test_redrive_resumes_at_the_failed_state_without_rerunning_earlier_states(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    handlers = Handlers(database_failures=1)
    provider = make_provider(task_handlers=handlers.table())
    await provider.create_workflow(make_spec(provisioning()))
    result = await provider.start_execution("wf", ExecutionInput(input={"tenant": "acme"}))
    failed = await finish(provider, result.execution_id)
    assert failed.state is ExecutionState.FAILED

    redriven = await provider.redrive_execution(result.execution_id)
    assert redriven.execution_id == result.execution_id
    status = await finish(provider, result.execution_id)

    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == EXPECTED_OUTPUT
    assert status.metadata["redrive_count"] == 1
    assert handlers.calls == Counter(
        {
            "ProvisionCompute": 1,
            "ConfigureNetworking": 1,
            "InitializeDatabase": 2,
            "RunMigrations": 1,
        }
    )
    types = [e.type for e in status.history]
    assert types.count("ExecutionRedriven") == 1
    redrive_at = types.index("ExecutionRedriven")
    after = [e.details["state"] for e in status.history[redrive_at:] if e.type == "StateEntered"]
    assert after == ["InitializeDatabase", "RunMigrations"]


async def test_hour_long_wait_with_half_hour_timeout_times_out_in_under_a_second(
    make_provider: Any, make_spec: Any, finish: Any, clock: VirtualClock
) -> None:
    definition = {
        "StartAt": "Provision",
        "States": {
            "Provision": {"Type": "Pass", "Next": "WaitForDns"},
            "WaitForDns": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    provider = make_provider()
    await provider.create_workflow(make_spec(definition, timeout=timedelta(minutes=30)))
    wall = time.perf_counter()
    result = await provider.start_execution("wf", ExecutionInput(input={}))
    status = await finish(provider, result.execution_id)
    elapsed = time.perf_counter() - wall

    assert status.state is ExecutionState.TIMED_OUT
    assert elapsed < 1.0
    assert status.error is not None
    assert status.error.code == "States.Timeout"
    assert status.error.failed_at == "WaitForDns"
    assert status.stop_time is not None
    assert status.stop_time - status.start_time == timedelta(minutes=30)
    assert status.history[-1].type == "ExecutionTimedOut"
    assert status.history[-1].timestamp - status.history[0].timestamp == timedelta(minutes=30)
    assert clock.elapsed >= timedelta(minutes=30)


async def test_thousand_concurrent_executions_complete_and_aclose_leaves_no_task(
    clock: VirtualClock, make_spec: Any
) -> None:
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": "work", "Next": "Pause"},
            "Pause": {"Type": "Wait", "SecondsPath": "$.pause", "End": True},
        },
    }

    async def work(data: Any) -> Any:
        return {"n": data["n"], "pause": data["n"] % 7 * 60}

    before = asyncio.all_tasks()
    provider = MockProvider(task_handlers={"work": work}, clock=clock)
    await provider.create_workflow(make_spec(definition))
    results = await asyncio.gather(
        *(
            provider.start_execution("wf", ExecutionInput(input={"n": n}, execution_name=f"e{n}"))
            for n in range(1000)
        )
    )
    assert len({r.execution_id for r in results}) == 1000

    async def final_state(execution_id: str) -> ExecutionState:
        async for status in provider.watch_execution(execution_id):
            last = status.state
        return last

    states = await asyncio.gather(*(final_state(r.execution_id) for r in results))
    assert set(states) == {ExecutionState.SUCCEEDED}
    # leave some executions running, then close
    await provider.start_execution("wf", ExecutionInput(input={"n": 6}, execution_name="late"))
    await provider.aclose()
    assert asyncio.all_tasks() - before == set()


async def test_a_map_reading_aws_storage_loads_and_fails_where_it_is_reached(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    definition = {
        "StartAt": "Fanout",
        "States": {
            "Fanout": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "Parameters": {"Bucket": "b", "Key": "items.json"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "A",
                    "States": {"A": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    provider = make_provider()
    await provider.validate(make_spec(definition))  # AWS accepts it: so does the mock
    await provider.create_workflow(make_spec(definition))
    started = await provider.start_execution("wf", ExecutionInput(input={}))
    status = await finish(provider, started.execution_id)
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.code == "States.ItemReaderFailed"
    assert status.error.failed_at == "Fanout"
    assert "arn:aws:states:::s3:getObject" in (status.error.cause or "")
