"""Cancelling Manager calls at every await point.

On the mock, each Manager call runs as a task that is cancelled after ``k``
event-loop passes, for every ``k`` from 0 until the call finishes on its own
(so every await point of the call is hit), and again with deadlines that
expire inside injected latency. After each cancellation: no leaked task (only
the simulations of running executions remain, and nothing after ``aclose``),
no lingering watcher, and no half-created execution - an execution exists
fully (history starting ``ExecutionStarted``) or not at all, and retrying the
call (a start with the same name) completes it exactly once.

On Step Functions (moto), calls are cancelled with ``anyio.move_on_after``
deadlines from 0 to 50 ms; the provider keeps working, a retried start gives
one execution, and after ``aclose`` no client, HTTP session or task is left.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import anyio
import attrs
import pytest
from conftest import make_spec
from reliability.support import (
    FLAKY,
    GATED,
    PASS,
    SFN,
    cancel_after,
    executions_of,
    manager_for,
    mock_provider,
    named,
    other_tasks,
    settle,
)

from landlord_workflow import (
    ExecutionState,
    Manager,
    ProviderError,
    RetryPolicy,
    WorkflowNotFoundError,
)
from landlord_workflow.providers.mock import MockProvider
from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
from landlord_workflow.testing._moto import LocalStepFunctions

pytestmark = pytest.mark.asyncio

# -- the numbers this module runs with --------------------------------------------------------
MAX_LOOP_PASSES = 400
"""Upper bound of the k-sweep; every call here finishes on its own well before it."""
MIN_CANCELLATION_POINTS = 2
"""Each call must offer at least this many distinct cancellation points."""
LATENCY = 0.02
"""Seconds of injected latency in the deadline sweep on the mock."""
MOCK_DEADLINES = (0.0, 0.001, 0.003, 0.006, 0.01, 0.015)
"""Seconds: move_on_after deadlines around a call with LATENCY injected."""
SFN_DEADLINES = (0.0, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.008, 0.013, 0.02, 0.03, 0.05)
"""Seconds: move_on_after deadlines around each Manager call on moto."""
MOTO_SETTLE = 0.2
"""Seconds given to moto to finish the requests of cancelled callers. Writes that
could race an abandoned request use a new name per deadline: moto's create and
start check-then-insert without a lock, so an immediate repeat of a cancelled
create could add a second machine of the same name (AWS is atomic there)."""
ACCOUNT = "123456789012"
# A backoff of a microsecond: a longer wall-clock sleep would make the number of
# loop passes a run takes depend on the machine's speed.
RUN_RETRIES = RetryPolicy(
    max_attempts=2,
    initial_interval=timedelta(microseconds=1),
    max_interval=timedelta(microseconds=1),
)


@attrs.define
class Case:
    """One Manager call on a fresh mock, with what must hold after cancelling it."""

    setup: Callable[[Manager, MockProvider], Awaitable[str]]
    """Prepares the engine; returns the execution id the call is about (or "")."""
    call: Callable[[Manager, str], Awaitable[Any]]
    check: Callable[[Manager, MockProvider, str], Awaitable[None]]
    """Invariants after the cancellation, then the call retried to completion."""


async def _created(manager: Manager, provider: MockProvider) -> str:
    await manager.create_workflow(make_spec(GATED, workflow_id="wf"))
    return ""


async def _running(manager: Manager, provider: MockProvider) -> str:
    await manager.create_workflow(make_spec(GATED, workflow_id="wf"))
    return (await manager.start_execution("wf", named("run-1"))).execution_id


async def _quick(manager: Manager, provider: MockProvider) -> str:
    await manager.create_workflow(make_spec(FLAKY, workflow_id="wf"))
    provider.task_handlers["flaky"].failures = 0  # type: ignore[attr-defined]
    return (await manager.start_execution("wf", named("run-1"))).execution_id


async def _failed(manager: Manager, provider: MockProvider) -> str:
    await manager.create_workflow(make_spec(FLAKY, workflow_id="wf"))
    execution_id = (await manager.start_execution("wf", named("run-1"))).execution_id
    assert (await manager.wait_for_completion(execution_id)).state is ExecutionState.FAILED
    return execution_id


async def _flaky_with_retries(manager: Manager, provider: MockProvider) -> str:
    await manager.create_workflow(make_spec(FLAKY, workflow_id="wf", retry_policy=RUN_RETRIES))
    return ""


async def _nothing(manager: Manager, provider: MockProvider) -> str:
    return ""


async def assert_whole_executions(provider: MockProvider, workflow_id: str = "wf") -> list[Any]:
    """Every execution the engine holds is complete: it starts with ExecutionStarted."""
    try:
        listed = await executions_of(provider, workflow_id)
    except WorkflowNotFoundError:
        return []
    for status in listed:
        detailed = await provider.get_execution_status(status.execution_id, include_history=True)
        types = [event.type for event in detailed.history]
        assert types[0] == "ExecutionStarted"
        assert types.count("ExecutionStarted") == 1
    return listed


def assert_no_leak(provider: MockProvider) -> None:
    """Only simulations of running executions own tasks; no watcher is left behind."""
    records = provider._executions  # engine internals: the only way to see watchers
    for record in records.values():
        assert not record.watchers, f"a watcher of {record.execution_id} leaked"
    for task in other_tasks():
        name = task.get_name()
        assert name.startswith("landlord-workflow-mock:"), f"leaked task {task!r}"
        execution_id = name.removeprefix("landlord-workflow-mock:")
        assert records[execution_id].state is ExecutionState.RUNNING, f"stale task {name}"


async def _check_create(manager: Manager, provider: MockProvider, _: str) -> None:
    assert "workflows=0" in repr(provider) or "workflows=1" in repr(provider)
    result = await manager.create_workflow(make_spec(GATED, workflow_id="wf"))
    assert result.message in ("created", "unchanged")
    assert await executions_of(provider, "wf") == []


async def _check_start(manager: Manager, provider: MockProvider, _: str) -> None:
    before = await assert_whole_executions(provider)
    assert len(before) <= 1
    retried = await manager.start_execution("wf", named("run-1"))
    after = await assert_whole_executions(provider)
    assert [s.execution_id for s in after] == [retried.execution_id], "exactly one execution"
    await settle()
    assert provider.task_handlers["gate"].calls == 1  # type: ignore[attr-defined]


async def _check_status(manager: Manager, provider: MockProvider, execution_id: str) -> None:
    assert (await manager.get_execution_status(execution_id)).state is ExecutionState.RUNNING
    assert len(await assert_whole_executions(provider)) == 1


async def _check_stop(manager: Manager, provider: MockProvider, execution_id: str) -> None:
    state = (await provider.get_execution_status(execution_id)).state
    assert state in (ExecutionState.RUNNING, ExecutionState.CANCELLED)
    await manager.stop_execution(execution_id, "retried")
    final = await provider.get_execution_status(execution_id, include_history=True)
    assert final.state is ExecutionState.CANCELLED
    assert [e.type for e in final.history].count("ExecutionCancelled") == 1


async def _check_delete(manager: Manager, provider: MockProvider, _: str) -> None:
    await manager.delete_workflow("wf")
    with pytest.raises(WorkflowNotFoundError):
        await executions_of(provider, "wf")


async def _check_wait(manager: Manager, provider: MockProvider, execution_id: str) -> None:
    # Cancelling a wait never stops the execution.
    state = (await provider.get_execution_status(execution_id)).state
    assert state in (ExecutionState.RUNNING, ExecutionState.SUCCEEDED)
    final = await manager.wait_for_completion(execution_id)
    assert final.state is ExecutionState.SUCCEEDED
    assert len(await assert_whole_executions(provider)) == 1


async def _check_redrive(manager: Manager, provider: MockProvider, execution_id: str) -> None:
    status = await provider.get_execution_status(execution_id, include_history=True)
    redriven = [e.type for e in status.history].count("ExecutionRedriven")
    assert redriven == status.metadata["redrive_count"] <= 1, "redriven fully or not at all"
    if redriven == 0:
        assert status.state is ExecutionState.FAILED
        await manager.redrive_execution(execution_id)
    final = await manager.wait_for_completion(execution_id)
    assert final.state is ExecutionState.SUCCEEDED
    assert final.metadata["redrive_count"] == 1
    assert provider.task_handlers["flaky"].calls == 2  # type: ignore[attr-defined]


async def _check_run(manager: Manager, provider: MockProvider, _: str) -> None:
    listed = await assert_whole_executions(provider)
    assert len(listed) <= 1
    flaky = provider.task_handlers["flaky"]
    assert flaky.calls <= 2  # type: ignore[attr-defined]
    if listed:
        status = await provider.get_execution_status(listed[0].execution_id)
        assert status.metadata["redrive_count"] <= 1
        assert status.state is not ExecutionState.CANCELLED, "cancelling run stops nothing"
    else:
        final = await manager.run("wf", named("run-1"))
        assert final.state is ExecutionState.SUCCEEDED
        assert final.metadata["redrive_count"] == 1


CASES: dict[str, Case] = {
    "create_workflow": Case(
        _nothing, lambda m, _: m.create_workflow(make_spec(GATED, workflow_id="wf")), _check_create
    ),
    "start_execution": Case(
        _created, lambda m, _: m.start_execution("wf", named("run-1")), _check_start
    ),
    "get_execution_status": Case(
        _running, lambda m, e: m.get_execution_status(e, include_history=True), _check_status
    ),
    "stop_execution": Case(_running, lambda m, e: m.stop_execution(e, "cancel me"), _check_stop),
    "delete_workflow": Case(_created, lambda m, _: m.delete_workflow("wf"), _check_delete),
    "wait_for_completion": Case(_quick, lambda m, e: m.wait_for_completion(e), _check_wait),
    "redrive_execution": Case(_failed, lambda m, e: m.redrive_execution(e), _check_redrive),
    "run": Case(_flaky_with_retries, lambda m, _: m.run("wf", named("run-1")), _check_run),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_cancelling_a_manager_call_at_every_await_point_on_the_mock(name: str) -> None:
    case = CASES[name]
    points = 0
    for passes in range(MAX_LOOP_PASSES):
        provider, _, _ = mock_provider()
        manager, _ = manager_for(provider)
        async with manager:
            execution_id = await case.setup(manager, provider)
            finished, outcome = await cancel_after(case.call(manager, execution_id), passes)
            if not finished:
                assert isinstance(outcome, asyncio.CancelledError), repr(outcome)
                points += 1
            else:
                assert not isinstance(outcome, BaseException), repr(outcome)
            await settle()
            assert_no_leak(provider)
            await case.check(manager, provider, execution_id)
            assert_no_leak(provider)
        assert other_tasks() == set(), "aclose left tasks behind"
        if finished:
            break
    assert finished, f"{name} did not finish within {MAX_LOOP_PASSES} loop passes"
    assert points >= MIN_CANCELLATION_POINTS


@pytest.mark.parametrize("name", [n for n in CASES if n not in ("wait_for_completion", "run")])
@pytest.mark.parametrize("deadline", MOCK_DEADLINES)
async def test_deadlines_expiring_inside_injected_latency_on_the_mock(
    name: str, deadline: float
) -> None:
    case = CASES[name]
    provider, _, _ = mock_provider()
    manager, _ = manager_for(provider)
    async with manager:
        execution_id = await case.setup(manager, provider)
        provider.faults.latency(name, LATENCY)
        with anyio.move_on_after(deadline) as scope:
            await case.call(manager, execution_id)
        assert scope.cancelled_caught, "the deadline is shorter than the latency"
        provider.faults.latency(name, None)
        assert_no_leak(provider)
        await case.check(manager, provider, execution_id)
    assert other_tasks() == set()


async def test_cancelled_wait_and_run_leave_the_executions_running_on_the_mock() -> None:
    provider, gate, _ = mock_provider()
    manager, _ = manager_for(provider)
    async with manager:
        await manager.create_workflow(make_spec(GATED, workflow_id="wf"))
        started = await manager.start_execution("wf", named("waited"))
        waiting = asyncio.ensure_future(manager.wait_for_completion(started.execution_id))
        running = asyncio.ensure_future(manager.run("wf", named("ran")))
        with anyio.fail_after(5):
            while gate.calls < 2:  # both executions are held at the gate
                await asyncio.sleep(0)
        await settle()
        for task in (waiting, running):
            task.cancel()
        outcomes = await asyncio.gather(waiting, running, return_exceptions=True)
        assert [type(o) for o in outcomes] == [asyncio.CancelledError] * 2
        assert_no_leak(provider)
        listed = await assert_whole_executions(provider)
        assert len(listed) == 2
        assert {s.state for s in listed} == {ExecutionState.RUNNING}
        gate.open()
        finals = [await manager.wait_for_completion(s.execution_id) for s in listed]
        assert {f.state for f in finals} == {ExecutionState.SUCCEEDED}
    assert other_tasks() == set()


# -- Step Functions on moto ---------------------------------------------------------------------

WAITING: dict[str, Any] = {
    "StartAt": "Hold",
    "States": {"Hold": {"Type": "Wait", "Seconds": 30, "End": True}},
}


async def _machine_names(provider: StepFunctionsProvider) -> list[str]:
    listed = await provider.client.list_state_machines()
    return [machine["name"] for machine in listed["stateMachines"]]


def _sessions(provider: StepFunctionsProvider) -> list[Any]:
    http = provider.client._endpoint.http_session  # aiobotocore internals
    return list(http._sessions.values())


async def _swept(call: Callable[..., Awaitable[Any]], *, numbered: bool = False) -> int:
    """Run ``call`` under every deadline (``call(i)`` when ``numbered``); count cancellations."""
    cancelled = 0
    for index, deadline in enumerate(SFN_DEADLINES):
        with anyio.move_on_after(deadline) as scope:
            await (call(index) if numbered else call())
        cancelled += scope.cancelled_caught
    # moto may still be serving abandoned requests.
    await anyio.sleep(MOTO_SETTLE)
    return cancelled


@pytest.mark.moto
async def test_cancelling_manager_calls_on_step_functions_leaves_nothing_open(
    stepfunctions_engine: LocalStepFunctions,
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        provider = stepfunctions_engine.provider(account_id=ACCOUNT)  # opened lazily
        manager, _ = manager_for(provider)
        async with manager:
            # Cancelled while the client is still being opened, then on every call.
            cancelled = await _swept(
                lambda i: manager.create_workflow(
                    make_spec(PASS, workflow_id=f"wf-{i}", provider_type=SFN)
                ),
                numbered=True,
            )
            assert cancelled >= 1
            created = await _machine_names(provider)
            assert len(created) == len(set(created))
            for index in range(len(SFN_DEADLINES)):  # retried creates: one machine each
                await manager.create_workflow(
                    make_spec(PASS, workflow_id=f"wf-{index}", provider_type=SFN)
                )
            assert sorted(await _machine_names(provider)) == sorted(
                f"wf-{index}" for index in range(len(SFN_DEADLINES))
            )
            await manager.create_workflow(make_spec(WAITING, workflow_id="wf", provider_type=SFN))
            await manager.create_workflow(make_spec(PASS, workflow_id="quick", provider_type=SFN))

            cancelled += await _swept(
                lambda i: manager.start_execution("wf", named(f"run-{i}")), numbered=True
            )
            reached = {s.metadata["name"] for s in await executions_of(provider, "wf")}
            for index in range(len(SFN_DEADLINES)):  # retried starts: one execution each
                await manager.start_execution("wf", named(f"run-{index}"))
            executions = await executions_of(provider, "wf")
            names = sorted(s.metadata["name"] for s in executions)
            assert names == sorted(f"run-{index}" for index in range(len(SFN_DEADLINES)))
            assert reached <= set(names)
            for status in executions[1:]:
                await manager.stop_execution(status.execution_id, "only one needed")
            started = executions[0]

            execution_id = started.execution_id
            cancelled += await _swept(lambda: manager.get_execution_status(execution_id))
            cancelled += await _swept(lambda: manager.wait_for_completion(execution_id))
            cancelled += await _swept(
                lambda i: manager.run("quick", named(f"run-{i}")), numbered=True
            )
            quick = await executions_of(provider, "quick")
            names = [s.metadata["name"] for s in quick]
            assert len(names) == len(set(names)) <= len(SFN_DEADLINES), "one execution per run"
            assert ExecutionState.CANCELLED not in {s.state for s in quick}

            cancelled += await _swept(lambda: manager.stop_execution(execution_id, "stop"))
            await manager.stop_execution(execution_id, "stop")
            stopped = await manager.get_execution_status(execution_id)
            assert stopped.state is ExecutionState.CANCELLED

            cancelled += await _swept(lambda: manager.delete_workflow("quick"))
            await manager.delete_workflow("quick")
            assert "quick" not in await _machine_names(provider)

            sessions = _sessions(provider)
            assert sessions
            assert not any(session.closed for session in sessions)
        assert cancelled >= 10

        assert all(session.closed for session in sessions), "the HTTP session is closed"
        assert "closed" in repr(provider)
        with pytest.raises(ProviderError, match="closed"):
            _ = provider.client
        del sessions
        await settle()
        assert other_tasks() == set()
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.moto
@pytest.mark.parametrize("deadline", SFN_DEADLINES)
async def test_a_cancelled_first_call_of_a_fresh_provider_leaves_no_client(
    stepfunctions_engine: LocalStepFunctions, deadline: float
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        provider = stepfunctions_engine.provider(account_id=ACCOUNT)
        manager, _ = manager_for(provider)
        with anyio.move_on_after(deadline):
            await manager.create_workflow(make_spec(PASS, workflow_id="wf", provider_type=SFN))
        await manager.aclose()
        assert provider._sfn.client is None  # internals: nothing left open
        assert provider._sfn._stack is None
        await settle()
        assert other_tasks() == set()
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
