"""TemporalProvider on a real dev server: what the conformance suite does not cover.

Definitions live in Temporal (a fresh provider, even another process, reads
them), redrive resumes without re-running completed activities, stop carries
its reason, the spec's timeout ends executions ``timed_out``, errors map onto
the error tree, no call is retried inside the provider, and every call honours
cancellation. Faults through the Manager (lost answers, throttling, latency,
storms) are the fault matrix's, run on every engine: ``reliability/test_faults.py``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import anyio
import pytest
import pytest_asyncio
from conftest import make_spec
from temporal import workflows
from temporal.faults import FaultyService, faulty_client
from temporal.support import native, native_spec
from temporalio.service import RPCError, RPCStatusCode

from landlord_workflow import (
    ExecutionInput,
    ExecutionState,
    RetryPolicy,
)
from landlord_workflow._types import CANCELLED_ERROR_CODE
from landlord_workflow.errors import (
    ExecutionNotFoundError,
    InvalidSpecError,
    ProviderError,
    ProviderUnavailableError,
    ThrottledError,
    WorkflowNotFoundError,
)
from landlord_workflow.providers.temporal import TemporalProvider
from landlord_workflow.testing._conformance import wait_until_terminal
from landlord_workflow.testing._temporal import LocalTemporal

pytestmark = [pytest.mark.asyncio, pytest.mark.temporal]


@pytest_asyncio.fixture
async def provider(local_temporal: LocalTemporal, native_worker: str) -> AsyncIterator[Any]:
    async with local_temporal.provider() as provider:
        yield provider


@pytest_asyncio.fixture
async def faulty(
    local_temporal: LocalTemporal, native_worker: str
) -> AsyncIterator[tuple[TemporalProvider, FaultyService]]:
    client, service = await faulty_client(local_temporal)
    async with TemporalProvider(client=client) as provider:
        yield provider, service


# -- definitions live in Temporal ------------------------------------------------------------


async def test_a_fresh_provider_reads_every_spec_field_back_from_temporal(
    provider: TemporalProvider, local_temporal: LocalTemporal
) -> None:
    spec = native_spec(
        description="creates the tenant's database",
        timeout=timedelta(minutes=30),
        retry_policy=RetryPolicy(
            max_attempts=3, backoff_rate=1.5, initial_interval=timedelta(seconds=2)
        ),
        tags={"team": "platform", "tier": "gold"},
    )
    await provider.create_workflow(spec)
    async with local_temporal.provider() as fresh:
        assert await fresh.get_workflow(spec.workflow_id) == spec


async def test_create_updates_a_changed_spec_in_place_and_keeps_its_creation_time(
    provider: TemporalProvider, local_temporal: LocalTemporal
) -> None:
    spec = native_spec()
    first = await provider.create_workflow(spec)
    changed = native_spec(
        "ConformanceFail", workflow_id=spec.workflow_id, description="now it fails"
    )
    updated = await provider.create_workflow(changed)
    assert updated.created_at == first.created_at
    assert updated.resource_ids == first.resource_ids
    assert updated.message == "updated"
    async with local_temporal.provider() as fresh:
        assert await fresh.get_workflow(spec.workflow_id) == changed


async def test_unknown_and_deleted_workflows_are_not_found(provider: TemporalProvider) -> None:
    spec = native_spec()
    await provider.create_workflow(spec)
    await provider.delete_workflow(spec.workflow_id)
    for workflow_id in (spec.workflow_id, "never-created", "Not A Valid Id"):
        with pytest.raises(WorkflowNotFoundError):
            await provider.get_workflow(workflow_id)


async def test_a_deleted_workflow_can_be_created_again(provider: TemporalProvider) -> None:
    spec = native_spec()
    await provider.create_workflow(spec)
    await provider.delete_workflow(spec.workflow_id)
    again = await provider.create_workflow(spec)
    assert again.message == "created"
    assert await provider.get_workflow(spec.workflow_id) == spec


async def test_list_workflows_shows_created_ones_and_not_deleted_ones(
    provider: TemporalProvider,
) -> None:
    kept, deleted = native_spec(), native_spec()
    await provider.create_workflow(kept)
    await provider.create_workflow(deleted)
    await provider.delete_workflow(deleted.workflow_id)
    with anyio.fail_after(15):
        while True:  # visibility catches up a moment after a change
            listed = {spec.workflow_id: spec async for spec in provider.list_workflows()}
            if kept.workflow_id in listed and deleted.workflow_id not in listed:
                break
            await anyio.sleep(0.05)
    assert listed[kept.workflow_id] == kept


SECOND_PROCESS = textwrap.dedent(
    """
    import asyncio, json, sys
    from landlord_workflow import ExecutionInput
    from landlord_workflow.providers.temporal import TemporalProvider

    async def main(target, workflow_id):
        async with TemporalProvider(target_host=target) as provider:
            spec = await provider.get_workflow(workflow_id)
            listed = [s.workflow_id async for s in provider.list_workflows()]
            started = await provider.start_execution(
                workflow_id, ExecutionInput(input={"tenant": "t-2"}, execution_name="other")
            )
            print(json.dumps({
                "name": spec.name,
                "retries": spec.retry_policy.max_attempts,
                "listed": workflow_id in listed,
                "execution_id": started.execution_id,
                "hosts_worker": provider.hosts_worker,
            }))

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_another_process_with_only_the_provider_reads_lists_and_starts_by_id(
    provider: TemporalProvider, local_temporal: LocalTemporal
) -> None:
    spec = native_spec(retry_policy=RetryPolicy(max_attempts=4))
    await provider.create_workflow(spec)
    with anyio.fail_after(30):
        while True:  # let visibility list it first, so the other process can
            if spec.workflow_id in [s.workflow_id async for s in provider.list_workflows()]:
                break
            await anyio.sleep(0.05)
        completed = await anyio.run_process(
            [sys.executable, "-c", SECOND_PROCESS, local_temporal.target, spec.workflow_id],
            check=False,
        )
    assert completed.returncode == 0, completed.stderr.decode()
    seen = json.loads(completed.stdout)
    assert seen["name"] == spec.name
    assert seen["retries"] == 4
    assert seen["listed"] is True
    assert seen["hosts_worker"] is False
    status = await wait_until_terminal(provider, seen["execution_id"])
    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == {"tenant": "t-2", "result": {"ok": True}}


