"""The Manager on Temporal: run with the workflow's RetryPolicy (by redrive,
completed activities never re-run), watch, stop and list."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import anyio
import pytest
import pytest_asyncio
from temporal import workflows
from temporal.faults import faulty_client
from temporal.support import native_spec

from landlord_workflow import (
    ExecutionFailedError,
    ExecutionInput,
    ExecutionState,
    ExecutionStatus,
    Manager,
    Registry,
    RetryPolicy,
    WorkflowError,
)
from landlord_workflow.providers.mock import Faults, MockProvider
from landlord_workflow.providers.temporal import TemporalProvider
from landlord_workflow.testing import LocalTemporal, fast_call_policy, fast_poll_policy

pytestmark = [pytest.mark.asyncio, pytest.mark.temporal]


@pytest_asyncio.fixture
async def manager(local_temporal: LocalTemporal, native_worker: str) -> AsyncIterator[Manager]:
    registry = Registry()
    registry.register(local_temporal.provider())
    async with Manager(
        registry,
        default_provider="temporal",
        call_policy=fast_call_policy(),
        poll_policy=fast_poll_policy(),
    ) as manager:
        yield manager


async def test_run_retries_by_redrive_without_rerunning_completed_activities(
    manager: Manager,
) -> None:
    flaky = native_spec(
        "PrepareThenFlaky",
        retry_policy=RetryPolicy(max_attempts=3, initial_interval=timedelta(milliseconds=10)),
    )
    await manager.create_workflow(flaky)
    name = f"run-{uuid.uuid4().hex[:8]}"
    temporal_id = f"{flaky.workflow_id}/{name}"
    workflows.FLAKY_FAILURES_LEFT[temporal_id] = 2
    with anyio.fail_after(30):
        status = await manager.run(
            flaky.workflow_id, ExecutionInput(input={"tenant": "t"}, execution_name=name)
        )
    assert status.state is ExecutionState.SUCCEEDED
    assert status.execution_id == f"temporal:default:{temporal_id}", "redriven, not restarted"
    assert workflows.CALLS[("Prepare", temporal_id)] == 1
    assert workflows.CALLS[("Flaky", temporal_id)] == 3


async def test_run_reports_the_failure_once_attempts_are_spent(manager: Manager) -> None:
    failing = native_spec("ConformanceFail", retry_policy=RetryPolicy(max_attempts=2))
    await manager.create_workflow(failing)
    with anyio.fail_after(30), pytest.raises(ExecutionFailedError) as raised:
        await manager.run(failing.workflow_id, ExecutionInput(input={}))
    error = raised.value.status.error
    assert error is not None
    assert (error.code, error.failed_at) == ("Tenant.Broken", "Explode")


async def test_watch_stop_and_list_through_the_manager(manager: Manager) -> None:
    slow = native_spec("ConformanceSlow")
    await manager.create_workflow(slow)
    started = await manager.start_execution(slow.workflow_id, ExecutionInput(input={}))
    states: list[ExecutionState] = []
    with anyio.fail_after(15):
        async for status in manager.watch(started.execution_id):
            states.append(status.state)
            if status.state is ExecutionState.RUNNING:
                await manager.stop_execution(started.execution_id, "operator")
    assert states == [ExecutionState.RUNNING, ExecutionState.CANCELLED]
    final = await manager.wait_for_completion(started.execution_id)
    assert final.error is not None
    assert final.error.message == "operator"


async def test_a_new_manager_in_a_fresh_process_runs_watches_stops_and_lists_by_id_alone(
    local_temporal: LocalTemporal, native_worker: str
) -> None:
    """Manager B shares nothing with Manager A but the engine: it finds the
    provider from the ids, and run honours the RetryPolicy stored in Temporal."""
    flaky = native_spec(
        "PrepareThenFlaky",
        retry_policy=RetryPolicy(max_attempts=2, initial_interval=timedelta(milliseconds=10)),
    )
    slow = native_spec("ConformanceSlow")
    registry_a = Registry()
    registry_a.register(local_temporal.provider())
    async with Manager(registry_a, call_policy=fast_call_policy()) as manager_a:
        await manager_a.create_workflow(flaky)
        await manager_a.create_workflow(slow)
        running = await manager_a.start_execution(
            slow.workflow_id, ExecutionInput(input={"n": 1}), provider_type="temporal"
        )

    registry_b = Registry()
    registry_b.register(MockProvider())  # another engine, so nothing is "the only one"
    registry_b.register(local_temporal.provider())
    async with Manager(registry_b, call_policy=fast_call_policy()) as manager_b:
        assert (await manager_b.get_execution_status(running.execution_id)).input == {"n": 1}
        listed = [s.execution_id async for s in manager_b.list_executions(slow.workflow_id)]
        assert listed == [running.execution_id]
        await manager_b.stop_execution(running.execution_id, "from manager B")
        with anyio.fail_after(15):
            final = await manager_b.wait_for_completion(running.execution_id)
        assert final.state is ExecutionState.CANCELLED

        name = f"run-{uuid.uuid4().hex[:8]}"
        temporal_id = f"{flaky.workflow_id}/{name}"
        workflows.FLAKY_FAILURES_LEFT[temporal_id] = 1
        with anyio.fail_after(30):
            status = await manager_b.run(
                flaky.workflow_id, ExecutionInput(input={}, execution_name=name)
            )
    assert status.state is ExecutionState.SUCCEEDED, "B retried under A's RetryPolicy"
    assert workflows.CALLS[("Prepare", temporal_id)] == 1


async def test_a_transient_fault_while_waiting_does_not_end_the_wait(
    local_temporal: LocalTemporal, native_worker: str
) -> None:
    plan = Faults()
    client, _ = await faulty_client(local_temporal, plan=plan)
    async with TemporalProvider(client=client) as provider:
        registry = Registry()
        registry.register(provider)
        manager = Manager(registry, call_policy=fast_call_policy())
        spec = native_spec("ConformanceSlow")
        await manager.create_workflow(spec)
        started = await manager.start_execution(spec.workflow_id, ExecutionInput(input={}))
        finals: list[ExecutionStatus] = []
        failures: list[WorkflowError] = []

        async def wait() -> None:
            try:
                finals.append(await manager.wait_for_completion(started.execution_id))
            except WorkflowError as exc:
                failures.append(exc)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(wait)
            with anyio.fail_after(15):
                while plan.calls("get_execution_status") < 1:  # the watch's first status
                    await anyio.sleep(0.01)
            plan.unavailable("get_execution_status", times=1)  # the status after the change
            async with local_temporal.provider() as other:
                await other.stop_execution(started.execution_id, "tenant deleted")
    assert plan.injected("get_execution_status") == 1
    assert failures == [], "the wait ended on the transient fault"
    assert [final.state for final in finals] == [ExecutionState.CANCELLED]
