"""The Manager drives ASL executions on Temporal as it drives them on the mock.

run applies the workflow's RetryPolicy by redrive (completed Tasks never run
again); watch, stop and list; callbacks through ``Manager.send_task_*``; a
fresh Manager acts on executions another one started; RPC faults
(throttled, unavailable, answers lost after the server acted) are retried
into exactly one execution, one redrive, one delivered answer; and every
call honours cancellation while its RPC hangs. The session's ASL worker
(``asl_worker``) runs the definitions; the Managers' providers host none.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import anyio
import pytest
import pytest_asyncio
from temporal.asl_handlers import APPROVAL, CALLS, FAILURES_LEFT, tokens_of
from temporal.faults import FaultyService, faulty_client
from temporalio.service import RPCStatusCode

from landlord_workflow import (
    ExecutionInput,
    ExecutionResult,
    ExecutionState,
    Manager,
    Registry,
    RetryPolicy,
    WorkflowSpec,
)
from landlord_workflow.errors import TaskTokenError
from landlord_workflow.providers.mock import MockProvider
from landlord_workflow.providers.temporal import TemporalProvider
from landlord_workflow.testing import fast_call_policy, fast_poll_policy
from landlord_workflow.testing._temporal import LocalTemporal

pytestmark = [pytest.mark.asyncio, pytest.mark.temporal]

PREPARE_FLAKY_FINISH = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Task", "Resource": "prepare", "ResultPath": "$.p", "Next": "Flaky"},
        "Flaky": {"Type": "Task", "Resource": "flaky", "ResultPath": "$.f", "Next": "Finish"},
        "Finish": {"Type": "Task", "Resource": "finish", "ResultPath": "$.done", "End": True},
    },
}
HANG = {"StartAt": "Hang", "States": {"Hang": {"Type": "Task", "Resource": "hang", "End": True}}}


def spec(definition: dict[str, Any], **fields: Any) -> WorkflowSpec:
    return WorkflowSpec(
        workflow_id=f"asl-{uuid.uuid4().hex[:12]}",
        provider_type="temporal",
        name="ASL through the Manager",
        definition=definition,
        **fields,
    )


def manager_for(*providers: Any) -> Manager:
    registry = Registry()
    for provider in providers:
        registry.register(provider)
    return Manager(
        registry,
        default_provider="temporal",
        call_policy=fast_call_policy(),
        poll_policy=fast_poll_policy(),
    )


@pytest_asyncio.fixture
async def manager(local_temporal: LocalTemporal, asl_worker: str) -> AsyncIterator[Manager]:
    async with manager_for(local_temporal.provider(task_queue=asl_worker)) as manager:
        yield manager


@pytest_asyncio.fixture
async def faulty(
    local_temporal: LocalTemporal, asl_worker: str
) -> AsyncIterator[tuple[Manager, FaultyService]]:
    client, service = await faulty_client(local_temporal)
    async with manager_for(TemporalProvider(client=client, task_queue=asl_worker)) as manager:
        yield manager, service


async def test_run_retries_by_redrive_and_completed_tasks_never_run_again(
    manager: Manager,
) -> None:
    flaky = spec(
        PREPARE_FLAKY_FINISH,
        retry_policy=RetryPolicy(max_attempts=3, initial_interval=timedelta(milliseconds=10)),
    )
    await manager.create_workflow(flaky)
    name = f"run-{uuid.uuid4().hex[:8]}"
    FAILURES_LEFT[name] = 2
    with anyio.fail_after(30):
        status = await manager.run(
            flaky.workflow_id, ExecutionInput(input={"tenant": "t"}, execution_name=name)
        )
    assert status.state is ExecutionState.SUCCEEDED
    assert status.execution_id == f"temporal:default:{flaky.workflow_id}/{name}"
    assert status.output == {
        "tenant": "t",
        "p": {"tenant": "t", "prepared": True},
        "f": "done",
        "done": {"ok": True},
    }
    assert (CALLS[("prepare", name)], CALLS[("flaky", name)], CALLS[("finish", name)]) == (1, 3, 1)
    assert status.metadata["redrive_count"] == 2


async def test_watch_stop_and_list_an_asl_execution(manager: Manager) -> None:
    hanging = spec(HANG)
    await manager.create_workflow(hanging)
    started = await manager.start_execution(hanging.workflow_id, ExecutionInput(input={}))
    states: list[ExecutionState] = []
    with anyio.fail_after(15):
        async for status in manager.watch(started.execution_id):
            states.append(status.state)
            if status.state is ExecutionState.RUNNING:
                await manager.stop_execution(started.execution_id, "operator")
    assert states == [ExecutionState.RUNNING, ExecutionState.CANCELLED]
    final = await manager.get_execution_status(started.execution_id, include_history=True)
    assert final.error is not None
    assert final.error.message == "operator"
    assert final.history[-1].type == "ExecutionCancelled"
    with anyio.fail_after(15):
        while True:
            listed = [s.execution_id async for s in manager.list_executions(hanging.workflow_id)]
            if listed == [started.execution_id]:
                break
            await anyio.sleep(0.05)


async def test_callbacks_go_through_the_manager_and_a_fresh_manager_acts_on_executions(
    local_temporal: LocalTemporal, asl_worker: str
) -> None:
    """Manager A starts two approvals; Manager B, which shares nothing with A but the
    engine (and has a mock too), answers them, reads their histories and stops one."""
    approval = spec(APPROVAL)
    async with manager_for(local_temporal.provider(task_queue=asl_worker)) as manager_a:
        await manager_a.create_workflow(approval)
        approved = await manager_a.start_execution(
            approval.workflow_id, ExecutionInput(input={"n": 1}, execution_name="approved")
        )
        refused = await manager_a.start_execution(
            approval.workflow_id, ExecutionInput(input={"n": 2}, execution_name="refused")
        )
        (token,) = await tokens_of("approved")
        (other,) = await tokens_of("refused")

    provider_b = local_temporal.provider(task_queue=asl_worker)
    async with manager_for(MockProvider(), provider_b) as manager_b:
        await manager_b.send_task_heartbeat(token, provider_type="temporal")
        await manager_b.send_task_success(token, {"ok": True}, provider_type="temporal")
        await manager_b.send_task_failure(other, "Refused", "no", provider_type="temporal")
        with anyio.fail_after(15):
            done = await manager_b.wait_for_completion(approved.execution_id)
            failed = await manager_b.wait_for_completion(refused.execution_id)
        assert (done.state, done.output) == (ExecutionState.SUCCEEDED, {"ok": True})
        assert failed.error is not None
        assert (failed.error.code, failed.error.cause) == ("Refused", "no")
        with pytest.raises(TaskTokenError):
            await manager_b.send_task_success(token, {"ok": True}, provider_type="temporal")
        history = await manager_b.get_execution_status(approved.execution_id, include_history=True)
        assert [e.details.get("state") for e in history.history if e.type == "StateEntered"] == [
            "Approve"
        ]


async def test_throttled_unavailable_and_lost_starts_make_exactly_one_execution(
    faulty: tuple[Manager, FaultyService],
) -> None:
    manager, service = faulty
    hanging = spec(HANG)
    await manager.create_workflow(hanging)
    service.fail("start_workflow_execution", RPCStatusCode.RESOURCE_EXHAUSTED, times=1)
    first = await manager.start_execution(hanging.workflow_id, ExecutionInput(input={"n": 1}))
    service.fail("start_workflow_execution", RPCStatusCode.UNAVAILABLE, times=1)
    service.lose_answer("start_workflow_execution", times=1)
    second = await manager.start_execution(hanging.workflow_id, ExecutionInput(input={"n": 2}))
    assert service.calls["start_workflow_execution"] == 2 + 3
    with anyio.fail_after(15):
        while True:
            listed = {s.execution_id async for s in manager.list_executions(hanging.workflow_id)}
            if listed == {first.execution_id, second.execution_id}:
                break
            await anyio.sleep(0.05)
    for execution_id in (first.execution_id, second.execution_id):
        await manager.stop_execution(execution_id, "done")


async def start_approval(manager: Manager) -> tuple[ExecutionResult, str, str]:
    """Create the approval workflow and start one execution: (result, name, its task token)."""
    approval = spec(APPROVAL)
    await manager.create_workflow(approval)
    name = f"run-{uuid.uuid4().hex[:8]}"
    started = await manager.start_execution(
        approval.workflow_id, ExecutionInput(input={}, execution_name=name)
    )
    (token,) = await tokens_of(name)
    return started, name, token


async def test_a_lost_callback_answer_is_delivered_once_and_a_lost_redrive_made_once(
    faulty: tuple[Manager, FaultyService],
) -> None:
    manager, service = faulty
    started, name, token = await start_approval(manager)
    service.lose_answer("signal_workflow_execution", times=1)
    await manager.send_task_failure(token, "Tenant.NotReady", "later")
    assert service.calls["signal_workflow_execution"] == 2
    with anyio.fail_after(15):
        failed = await manager.wait_for_completion(started.execution_id)
    assert failed.state is ExecutionState.FAILED

    service.lose_answer("start_workflow_execution", times=1)
    before = service.calls["start_workflow_execution"]
    redriven = await manager.redrive_execution(started.execution_id)
    assert redriven.message == "redriven by an earlier attempt whose answer was lost"
    assert service.calls["start_workflow_execution"] - before == 1, "one new run, not two"
    (_, again) = await tokens_of(name, count=2)
    await manager.send_task_success(again, "approved")
    with anyio.fail_after(15):
        final = await manager.wait_for_completion(started.execution_id)
    assert (final.state, final.output) == (ExecutionState.SUCCEEDED, "approved")
    assert final.metadata["redrive_count"] == 1


async def test_every_asl_call_honours_cancellation_while_its_rpc_hangs(
    faulty: tuple[Manager, FaultyService],
) -> None:
    manager, service = faulty
    started, _, token = await start_approval(manager)
    execution_id = started.execution_id
    calls = {
        "send_task_success": lambda: manager.send_task_success(token, {}),
        "send_task_failure": lambda: manager.send_task_failure(token, "E"),
        "send_task_heartbeat": lambda: manager.send_task_heartbeat(token),
        "status_with_history": lambda: manager.get_execution_status(
            execution_id, include_history=True
        ),
        "start_execution": lambda: manager.start_execution(
            started.workflow_id, ExecutionInput(input={})
        ),
        "redrive_execution": lambda: manager.redrive_execution(execution_id),
    }
    service.hang_everything()
    for operation, call in calls.items():
        with anyio.fail_after(5):
            with anyio.move_on_after(0.05) as scope:
                await call()
        assert scope.cancelled_caught, operation
    service.hang_nothing()
    await manager.send_task_success(token, "still waiting")
    with anyio.fail_after(15):
        final = await manager.wait_for_completion(execution_id)
    assert final.output == "still waiting"