# -- executions -------------------------------------------------------------------------------


async def test_a_fresh_provider_acts_on_executions_another_one_started(
    provider: TemporalProvider, local_temporal: LocalTemporal
) -> None:
    slow = native_spec("ConformanceSlow")
    await provider.create_workflow(slow)
    started = await provider.start_execution(
        slow.workflow_id, ExecutionInput(input={"tenant": "t-3"}, execution_name="tenant-3")
    )
    async with local_temporal.provider() as fresh:
        assert fresh.owns_execution(started.execution_id)
        status = await fresh.get_execution_status(started.execution_id)
        assert status.state is ExecutionState.RUNNING
        assert status.input == {"tenant": "t-3"}
        listed = [s.execution_id async for s in fresh.list_executions(slow.workflow_id)]
        assert listed == [started.execution_id]
        await fresh.stop_execution(started.execution_id, "from another provider")
        final = await wait_until_terminal(fresh, started.execution_id)
    assert final.state is ExecutionState.CANCELLED


async def test_execution_ids_name_namespace_workflow_and_execution(
    provider: TemporalProvider,
) -> None:
    spec = native_spec()
    await provider.create_workflow(spec)
    started = await provider.start_execution(
        spec.workflow_id, ExecutionInput(input={}, execution_name="tenant-1")
    )
    assert started.execution_id == f"temporal:default:{spec.workflow_id}/tenant-1"
    status = await wait_until_terminal(provider, started.execution_id)
    assert status.metadata["temporal_workflow_id"] == f"{spec.workflow_id}/tenant-1"
    assert status.metadata["workflow_type"] == "ConformanceSucceed"


async def test_the_same_name_in_two_workflows_names_two_executions(
    provider: TemporalProvider,
) -> None:
    first, second = native_spec(), native_spec()
    for spec in (first, second):
        await provider.create_workflow(spec)
    ids = {
        (
            await provider.start_execution(
                spec.workflow_id, ExecutionInput(input={}, execution_name="tenant-7")
            )
        ).execution_id
        for spec in (first, second)
    }
    assert len(ids) == 2


async def test_stop_ends_cancelled_with_the_reason(provider: TemporalProvider) -> None:
    spec = native_spec("ConformanceSlow")
    await provider.create_workflow(spec)
    started = await provider.start_execution(spec.workflow_id, ExecutionInput(input={}))
    await provider.stop_execution(started.execution_id, "tenant offboarded")
    status = await wait_until_terminal(provider, started.execution_id)
    assert status.state is ExecutionState.CANCELLED
    assert status.error is not None
    assert status.error.code == CANCELLED_ERROR_CODE
    assert status.error.message == "tenant offboarded"
    with_history = await provider.get_execution_status(started.execution_id, include_history=True)
    assert with_history.error == status.error
    assert with_history.history[-1].type == "ExecutionCancelled"


