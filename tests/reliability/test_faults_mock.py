"""Fault injection on the mock engine, through the Manager.

Every Manager operation that reaches the engine gets throttling, unavailability,
lost responses and latency spikes from ``provider.faults``. Each logical call
must either complete exactly once (one workflow, one execution, one stop, one
redrive) or fail with a typed ``WorkflowError`` and leave no effect behind;
retries must show in the MetricsCollector, one per injected transient fault.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

import pytest
from reliability.support import (
    FLAKY,
    GATED,
    MOCK,
    PASS,
    Flaky,
    Gate,
    counters,
    delta,
    executions_of,
    manager_for,
    mock_provider,
    named,
    no_sleep_policy,
    settle,
    spec,
)

from landlord_workflow import (
    ExecutionAlreadyExistsError,
    ExecutionInput,
    ExecutionState,
    Manager,
    OperationTimeoutError,
    ProviderUnavailableError,
    ThrottledError,
    WorkflowError,
    WorkflowNotFoundError,
)
from landlord_workflow.providers.mock import MockProvider

pytestmark = pytest.mark.asyncio

# -- the numbers this module runs with --------------------------------------------------------
MAX_ATTEMPTS = 5
"""CallPolicy.max_attempts of the Manager under test."""
FAULTS_PER_CALL = 2
"""Transient faults injected in a row into one logical call (it must still succeed)."""
FAULT_KINDS = ("throttle", "unavailable", "drop_response")
LATENCY_ATTEMPT_TIMEOUT = 0.05
"""Seconds: CallPolicy.attempt_timeout in the latency tests."""
LATENCY_SPIKE = 1.0
"""Seconds of injected latency above the attempt timeout: OperationTimeoutError
(the attempt is cancelled after LATENCY_ATTEMPT_TIMEOUT; the spike costs nothing more)."""
LATENCY_HARMLESS = 0.05
"""Seconds of injected latency below the attempt timeout: the call succeeds."""
HARMLESS_ATTEMPT_TIMEOUT = 1.0
"""Seconds: CallPolicy.attempt_timeout with LATENCY_HARMLESS (a 20x margin for busy CI)."""
EXPECTED_ERROR = {"throttle": ThrottledError, "unavailable": ProviderUnavailableError}


class Scenario:
    """One Manager operation: prepare the engine, run the call, check its effect."""

    operation: ClassVar[str]
    reads_only: ClassVar[bool] = False

    relaxed: Manager
    """A Manager with the default policy, for setup and recovery."""

    def __init__(self, provider: MockProvider, gate: Gate, flaky: Flaky) -> None:
        self.provider = provider
        self.gate = gate
        self.flaky = flaky
        self.execution_id = ""

    async def setup(self, manager: Manager) -> None:
        """Everything the call needs, done without faults."""

    async def perform(self, manager: Manager) -> Any:
        raise NotImplementedError

    async def check_done(self, manager: Manager, result: Any) -> None:
        """The call's effect happened, exactly once."""
        raise NotImplementedError

    async def check_not_done(self, manager: Manager) -> None:
        """The call left no effect (it failed before reaching the engine)."""
        raise NotImplementedError


class CreateWorkflow(Scenario):
    operation = "create_workflow"

    async def perform(self, manager: Manager) -> Any:
        return await manager.create_workflow(spec("wf", GATED))

    async def check_done(self, manager: Manager, result: Any) -> None:
        assert result.workflow_id == "wf"
        assert result.resource_ids == {"state_machine": "mock:wf"}
        assert await executions_of(self.provider, "wf") == []
        again = await self.provider.create_workflow(spec("wf", GATED))
        assert again.message == "unchanged", "created once, with that definition"
        assert "workflows=1" in repr(self.provider)

    async def check_not_done(self, manager: Manager) -> None:
        with pytest.raises(WorkflowNotFoundError):
            await executions_of(self.provider, "wf")


