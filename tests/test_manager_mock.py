"""Waiting, watching, run and redrive through the Manager on the mock engine."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from conftest import make_spec

from landlord_workflow import (
    ExecutionFailedError,
    ExecutionInput,
    ExecutionResult,
    ExecutionState,
    InvalidSpecError,
    Manager,
    MetricsCollector,
    OperationTimeoutError,
    Registry,
    RetryPolicy,
)
from landlord_workflow.providers.mock import MockProvider, TaskFailure, VirtualClock
from landlord_workflow.testing import fast_call_policy

pytestmark = pytest.mark.asyncio

STEPS = ("ProvisionCompute", "ConfigureNetworking", "InitializeDatabase", "RunMigrations")


def provisioning_definition(*, retry_migrations: bool = False) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for index, step in enumerate(STEPS):
        state: dict[str, Any] = {"Type": "Task", "Resource": step, "ResultPath": f"$.{step}"}
        if index + 1 < len(STEPS):
            state["Next"] = STEPS[index + 1]
        else:
            state["End"] = True
        states[step] = state
    if retry_migrations:
        states["RunMigrations"]["Retry"] = [
            {"ErrorEquals": ["MigrationLocked"], "IntervalSeconds": 1, "MaxAttempts": 2}
        ]
    return {"StartAt": STEPS[0], "States": states}


class Steps:
    """Counting handlers; ``failures[step]`` makes that step fail that many times."""

    def __init__(self, **failures: int) -> None:
        self.calls: Counter[str] = Counter()
        self.failures = Counter(failures)

    def handlers(self) -> dict[str, Any]:
        def make(step: str) -> Any:
            async def handler(data: Any) -> Any:
                self.calls[step] += 1
                if self.failures[step] > 0:
                    self.failures[step] -= 1
                    raise TaskFailure("MigrationLocked", f"{step} could not run")
                return {"done": step, "tenant": data["tenant"]}

            return handler

        return {step: make(step) for step in STEPS}


def manager_for(provider: MockProvider) -> tuple[Manager, MetricsCollector]:
    registry = Registry()
    registry.register(provider)
    metrics = MetricsCollector()
    manager = Manager(
        registry, default_provider="mock", call_policy=fast_call_policy(), hooks=[metrics]
    )
    return manager, metrics


async def test_four_step_provisioning_succeeds_with_output_and_ordered_history() -> None:
    steps = Steps()
    manager, metrics = manager_for(MockProvider(task_handlers=steps.handlers()))
    async with manager:
        await manager.create_workflow(make_spec(provisioning_definition()))
        started = await manager.start_execution(
            "tenant-provisioning", ExecutionInput(input={"tenant": "t-1"})
        )
        final = await manager.wait_for_completion(started.execution_id)
        assert final.state is ExecutionState.SUCCEEDED
        assert final.output == {
            "tenant": "t-1",
            **{step: {"done": step, "tenant": "t-1"} for step in STEPS},
        }
        detailed = await manager.get_execution_status(started.execution_id, include_history=True)
    entered = [e.details["state"] for e in detailed.history if e.type == "StateEntered"]
    assert entered == list(STEPS)
    assert detailed.history[0].type == "ExecutionStarted"
    assert detailed.history[-1].type == "ExecutionSucceeded"
    assert steps.calls == Counter(dict.fromkeys(STEPS, 1))
    # waiting used the push-based watch: no status polling calls were made
    assert metrics.calls[("get_execution_status", "mock")] == 1  # the history read above
    assert metrics.executions[("tenant-provisioning", ExecutionState.SUCCEEDED)] == 1


async def test_task_retry_rule_recovers_and_history_shows_task_retried() -> None:
    steps = Steps(RunMigrations=1)
    clock = VirtualClock()
    manager, _ = manager_for(MockProvider(task_handlers=steps.handlers(), clock=clock))
    async with manager:
        await manager.create_workflow(make_spec(provisioning_definition(retry_migrations=True)))
        final = await manager.run("tenant-provisioning", ExecutionInput(input={"tenant": "t"}))
        detailed = await manager.get_execution_status(final.execution_id, include_history=True)
    assert final.state is ExecutionState.SUCCEEDED
    retried = [e for e in detailed.history if e.type == "TaskRetried"]
    assert [e.details["state"] for e in retried] == ["RunMigrations"]
    assert steps.calls["RunMigrations"] == 2


async def test_failure_without_retry_names_the_failed_state() -> None:
    steps = Steps(InitializeDatabase=1)
    manager, _ = manager_for(MockProvider(task_handlers=steps.handlers()))
    async with manager:
        await manager.create_workflow(make_spec(provisioning_definition()))
        with pytest.raises(ExecutionFailedError) as info:
            await manager.run("tenant-provisioning", ExecutionInput(input={"tenant": "t"}))
    status = info.value.status
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.code == "MigrationLocked"
    assert status.error.failed_at == "InitializeDatabase"
    assert status.output is None
    assert steps.calls["RunMigrations"] == 0


async def test_run_redrives_and_earlier_states_run_exactly_once() -> None:
    steps = Steps(RunMigrations=1)
    manager, metrics = manager_for(MockProvider(task_handlers=steps.handlers()))
    retry = RetryPolicy(max_attempts=2, initial_interval=timedelta(milliseconds=1))
    async with manager:
        await manager.create_workflow(make_spec(provisioning_definition(), retry_policy=retry))
        final = await manager.run(
            "tenant-provisioning", ExecutionInput(input={"tenant": "t"}, execution_name="t-run")
        )
        detailed = await manager.get_execution_status(final.execution_id, include_history=True)
    assert final.state is ExecutionState.SUCCEEDED
    assert steps.calls == Counter(
        {
            "ProvisionCompute": 1,
            "ConfigureNetworking": 1,
            "InitializeDatabase": 1,
            "RunMigrations": 2,
        }
    )
    assert final.metadata["redrive_count"] == 1
    assert sum(e.type == "ExecutionRedriven" for e in detailed.history) == 1
    assert metrics.calls[("redrive_execution", "mock")] == 1
    assert metrics.executions[("tenant-provisioning", ExecutionState.FAILED)] == 1
    assert metrics.executions[("tenant-provisioning", ExecutionState.SUCCEEDED)] == 1


async def test_an_hour_of_waiting_times_out_at_thirty_minutes_in_well_under_a_second() -> None:
    clock = VirtualClock()
    manager, _ = manager_for(MockProvider(clock=clock))
    definition = {
        "StartAt": "WaitForCapacity",
        "States": {"WaitForCapacity": {"Type": "Wait", "Seconds": 3600, "End": True}},
    }
    began = time.perf_counter()
    async with manager:
        await manager.create_workflow(make_spec(definition, timeout=timedelta(minutes=30)))
        with pytest.raises(ExecutionFailedError) as info:
            await manager.run("tenant-provisioning")
    wall = time.perf_counter() - began
    status = info.value.status
    assert status.state is ExecutionState.TIMED_OUT
    assert status.stop_time is not None
    assert status.stop_time - status.start_time == timedelta(minutes=30)
    assert wall < 1.0, f"simulated 30 minutes took {wall:.2f}s of wall time"


async def test_wait_timeout_leaves_the_execution_running() -> None:
    provider = MockProvider()
    manager, _ = manager_for(provider)
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    async with manager:
        await manager.create_workflow(make_spec(definition))
        started = await manager.start_execution("tenant-provisioning")
        with pytest.raises(OperationTimeoutError):
            await manager.wait_for_completion(
                started.execution_id, timeout=timedelta(milliseconds=20)
            )
        status = await manager.get_execution_status(started.execution_id)
        assert status.state is ExecutionState.RUNNING
        await manager.stop_execution(started.execution_id, "test over")


async def test_watch_through_the_manager_yields_states_until_terminal() -> None:
    manager, _ = manager_for(MockProvider(task_handlers=Steps().handlers()))
    async with manager:
        await manager.create_workflow(make_spec(provisioning_definition()))
        started = await manager.start_execution(
            "tenant-provisioning", ExecutionInput(input={"tenant": "t"})
        )
        seen = [status async for status in manager.watch(started.execution_id)]
    assert seen[-1].state is ExecutionState.SUCCEEDED
    assert all(not status.state.is_terminal for status in seen[:-1])


async def test_invalid_asl_is_refused_before_anything_runs() -> None:
    provider = MockProvider()
    manager, metrics = manager_for(provider)
    definition = {
        "StartAt": "FanOut",
        "States": {"FanOut": {"Type": "Parallel", "Branches": [], "End": True}},
    }
    async with manager:
        with pytest.raises(InvalidSpecError) as info:
            await manager.create_workflow(make_spec(definition))
    assert [field for field, _ in info.value.problems] == ["definition.States.FanOut.Branches"]
    assert metrics.calls[("create_workflow", "mock")] == 0
    assert provider.faults.calls("create_workflow") == 0


async def test_a_thousand_concurrent_executions_complete_and_leave_no_task() -> None:
    steps = Steps()
    provider = MockProvider(task_handlers=steps.handlers())
    manager, metrics = manager_for(provider)
    async with manager:
        await manager.create_workflow(make_spec(provisioning_definition()))

        async def one(n: int) -> ExecutionState:
            result = await manager.start_execution(
                "tenant-provisioning", ExecutionInput(input={"tenant": f"t-{n}"})
            )
            return (await manager.wait_for_completion(result.execution_id)).state

        states = await asyncio.gather(*(one(n) for n in range(1000)))
    assert Counter(states) == {ExecutionState.SUCCEEDED: 1000}
    assert steps.calls == Counter(dict.fromkeys(STEPS, 1000))
    assert metrics.calls[("start_execution", "mock")] == 1000
    current = asyncio.current_task()
    leftovers = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert leftovers == []


async def test_run_reports_each_attempt_before_waiting_for_it() -> None:
    steps = Steps(RunMigrations=1)
    manager, _ = manager_for(MockProvider(task_handlers=steps.handlers()))
    retry = RetryPolicy(max_attempts=3, initial_interval=timedelta(milliseconds=1))
    seen: list[tuple[str, int, ExecutionState]] = []

    async def on_attempt(started: ExecutionResult, attempt: int) -> None:
        status = await manager.get_execution_status(started.execution_id)
        seen.append((started.execution_id, attempt, status.state))

    async with manager:
        await manager.create_workflow(make_spec(provisioning_definition(), retry_policy=retry))
        final = await manager.run(
            "tenant-provisioning",
            ExecutionInput(input={"tenant": "t"}, execution_name="t-cb"),
            on_attempt=on_attempt,
        )
    assert final.state is ExecutionState.SUCCEEDED
    assert [(eid, n) for eid, n, _ in seen] == [
        ("mock:tenant-provisioning:t-cb", 1),
        ("mock:tenant-provisioning:t-cb", 2),
    ]
    assert all(state is ExecutionState.RUNNING for _, _, state in seen), seen