async def test_the_spec_timeout_ends_the_execution_timed_out(provider: TemporalProvider) -> None:
    spec = native_spec("ConformanceSlow", timeout=timedelta(seconds=1))
    await provider.create_workflow(spec)
    started = await provider.start_execution(spec.workflow_id, ExecutionInput(input={}))
    status = await wait_until_terminal(provider, started.execution_id)
    assert status.state is ExecutionState.TIMED_OUT
    assert status.error is not None
    assert status.error.code == "States.Timeout"
    assert status.output is None
    history = await provider.get_execution_status(started.execution_id, include_history=True)
    assert history.history[-1].type == "ExecutionTimedOut"


async def test_an_execution_terminated_outside_landlord_is_cancelled_with_the_reason(
    provider: TemporalProvider, local_temporal: LocalTemporal
) -> None:
    spec = native_spec("ConformanceSlow")
    await provider.create_workflow(spec)
    started = await provider.start_execution(spec.workflow_id, ExecutionInput(input={}))
    client = await local_temporal.connect()
    temporal_id = str(
        (await provider.get_execution_status(started.execution_id)).metadata["temporal_workflow_id"]
    )
    await client.get_workflow_handle(temporal_id).terminate(reason="operator in the UI")
    status = await wait_until_terminal(provider, started.execution_id)
    assert status.state is ExecutionState.CANCELLED
    assert status.error is not None
    assert (status.error.code, status.error.message) == ("Terminated", "operator in the UI")


async def test_redrive_resumes_at_the_failed_step_without_rerunning_completed_activities(
    provider: TemporalProvider,
) -> None:
    spec = native_spec("PrepareThenFlaky")
    await provider.create_workflow(spec)
    name = f"flaky-{uuid.uuid4().hex[:8]}"
    temporal_id = f"{spec.workflow_id}/{name}"
    workflows.FLAKY_FAILURES_LEFT[temporal_id] = 1
    started = await provider.start_execution(
        spec.workflow_id, ExecutionInput(input={"tenant": "t-5"}, execution_name=name)
    )
    failed = await wait_until_terminal(provider, started.execution_id)
    assert failed.state is ExecutionState.FAILED
    assert failed.error is not None
    assert (failed.error.code, failed.error.failed_at) == ("Tenant.NotReady", "Flaky")

    redriven = await provider.redrive_execution(started.execution_id)
    assert redriven.execution_id == started.execution_id
    final = await wait_until_terminal(provider, started.execution_id)
    assert final.state is ExecutionState.SUCCEEDED
    assert final.output == {"tenant": "t-5", "flaky": "done"}
    assert workflows.CALLS[("Prepare", temporal_id)] == 1, "a completed activity never re-runs"
    assert workflows.CALLS[("Flaky", temporal_id)] == 2
    assert workflows.CALLS[("Finish", temporal_id)] == 1
    history = (
        await provider.get_execution_status(started.execution_id, include_history=True)
    ).history
    types = [event.type for event in history]
    assert "ExecutionRedriven" in types
    entered = [e.details["state"] for e in history if e.type == "StateEntered"]
    assert entered == ["Prepare", "Flaky", "Finish"], "the new run keeps the completed steps"
    with pytest.raises(ProviderError, match="succeeded"):
        await provider.redrive_execution(started.execution_id)


async def test_a_stopped_execution_can_be_redriven(provider: TemporalProvider) -> None:
    spec = native_spec("ConformanceSlow")
    await provider.create_workflow(spec)
    started = await provider.start_execution(spec.workflow_id, ExecutionInput(input={"a": 1}))
    with anyio.fail_after(15):  # until its first workflow task started the timer
        while (await provider.get_execution_status(started.execution_id)).metadata[
            "history_length"
        ] < 5:
            await anyio.sleep(0.02)
    await provider.stop_execution(started.execution_id, "pause")
    assert (await wait_until_terminal(provider, started.execution_id)).state is (
        ExecutionState.CANCELLED
    )
    await provider.redrive_execution(started.execution_id)
    status = await provider.get_execution_status(started.execution_id)
    assert status.state is ExecutionState.RUNNING
    assert status.input == {"a": 1}
    await provider.stop_execution(started.execution_id, "done")
    assert (await wait_until_terminal(provider, started.execution_id)).state is (
        ExecutionState.CANCELLED
    )