class StartExecution(Scenario):
    operation = "start_execution"
    name: str | None = None
    """None: the Manager fixes a name before the first attempt. A caller that
    retries a failed start itself passes a name (see the lost-response test)."""

    async def setup(self, manager: Manager) -> None:
        await manager.create_workflow(spec("wf", GATED))

    async def perform(self, manager: Manager) -> Any:
        request = ExecutionInput(input={"tenant": "t-1"}, execution_name=self.name)
        return await manager.start_execution("wf", request)

    async def check_done(self, manager: Manager, result: Any) -> None:
        executions = await executions_of(self.provider, "wf")
        assert [s.execution_id for s in executions] == [result.execution_id]
        status = await self.provider.get_execution_status(result.execution_id, include_history=True)
        assert status.state is ExecutionState.RUNNING
        assert [e.type for e in status.history].count("ExecutionStarted") == 1
        assert status.history[0].type == "ExecutionStarted"
        await settle()
        assert self.gate.calls == 1, "the workflow ran once"

    async def check_not_done(self, manager: Manager) -> None:
        assert await executions_of(self.provider, "wf") == []
        assert self.gate.calls == 0


class GetExecutionStatus(Scenario):
    operation = "get_execution_status"
    reads_only = True

    async def setup(self, manager: Manager) -> None:
        await manager.create_workflow(spec("wf", GATED))
        self.execution_id = (await manager.start_execution("wf", named("run-1"))).execution_id

    async def perform(self, manager: Manager) -> Any:
        return await manager.get_execution_status(self.execution_id)

    async def check_done(self, manager: Manager, result: Any) -> None:
        assert result.execution_id == self.execution_id
        assert result.state is ExecutionState.RUNNING
        assert result.input == {"tenant": "t-1"}

    async def check_not_done(self, manager: Manager) -> None:
        assert len(await executions_of(self.provider, "wf")) == 1


class StopExecution(Scenario):
    operation = "stop_execution"

    async def setup(self, manager: Manager) -> None:
        await manager.create_workflow(spec("wf", GATED))
        self.execution_id = (await manager.start_execution("wf", named("run-1"))).execution_id

    async def perform(self, manager: Manager) -> Any:
        return await manager.stop_execution(self.execution_id, "tenant deleted")

    async def check_done(self, manager: Manager, result: Any) -> None:
        assert result is None
        status = await self.provider.get_execution_status(self.execution_id, include_history=True)
        assert status.state is ExecutionState.CANCELLED
        assert status.error is not None
        assert status.error.cause == "tenant deleted"
        assert [e.type for e in status.history].count("ExecutionCancelled") == 1

    async def check_not_done(self, manager: Manager) -> None:
        status = await self.provider.get_execution_status(self.execution_id)
        assert status.state is ExecutionState.RUNNING


class DeleteWorkflow(Scenario):
    operation = "delete_workflow"

    async def setup(self, manager: Manager) -> None:
        await manager.create_workflow(spec("wf", GATED))

    async def perform(self, manager: Manager) -> Any:
        return await manager.delete_workflow("wf")

    async def check_done(self, manager: Manager, result: Any) -> None:
        assert result is None
        with pytest.raises(WorkflowNotFoundError):
            await executions_of(self.provider, "wf")
        assert "workflows=0" in repr(self.provider)

    async def check_not_done(self, manager: Manager) -> None:
        assert await executions_of(self.provider, "wf") == []  # still there


class RedriveExecution(Scenario):
    operation = "redrive_execution"

    async def setup(self, manager: Manager) -> None:
        await manager.create_workflow(spec("wf", FLAKY))
        self.execution_id = (await manager.start_execution("wf", named("run-1"))).execution_id
        failed = await manager.wait_for_completion(self.execution_id)
        assert failed.state is ExecutionState.FAILED
        assert self.flaky.calls == 1

    async def perform(self, manager: Manager) -> Any:
        return await manager.redrive_execution(self.execution_id)

    async def check_done(self, manager: Manager, result: Any) -> None:
        assert result.execution_id == self.execution_id
        final = await manager.wait_for_completion(self.execution_id)
        assert final.state is ExecutionState.SUCCEEDED
        assert final.metadata["redrive_count"] == 1
        assert self.flaky.calls == 2, "the failed task ran again exactly once"
        history = await self.provider.get_execution_status(self.execution_id, include_history=True)
        assert [e.type for e in history.history].count("ExecutionRedriven") == 1

    async def check_not_done(self, manager: Manager) -> None:
        status = await self.provider.get_execution_status(self.execution_id)
        assert status.state is ExecutionState.FAILED
        assert status.metadata["redrive_count"] == 0
        assert self.flaky.calls == 1


SCENARIOS: tuple[type[Scenario], ...] = (
    CreateWorkflow,
    StartExecution,
    GetExecutionStatus,
    StopExecution,
    DeleteWorkflow,
    RedriveExecution,
)
OPERATIONS = tuple(s.operation for s in SCENARIOS)


