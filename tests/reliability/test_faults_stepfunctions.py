"""Fault injection on Step Functions (moto server), through the Manager (issue 5, item 3).

Faults are botocore event hooks on the provider's own client
(:class:`reliability.support.BotoFault`): a 400 ThrottlingException or a 503
answered instead of sending, a connection error before sending, a response
lost after moto performed the call (ConnectionClosedError in ``after-call``,
as the adapter's lost-start test does), and latency before sending. Each
logical call completes exactly once or fails typed with no effect; the
MetricsCollector shows one retry per injected fault. (moto has no
RedriveExecution: redrive faults are covered on the mock.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, ClassVar

import pytest
import pytest_asyncio
from reliability.support import (
    PASS,
    SFN,
    BotoFault,
    counters,
    delta,
    executions_of,
    manager_for,
    named,
    no_sleep_policy,
    spec,
)

from landlord_workflow import (
    ExecutionInput,
    ExecutionState,
    Manager,
    OperationTimeoutError,
    ProviderUnavailableError,
    ThrottledError,
    TransientError,
)
from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
from landlord_workflow.testing._moto import LocalStepFunctions

pytestmark = [pytest.mark.asyncio, pytest.mark.moto]

# -- the numbers this module runs with --------------------------------------------------------
MAX_ATTEMPTS = 5
FAULTS_PER_CALL = 2
"""Transient faults injected in a row into one logical call (it must still succeed)."""
FAULT_KINDS = ("throttle", "unavailable", "connection", "drop")
LATENCY_ATTEMPT_TIMEOUT = 0.25
"""Seconds: CallPolicy.attempt_timeout in the latency tests (moto answers in ~5-20 ms)."""
LATENCY_SPIKE = 5.0
"""Seconds slept before sending; the attempt is cancelled at LATENCY_ATTEMPT_TIMEOUT."""
LATENCY_HARMLESS = 0.05
HARMLESS_ATTEMPT_TIMEOUT = 2.0
"""Seconds: CallPolicy.attempt_timeout with LATENCY_HARMLESS (margin for busy CI)."""
ACCOUNT = "123456789012"
RUNNING: dict[str, Any] = {
    "StartAt": "Hold",
    "States": {"Hold": {"Type": "Wait", "Seconds": 30, "End": True}},
}
EXPECTED_ERROR: dict[str, type[TransientError]] = {
    "throttle": ThrottledError,
    "unavailable": ProviderUnavailableError,
    "connection": ProviderUnavailableError,
    "drop": ProviderUnavailableError,
}


@pytest_asyncio.fixture
async def provider(
    stepfunctions_engine: LocalStepFunctions,
) -> AsyncIterator[StepFunctionsProvider]:
    """An open provider with a fixed account (no STS call inside timed attempts)."""
    async with stepfunctions_engine.provider(account_id=ACCOUNT) as opened:
        yield opened


async def machines(provider: StepFunctionsProvider) -> list[str]:
    listed = await provider.client.list_state_machines()
    return [m["name"] for m in listed["stateMachines"]]


class Scenario:
    operation: ClassVar[str]
    api: ClassVar[str]
    """The Step Functions API the faults hit."""

    relaxed: Manager
    """A Manager with the default policy, for setup and recovery."""

    def __init__(self, provider: StepFunctionsProvider) -> None:
        self.provider = provider
        self.execution_id = ""

    async def setup(self, manager: Manager) -> None:
        """Everything the call needs, done without faults."""

    async def perform(self, manager: Manager) -> Any:
        raise NotImplementedError

    async def check_done(self, manager: Manager, result: Any) -> None:
        raise NotImplementedError

    async def check_not_done(self, manager: Manager) -> None:
        raise NotImplementedError

    async def cleanup(self) -> None:
        """Stop what still runs (moto's Wait threads)."""
        if self.execution_id:
            await self.provider.stop_execution(self.execution_id, "test over")


class CreateWorkflow(Scenario):
    operation = "create_workflow"
    api = "CreateStateMachine"

    async def perform(self, manager: Manager) -> Any:
        return await manager.create_workflow(spec("wf", PASS, SFN))

    async def check_done(self, manager: Manager, result: Any) -> None:
        arn = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:wf"
        assert result.resource_ids == {"state_machine_arn": arn}
        assert await machines(self.provider) == ["wf"]

    async def check_not_done(self, manager: Manager) -> None:
        assert await machines(self.provider) == []


class StartExecution(Scenario):
    operation = "start_execution"
    api = "StartExecution"
    name: str | None = None

    async def setup(self, manager: Manager) -> None:
        await manager.create_workflow(spec("wf", RUNNING, SFN))

    async def perform(self, manager: Manager) -> Any:
        request = ExecutionInput(input={"tenant": "t-1"}, execution_name=self.name)
        result = await manager.start_execution("wf", request)
        self.execution_id = result.execution_id
        return result

    async def check_done(self, manager: Manager, result: Any) -> None:
        executions = await executions_of(self.provider, "wf")
        assert [s.execution_id for s in executions] == [result.execution_id]
        assert executions[0].state is ExecutionState.RUNNING

    async def check_not_done(self, manager: Manager) -> None:
        assert await executions_of(self.provider, "wf") == []


class GetExecutionStatus(Scenario):
    operation = "get_execution_status"
    api = "DescribeExecution"

    async def setup(self, manager: Manager) -> None:
        await manager.create_workflow(spec("wf", RUNNING, SFN))
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
    api = "StopExecution"

    async def setup(self, manager: Manager) -> None:
        await manager.create_workflow(spec("wf", RUNNING, SFN))
        self.execution_id = (await manager.start_execution("wf", named("run-1"))).execution_id

    async def perform(self, manager: Manager) -> Any:
        return await manager.stop_execution(self.execution_id, "tenant deleted")

    async def check_done(self, manager: Manager, result: Any) -> None:
        assert result is None
        status = await self.provider.get_execution_status(self.execution_id, include_history=True)
        assert status.state is ExecutionState.CANCELLED
        assert [e.type for e in status.history].count("ExecutionCancelled") == 1

    async def check_not_done(self, manager: Manager) -> None:
        status = await self.provider.get_execution_status(self.execution_id)
        assert status.state is ExecutionState.RUNNING


class DeleteWorkflow(Scenario):
    operation = "delete_workflow"
    api = "DeleteStateMachine"

    async def setup(self, manager: Manager) -> None:
        await manager.create_workflow(spec("wf", PASS, SFN))

    async def perform(self, manager: Manager) -> Any:
        return await manager.delete_workflow("wf")

    async def check_done(self, manager: Manager, result: Any) -> None:
        assert result is None
        assert await machines(self.provider) == []

    async def check_not_done(self, manager: Manager) -> None:
        assert await machines(self.provider) == ["wf"]


SCENARIOS: tuple[type[Scenario], ...] = (
    CreateWorkflow,
    StartExecution,
    GetExecutionStatus,
    StopExecution,
    DeleteWorkflow,
)
OPERATIONS = tuple(s.operation for s in SCENARIOS)


async def prepared(
    provider: StepFunctionsProvider, scenario_type: type[Scenario], **policy: Any
) -> tuple[Scenario, Manager, Any]:
    manager, metrics = manager_for(
        provider, call_policy=no_sleep_policy(max_attempts=MAX_ATTEMPTS, **policy)
    )
    scenario = scenario_type(provider)
    # Setup and recovery go through a Manager with the default policy, so a
    # tight attempt timeout only ever applies to the call under test.
    scenario.relaxed = manager_for(provider)[0]
    await scenario.setup(scenario.relaxed)
    return scenario, manager, metrics


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("scenario_type", SCENARIOS, ids=OPERATIONS)
async def test_transient_faults_are_retried_and_the_call_takes_effect_once(
    provider: StepFunctionsProvider, scenario_type: type[Scenario], kind: str
) -> None:
    scenario, manager, metrics = await prepared(provider, scenario_type)
    op = scenario.operation
    fault = BotoFault(kind, scenario.api, times=FAULTS_PER_CALL).install(provider)
    before = counters(metrics)

    result = await scenario.perform(manager)

    change = delta(metrics, before)
    assert fault.fired == FAULTS_PER_CALL
    assert change["calls"][(op, SFN)] == 1
    assert change["attempts"][(op, SFN)] == FAULTS_PER_CALL + 1
    assert change["retries"][(op, SFN)] == FAULTS_PER_CALL, "one retry per injected fault"
    assert not change["errors"]
    await scenario.check_done(manager, result)
    await scenario.cleanup()


@pytest.mark.parametrize("kind", ["throttle", "unavailable", "connection"])
@pytest.mark.parametrize("scenario_type", SCENARIOS, ids=OPERATIONS)
async def test_faults_on_every_attempt_fail_typed_and_leave_no_effect(
    provider: StepFunctionsProvider, scenario_type: type[Scenario], kind: str
) -> None:
    scenario, manager, metrics = await prepared(provider, scenario_type)
    op = scenario.operation
    fault = BotoFault(kind, scenario.api, times=MAX_ATTEMPTS).install(provider)
    before = counters(metrics)

    with pytest.raises(EXPECTED_ERROR[kind]) as caught:
        await scenario.perform(manager)

    assert caught.value.__cause__ is not None, "the botocore error is chained"
    change = delta(metrics, before)
    assert fault.fired == MAX_ATTEMPTS
    assert change["attempts"][(op, SFN)] == MAX_ATTEMPTS
    assert change["retries"][(op, SFN)] == MAX_ATTEMPTS - 1
    assert change["errors"] == {(op, SFN, EXPECTED_ERROR[kind].__name__): 1}
    await scenario.check_not_done(manager)
    result = await scenario.perform(manager)  # the engine recovered
    await scenario.check_done(manager, result)
    await scenario.cleanup()


@pytest.mark.parametrize("scenario_type", SCENARIOS, ids=OPERATIONS)
async def test_every_response_lost_fails_typed_but_the_effect_happened_once(
    provider: StepFunctionsProvider, scenario_type: type[Scenario]
) -> None:
    scenario, manager, metrics = await prepared(provider, scenario_type)
    if isinstance(scenario, StartExecution):
        scenario.name = "tenant-acme"  # the caller will retry the same start
    op = scenario.operation
    fault = BotoFault("drop", scenario.api, times=MAX_ATTEMPTS).install(provider)
    before = counters(metrics)

    with pytest.raises(ProviderUnavailableError):
        await scenario.perform(manager)

    change = delta(metrics, before)
    assert fault.fired == MAX_ATTEMPTS, "every attempt reached moto"
    assert change["retries"][(op, SFN)] == MAX_ATTEMPTS - 1
    result = await scenario.perform(manager)
    await scenario.check_done(manager, result)
    await scenario.cleanup()


@pytest.mark.parametrize("scenario_type", SCENARIOS, ids=OPERATIONS)
async def test_latency_spike_beyond_the_attempt_timeout_is_an_operation_timeout(
    provider: StepFunctionsProvider, scenario_type: type[Scenario]
) -> None:
    scenario, manager, metrics = await prepared(
        provider, scenario_type, attempt_timeout=timedelta(seconds=LATENCY_ATTEMPT_TIMEOUT)
    )
    op = scenario.operation
    fault = BotoFault("latency", scenario.api, delay=LATENCY_SPIKE).install(provider)
    before = counters(metrics)

    with pytest.raises(OperationTimeoutError):
        await scenario.perform(manager)

    change = delta(metrics, before)
    assert fault.fired == 1
    assert change["attempts"][(op, SFN)] == 1, "a timed-out attempt is not retried"
    assert change["errors"] == {(op, SFN, "OperationTimeoutError"): 1}
    fault.remove(provider)
    await scenario.check_not_done(scenario.relaxed)  # cancelled before the request was sent
    result = await scenario.perform(scenario.relaxed)
    await scenario.check_done(scenario.relaxed, result)
    await scenario.cleanup()


@pytest.mark.parametrize("scenario_type", SCENARIOS, ids=OPERATIONS)
async def test_latency_below_the_attempt_timeout_is_harmless(
    provider: StepFunctionsProvider, scenario_type: type[Scenario]
) -> None:
    scenario, manager, metrics = await prepared(
        provider, scenario_type, attempt_timeout=timedelta(seconds=HARMLESS_ATTEMPT_TIMEOUT)
    )
    op = scenario.operation
    BotoFault("latency", scenario.api, delay=LATENCY_HARMLESS).install(provider)
    before = counters(metrics)

    result = await scenario.perform(manager)

    change = delta(metrics, before)
    assert change["attempts"][(op, SFN)] == 1
    assert not change["errors"]
    assert metrics.latency(op).max >= LATENCY_HARMLESS
    await scenario.check_done(manager, result)
    await scenario.cleanup()


async def test_run_survives_faults_on_start_and_every_poll(
    provider: StepFunctionsProvider,
) -> None:
    """Manager.run on a polling provider: throttled start, flaky DescribeExecution."""
    manager, metrics = manager_for(provider, call_policy=no_sleep_policy(max_attempts=6))
    await manager.create_workflow(spec("wf", PASS, SFN))
    start = BotoFault("throttle", "StartExecution", times=2).install(provider)
    polls = BotoFault("unavailable", "DescribeExecution", times=3).install(provider)
    lost = BotoFault("drop", "DescribeExecution", times=2).install(provider)

    final = await manager.run("wf", named("run-1"))

    assert final.state is ExecutionState.SUCCEEDED
    assert final.output == {"tenant": "t-1", "result": {"ok": True}}
    assert [s.execution_id for s in await executions_of(provider, "wf")] == [final.execution_id]
    assert metrics.retries[("start_execution", SFN)] == start.fired == 2
    assert metrics.retries[("get_execution_status", SFN)] == polls.fired + lost.fired == 5
    assert metrics.executions[("wf", ExecutionState.SUCCEEDED)] == 1
    assert not metrics.errors