async def test_a_redrive_whose_answer_was_lost_is_not_done_twice(
    faulty: tuple[TemporalProvider, FaultyService],
) -> None:
    provider, service = faulty
    spec = native_spec("PrepareThenFlaky")
    await provider.create_workflow(spec)
    name = f"flaky-{uuid.uuid4().hex[:8]}"
    temporal_id = f"{spec.workflow_id}/{name}"
    workflows.FLAKY_FAILURES_LEFT[temporal_id] = 1
    started = await provider.start_execution(
        spec.workflow_id, ExecutionInput(input={}, execution_name=name)
    )
    assert (await wait_until_terminal(provider, started.execution_id)).state is (
        ExecutionState.FAILED
    )
    service.lose_answer("reset_workflow_execution")
    with pytest.raises(ProviderUnavailableError):
        await provider.redrive_execution(started.execution_id)
    again = await provider.redrive_execution(started.execution_id)
    assert again.message == "redriven by an earlier attempt whose answer was lost"
    assert service.calls["reset_workflow_execution"] == 1
    assert (await wait_until_terminal(provider, started.execution_id)).state is (
        ExecutionState.SUCCEEDED
    )
    assert workflows.CALLS[("Flaky", temporal_id)] == 2


async def test_list_executions_shows_a_redriven_execution_once_in_its_current_state(
    provider: TemporalProvider,
) -> None:
    spec = native_spec("PrepareThenFlaky")
    await provider.create_workflow(spec)
    name = f"flaky-{uuid.uuid4().hex[:8]}"
    workflows.FLAKY_FAILURES_LEFT[f"{spec.workflow_id}/{name}"] = 1
    started = await provider.start_execution(
        spec.workflow_id, ExecutionInput(input={}, execution_name=name)
    )
    await wait_until_terminal(provider, started.execution_id)
    await provider.redrive_execution(started.execution_id)
    await wait_until_terminal(provider, started.execution_id)

    async def listed(state: ExecutionState | None = None) -> list[tuple[str, ExecutionState]]:
        return [
            (s.execution_id, s.state)
            async for s in provider.list_executions(spec.workflow_id, state=state)
        ]

    with anyio.fail_after(15):
        while await listed(ExecutionState.SUCCEEDED) != [
            (started.execution_id, ExecutionState.SUCCEEDED)
        ]:
            await anyio.sleep(0.05)
    assert await listed() == [(started.execution_id, ExecutionState.SUCCEEDED)]
    assert await listed(ExecutionState.FAILED) == []


# -- errors, retries, cancellation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (RPCStatusCode.RESOURCE_EXHAUSTED, ThrottledError),
        (RPCStatusCode.UNAVAILABLE, ProviderUnavailableError),
        (RPCStatusCode.DEADLINE_EXCEEDED, ProviderUnavailableError),
        (RPCStatusCode.NOT_FOUND, ExecutionNotFoundError),
        (RPCStatusCode.INVALID_ARGUMENT, InvalidSpecError),
        (RPCStatusCode.PERMISSION_DENIED, ProviderError),
    ],
)
async def test_rpc_errors_map_onto_the_error_tree_chained_and_are_sent_once(
    faulty: tuple[TemporalProvider, FaultyService],
    status: RPCStatusCode,
    error: type[Exception],
) -> None:
    provider, service = faulty
    spec = native_spec("ConformanceSlow")
    await provider.create_workflow(spec)
    started = await provider.start_execution(spec.workflow_id, ExecutionInput(input={}))
    service.fail("describe_workflow_execution", status)
    before = service.calls["describe_workflow_execution"]
    with pytest.raises(error) as raised:
        await provider.get_execution_status(started.execution_id)
    assert isinstance(raised.value.__cause__, RPCError)
    assert raised.value.__cause__.status is status
    assert service.calls["describe_workflow_execution"] == before + 1, "no hidden retries"
    assert service.retry_flags == {False}, "temporalio's own retries are off for every call"
    await provider.stop_execution(started.execution_id, "done")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_server_is_unavailable() -> None:
    provider = TemporalProvider(target_host=f"127.0.0.1:{closed_port()}")
    with pytest.raises(ProviderUnavailableError) as raised:
        await provider.get_workflow("any-workflow")
    assert raised.value.__cause__ is not None
    await provider.aclose()
    with pytest.raises(ProviderError, match="closed"):
        await provider.get_workflow("any-workflow")