def inject(provider: MockProvider, kind: str, operation: str, times: int) -> None:
    getattr(provider.faults, kind)(operation, times=times)


async def prepared(
    scenario_type: type[Scenario], **policy: Any
) -> tuple[Scenario, Manager, Any, MockProvider]:
    provider, gate, flaky = mock_provider()
    manager, metrics = manager_for(
        provider, call_policy=no_sleep_policy(max_attempts=MAX_ATTEMPTS, **policy)
    )
    scenario = scenario_type(provider, gate, flaky)
    # Setup and recovery go through a Manager with the default policy, so a
    # tight attempt timeout only ever applies to the call under test.
    scenario.relaxed = manager_for(provider)[0]
    await scenario.setup(scenario.relaxed)
    return scenario, manager, metrics, provider


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("scenario_type", SCENARIOS, ids=OPERATIONS)
async def test_transient_faults_are_retried_and_the_call_takes_effect_once(
    scenario_type: type[Scenario], kind: str
) -> None:
    scenario, manager, metrics, provider = await prepared(scenario_type)
    op = scenario.operation
    async with manager:
        before, calls_before = counters(metrics), provider.faults.calls(op)
        inject(provider, kind, op, FAULTS_PER_CALL)

        result = await scenario.perform(manager)

        change = delta(metrics, before)
        assert provider.faults.injected(op) == FAULTS_PER_CALL
        assert provider.faults.calls(op) - calls_before == FAULTS_PER_CALL + 1
        assert change["calls"][(op, MOCK)] == 1
        assert change["attempts"][(op, MOCK)] == FAULTS_PER_CALL + 1
        assert change["retries"][(op, MOCK)] == FAULTS_PER_CALL, "one retry per injected fault"
        assert not change["errors"]
        await scenario.check_done(manager, result)


@pytest.mark.parametrize("kind", ["throttle", "unavailable"])
@pytest.mark.parametrize("scenario_type", SCENARIOS, ids=OPERATIONS)
async def test_faults_on_every_attempt_fail_typed_and_leave_no_effect(
    scenario_type: type[Scenario], kind: str
) -> None:
    scenario, manager, metrics, provider = await prepared(scenario_type)
    op = scenario.operation
    async with manager:
        before = counters(metrics)
        inject(provider, kind, op, MAX_ATTEMPTS)

        with pytest.raises(EXPECTED_ERROR[kind]):
            await scenario.perform(manager)

        change = delta(metrics, before)
        assert change["attempts"][(op, MOCK)] == MAX_ATTEMPTS
        assert change["retries"][(op, MOCK)] == MAX_ATTEMPTS - 1
        assert change["errors"] == {(op, MOCK, EXPECTED_ERROR[kind].__name__): 1}
        await scenario.check_not_done(manager)
        # Once the engine recovers, the same call completes exactly once.
        result = await scenario.perform(manager)
        await scenario.check_done(manager, result)


@pytest.mark.parametrize("scenario_type", SCENARIOS, ids=OPERATIONS)
async def test_every_response_lost_fails_typed_but_the_effect_happened_once(
    scenario_type: type[Scenario],
) -> None:
    scenario, manager, metrics, provider = await prepared(scenario_type)
    op = scenario.operation
    if isinstance(scenario, StartExecution):
        scenario.name = "tenant-acme"  # the caller will retry the same start
    async with manager:
        before = counters(metrics)
        inject(provider, "drop_response", op, MAX_ATTEMPTS)

        with pytest.raises(ProviderUnavailableError):
            await scenario.perform(manager)

        change = delta(metrics, before)
        assert change["attempts"][(op, MOCK)] == MAX_ATTEMPTS
        assert change["retries"][(op, MOCK)] == MAX_ATTEMPTS - 1
        assert provider.faults.injected(op) == MAX_ATTEMPTS
        # Every attempt reached the engine; idempotency kept it to one effect.
        result = await scenario.perform(manager)
        await scenario.check_done(manager, result)