async def test_every_call_honours_cancellation_while_its_rpc_hangs(
    faulty: tuple[TemporalProvider, FaultyService],
) -> None:
    provider, service = faulty
    spec = native_spec("ConformanceSlow")
    await provider.create_workflow(spec)
    running = await provider.start_execution(spec.workflow_id, ExecutionInput(input={}))
    execution_id = running.execution_id

    async def drain(listing: AsyncIterator[Any]) -> None:
        async for _ in listing:
            pass

    calls = {
        "create_workflow": lambda: provider.create_workflow(native_spec()),
        "get_workflow": lambda: provider.get_workflow(spec.workflow_id),
        "list_workflows": lambda: drain(provider.list_workflows()),
        "delete_workflow": lambda: provider.delete_workflow(spec.workflow_id),
        "start_execution": lambda: provider.start_execution(
            spec.workflow_id, ExecutionInput(input={})
        ),
        "get_execution_status": lambda: provider.get_execution_status(execution_id),
        "stop_execution": lambda: provider.stop_execution(execution_id, "cancelled call"),
        "redrive_execution": lambda: provider.redrive_execution(execution_id),
        "list_executions": lambda: drain(provider.list_executions(spec.workflow_id)),
        "watch_execution": lambda: drain(provider.watch_execution(execution_id)),
    }
    service.hang_everything()
    for operation, call in calls.items():
        with anyio.fail_after(5):
            with anyio.move_on_after(0.05) as scope:
                await call()
        assert scope.cancelled_caught, operation
    service.hang_nothing()
    await provider.stop_execution(execution_id, "done")


async def test_a_watch_waiting_on_its_long_poll_is_cancelled_promptly(
    provider: TemporalProvider,
) -> None:
    spec = native_spec("ConformanceSlow")
    await provider.create_workflow(spec)
    running = await provider.start_execution(spec.workflow_id, ExecutionInput(input={}))
    seen: list[ExecutionState] = []
    with anyio.fail_after(5):
        with anyio.move_on_after(0.5) as scope:
            async for status in provider.watch_execution(running.execution_id):
                seen.append(status.state)
    assert scope.cancelled_caught
    assert seen == [ExecutionState.RUNNING]
    await provider.stop_execution(running.execution_id, "done")


async def test_watch_follows_a_stop_sent_by_another_provider(
    provider: TemporalProvider, local_temporal: LocalTemporal
) -> None:
    spec = native_spec("ConformanceSlow")
    await provider.create_workflow(spec)
    running = await provider.start_execution(spec.workflow_id, ExecutionInput(input={}))
    states: list[ExecutionState] = []
    with anyio.fail_after(15):
        async for status in provider.watch_execution(running.execution_id):
            states.append(status.state)
            if status.state is ExecutionState.RUNNING:
                async with local_temporal.provider() as other:
                    await other.stop_execution(running.execution_id, "elsewhere")
    assert states == [ExecutionState.RUNNING, ExecutionState.CANCELLED]


# -- the worker model -----------------------------------------------------------------------------


async def test_a_provider_given_nothing_to_host_never_polls(
    local_temporal: LocalTemporal,
) -> None:
    async with local_temporal.provider() as provider:
        await provider.create_workflow(native_spec())
        assert not provider.hosts_worker
        assert not [t for t in asyncio.all_tasks() if "temporal-worker" in t.get_name()]


async def test_a_provider_hosts_a_worker_for_what_it_is_given_and_stops_it_on_close(
    local_temporal: LocalTemporal,
) -> None:
    task_queue = f"hosted-{uuid.uuid4().hex[:8]}"
    spec = make_spec(
        native("ConformanceSucceed", task_queue),
        workflow_id=f"wf-{uuid.uuid4().hex[:12]}",
        provider_type="temporal",
    )
    provider = local_temporal.provider(
        task_queue=task_queue, workflows=[workflows.Succeed], activities=workflows.ACTIVITIES
    )
    async with provider:
        assert provider.hosts_worker
        await provider.create_workflow(spec)
        started = await provider.start_execution(spec.workflow_id, ExecutionInput(input={}))
        status = await wait_until_terminal(provider, started.execution_id)
        assert status.state is ExecutionState.SUCCEEDED
    assert not [t for t in asyncio.all_tasks() if "temporal-worker" in t.get_name()]


async def test_connecting_to_a_server_that_never_answers_times_out_as_unavailable() -> None:
    with socket.socket() as silent:  # accepts connections, never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        provider = TemporalProvider(
            target_host=f"127.0.0.1:{port}", rpc_timeout=timedelta(milliseconds=200)
        )
        with anyio.fail_after(10), pytest.raises(ProviderUnavailableError, match="timed out"):
            await provider.get_workflow("any-workflow")
        await provider.aclose()