@pytest.mark.parametrize("scenario_type", SCENARIOS, ids=OPERATIONS)
async def test_latency_spike_beyond_the_attempt_timeout_is_an_operation_timeout(
    scenario_type: type[Scenario],
) -> None:
    scenario, manager, metrics, provider = await prepared(
        scenario_type, attempt_timeout=timedelta(seconds=LATENCY_ATTEMPT_TIMEOUT)
    )
    op = scenario.operation
    async with manager:
        before = counters(metrics)
        provider.faults.latency(op, LATENCY_SPIKE)

        with pytest.raises(OperationTimeoutError) as caught:
            await scenario.perform(manager)

        assert isinstance(caught.value, WorkflowError)
        assert isinstance(caught.value, TimeoutError)
        change = delta(metrics, before)
        assert change["attempts"][(op, MOCK)] == 1, "a timed-out attempt is not retried"
        assert change["retries"][(op, MOCK)] == 0
        assert change["errors"] == {(op, MOCK, "OperationTimeoutError"): 1}
        # The latency came before the engine acted: nothing happened.
        provider.faults.latency(op, None)
        await scenario.check_not_done(scenario.relaxed)
        result = await scenario.perform(scenario.relaxed)
        await scenario.check_done(scenario.relaxed, result)


@pytest.mark.parametrize("scenario_type", SCENARIOS, ids=OPERATIONS)
async def test_latency_below_the_attempt_timeout_is_harmless(
    scenario_type: type[Scenario],
) -> None:
    scenario, manager, metrics, provider = await prepared(
        scenario_type, attempt_timeout=timedelta(seconds=HARMLESS_ATTEMPT_TIMEOUT)
    )
    op = scenario.operation
    async with manager:
        before = counters(metrics)
        provider.faults.latency(op, LATENCY_HARMLESS)

        result = await scenario.perform(manager)

        change = delta(metrics, before)
        assert change["attempts"][(op, MOCK)] == 1
        assert not change["errors"]
        assert metrics.latency(op).max >= LATENCY_HARMLESS
        await scenario.check_done(manager, result)


async def test_a_lost_start_response_of_an_execution_that_already_ended_returns_it() -> None:
    """The start's response is lost; by the time the Manager retries (same name)
    the quick execution has ended. The retry gets that execution back (as the
    Step Functions adapter does): one execution, and the caller learns its id.
    A deliberate second start of a closed execution is still refused."""
    provider, _, _ = mock_provider()
    manager, metrics = manager_for(provider)
    async with manager:
        await manager.create_workflow(spec("wf", PASS))
        provider.faults.drop_response("start_execution", times=1)
        provider.faults.latency("start_execution", 0.1)  # the execution ends meanwhile

        result = await manager.start_execution("wf", named("run-1"))
        provider.faults.latency("start_execution", None)

        executions = await executions_of(provider, "wf")
        assert [s.execution_id for s in executions] == [result.execution_id]
        assert [s.state for s in executions] == [ExecutionState.SUCCEEDED], "it ran, once"
        with pytest.raises(ExecutionAlreadyExistsError, match="closed"):
            await manager.start_execution("wf", named("run-1"))
    assert metrics.retries[("start_execution", MOCK)] == 1


async def test_a_mixed_storm_on_every_operation_still_gives_one_execution_each() -> None:
    """Throttling, unavailability and lost responses on all operations at once."""
    provider, gate, _ = mock_provider()
    manager, metrics = manager_for(provider, call_policy=no_sleep_policy(max_attempts=8))
    async with manager:
        for offset, op in enumerate((*OPERATIONS, "watch_execution")):
            provider.faults.throttle(op, rate=0.2, seed=offset)
            provider.faults.unavailable(op, rate=0.1, seed=100 + offset)
            if op != "watch_execution":
                provider.faults.drop_response(op, rate=0.1, seed=200 + offset)
        await manager.create_workflow(spec("wf", GATED))
        started = [
            await manager.start_execution("wf", ExecutionInput(input={"n": n})) for n in range(20)
        ]
        for result in started[:10]:
            await manager.stop_execution(result.execution_id, "storm")
        gate.open()
        finals = [await manager.wait_for_completion(r.execution_id) for r in started]
        engine_side = await executions_of(provider, "wf")
        await manager.delete_workflow("wf")

    assert len({r.execution_id for r in started}) == 20
    assert sorted(s.execution_id for s in engine_side) == sorted(r.execution_id for r in started)
    states = [f.state for f in finals]
    assert states == [ExecutionState.CANCELLED] * 10 + [ExecutionState.SUCCEEDED] * 10
    injected = sum(provider.faults.injected(op) for op in (*OPERATIONS, "watch_execution"))
    assert injected > 0
    assert metrics.total_retries() == injected, "every injected transient fault was retried"
    assert not metrics.errors
