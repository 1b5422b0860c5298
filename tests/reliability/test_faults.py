"""Fault injection through the Manager, the same scenarios on every engine.

Every Manager operation that reaches the engine gets throttling,
unavailability, lost responses and latency spikes, injected at the engine's
own boundary (``reliability/engines.py``: the mock's ``provider.faults``,
botocore event hooks on the Step Functions client against moto, temporalio's
RPC entry point against the Temporal dev server). Each logical call either
completes exactly once (one workflow, one execution, one stop, one redrive)
or fails with a typed ``WorkflowError`` and leaves no effect behind; the
MetricsCollector shows one retry per injected transient fault.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from typing import Any, ClassVar

import anyio
import pytest
import pytest_asyncio
from conftest import make_spec
from reliability.engines import ENGINES, FaultyEngine, opened_engine
from reliability.support import counters, delta, manager_for, named, no_sleep_policy

from landlord_workflow import (
    ExecutionAlreadyExistsError,
    ExecutionInput,
    ExecutionState,
    Manager,
    OperationTimeoutError,
    ProviderUnavailableError,
    ThrottledError,
    TransientError,
    WorkflowError,
    WorkflowNotFoundError,
    WorkflowSpec,
)
from landlord_workflow.testing._conformance import wait_until_terminal

pytestmark = pytest.mark.asyncio

# -- the numbers this module runs with --------------------------------------------------------
MAX_ATTEMPTS = 5
"""CallPolicy.max_attempts of the Manager under test."""
FAULTS_PER_CALL = 2
"""Transient faults injected in a row into one logical call (it must still succeed)."""
LATENCY_SPIKE = 5.0
"""Seconds of injected latency, far above the attempt timeout: OperationTimeoutError (the
attempt is cancelled after the engine's ``spike_attempt_timeout``; the spike costs nothing more)."""
LATENCY_HARMLESS = 0.05
"""Seconds of injected latency below the attempt timeout: the call succeeds."""
HARMLESS_ATTEMPT_TIMEOUT = 2.0
"""Seconds: CallPolicy.attempt_timeout with LATENCY_HARMLESS (a 40x margin for busy CI)."""
STOP_REASON = "tenant deleted"
EXPECTED_ERROR: dict[str, type[TransientError]] = {
    "throttle": ThrottledError,
    "unavailable": ProviderUnavailableError,
    "connection": ProviderUnavailableError,
    "drop_response": ProviderUnavailableError,
}


@pytest_asyncio.fixture
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[FaultyEngine]:
    """The engine named by the test's parameter, open, with nothing injected yet."""
    async with opened_engine(request.param, request) as opened:
        yield opened


# -- the scenarios: one Manager operation each ------------------------------------------------


class Scenario:
    """One Manager operation: prepare the engine, run the call, check its effect."""

    operation: ClassVar[str]

    relaxed: Manager
    """A Manager with the default policy, for setup and recovery."""

    def __init__(self, engine: FaultyEngine) -> None:
        self.engine = engine
        self.provider: Any = engine.provider
        self.workflow_id = engine.new_workflow_id()
        self.execution_id = ""

    def spec(self, definition: Any) -> WorkflowSpec:
        return make_spec(definition, workflow_id=self.workflow_id, provider_type=self.engine.name)

    async def setup(self, manager: Manager) -> None:
        """Everything the call needs, done without faults."""

    async def perform(self, manager: Manager) -> Any:
        raise NotImplementedError

    async def check_done(self, result: Any) -> None:
        """The call's effect happened, exactly once."""
        raise NotImplementedError

    async def check_not_done(self) -> None:
        """The call left no effect (it failed before reaching the engine)."""
        raise NotImplementedError

    async def history_count(self, event_type: str, *, expected: bool = True) -> int:
        """How often ``event_type`` is in the history; when ``expected``, once it is there
        at all (moto writes an execution's closing event a moment after its status)."""
        with anyio.fail_after(10):
            while True:
                status = await self.provider.get_execution_status(
                    self.execution_id, include_history=True
                )
                count = [event.type for event in status.history].count(event_type)
                if count or not expected:
                    return count
                await anyio.sleep(0.02)

    async def start_held(self, manager: Manager) -> None:
        await manager.create_workflow(self.spec(self.engine.holds))
        self.execution_id = (
            await manager.start_execution(self.workflow_id, named("run-1"))
        ).execution_id
        self.engine.track(self.execution_id)


class CreateWorkflow(Scenario):
    operation = "create_workflow"

    async def perform(self, manager: Manager) -> Any:
        return await manager.create_workflow(self.spec(self.engine.succeeds))

    async def check_done(self, result: Any) -> None:
        assert result.workflow_id == self.workflow_id
        assert result.resource_ids == self.engine.resource_ids(self.workflow_id)
        assert await self.provider.get_workflow(self.workflow_id) == self.spec(self.engine.succeeds)
        assert await self.engine.listed_workflows([self.workflow_id]) == [self.workflow_id]
        assert await self.engine.listed_executions(self.workflow_id, []) == []

    async def check_not_done(self) -> None:
        with pytest.raises(WorkflowNotFoundError):
            await self.provider.get_workflow(self.workflow_id)
        assert await self.engine.listed_workflows([]) == []


class StartExecution(Scenario):
    operation = "start_execution"
    name: str | None = None
    """None: the Manager fixes a name before the first attempt. A caller that
    retries a failed start itself passes a name (see the lost-response test)."""

    async def setup(self, manager: Manager) -> None:
        await manager.create_workflow(self.spec(self.engine.holds))

    async def perform(self, manager: Manager) -> Any:
        request = ExecutionInput(input={"tenant": "t-1"}, execution_name=self.name)
        result = await manager.start_execution(self.workflow_id, request)
        self.execution_id = result.execution_id
        self.engine.track(result.execution_id)
        return result

    async def check_done(self, result: Any) -> None:
        listed = await self.engine.listed_executions(self.workflow_id, [result.execution_id])
        assert listed == [result.execution_id]
        status = await self.provider.get_execution_status(result.execution_id, include_history=True)
        assert status.state is ExecutionState.RUNNING
        assert status.history[0].type == "ExecutionStarted"
        assert await self.history_count("ExecutionStarted") == 1
        name = str(status.metadata.get("execution_name", ""))
        assert await self.engine.task_runs("held", self.workflow_id, name) in (1, None), (
            "the workflow ran once (where the test can count its task)"
        )

    async def check_not_done(self) -> None:
        assert await self.engine.listed_executions(self.workflow_id, []) == []
        assert await self.engine.task_runs("held", self.workflow_id, "") in (0, None)


class GetExecutionStatus(Scenario):
    operation = "get_execution_status"

    async def setup(self, manager: Manager) -> None:
        await self.start_held(manager)

    async def perform(self, manager: Manager) -> Any:
        return await manager.get_execution_status(self.execution_id)

    async def check_done(self, result: Any) -> None:
        assert result.execution_id == self.execution_id
        assert result.state is ExecutionState.RUNNING
        assert result.input == {"tenant": "t-1"}

    async def check_not_done(self) -> None:
        listed = await self.engine.listed_executions(self.workflow_id, [self.execution_id])
        assert listed == [self.execution_id]


class StopExecution(Scenario):
    operation = "stop_execution"

    async def setup(self, manager: Manager) -> None:
        await self.start_held(manager)

    async def perform(self, manager: Manager) -> Any:
        return await manager.stop_execution(self.execution_id, STOP_REASON)

    async def check_done(self, result: Any) -> None:
        assert result is None
        # Engines that run executions elsewhere end them a moment after the stop's answer.
        status = await wait_until_terminal(self.provider, self.execution_id, timeout=15)
        assert status.state is ExecutionState.CANCELLED
        assert status.error is not None
        assert status.error.cause == (STOP_REASON if self.engine.reports_stop_cause else None)
        assert await self.history_count("ExecutionCancelled") == 1

    async def check_not_done(self) -> None:
        status = await self.provider.get_execution_status(self.execution_id)
        assert status.state is ExecutionState.RUNNING


class DeleteWorkflow(Scenario):
    operation = "delete_workflow"

    async def setup(self, manager: Manager) -> None:
        await manager.create_workflow(self.spec(self.engine.succeeds))

    async def perform(self, manager: Manager) -> Any:
        return await manager.delete_workflow(self.workflow_id)

    async def check_done(self, result: Any) -> None:
        assert result is None
        with pytest.raises(WorkflowNotFoundError):
            await self.provider.get_workflow(self.workflow_id)
        assert await self.engine.listed_workflows([]) == []

    async def check_not_done(self) -> None:
        assert await self.provider.get_workflow(self.workflow_id) == self.spec(self.engine.succeeds)


class RedriveExecution(Scenario):
    operation = "redrive_execution"

    async def setup(self, manager: Manager) -> None:
        await manager.create_workflow(self.spec(self.engine.fails_once))
        self.engine.fail_first_run(self.workflow_id, "run-1")
        self.execution_id = (
            await manager.start_execution(self.workflow_id, named("run-1"))
        ).execution_id
        failed = await manager.wait_for_completion(self.execution_id)
        assert failed.state is ExecutionState.FAILED
        assert await self.flaky_runs() == 1

    async def flaky_runs(self) -> int | None:
        return await self.engine.task_runs("flaky", self.workflow_id, "run-1")

    async def perform(self, manager: Manager) -> Any:
        return await manager.redrive_execution(self.execution_id)

    async def check_done(self, result: Any) -> None:
        assert result.execution_id == self.execution_id
        final = await wait_until_terminal(self.provider, self.execution_id, timeout=15)
        assert final.state is ExecutionState.SUCCEEDED
        assert await self.flaky_runs() == 2, "the failed task ran again exactly once"
        assert await self.history_count("ExecutionRedriven") == 1

    async def check_not_done(self) -> None:
        status = await self.provider.get_execution_status(self.execution_id)
        assert status.state is ExecutionState.FAILED
        assert await self.history_count("ExecutionRedriven", expected=False) == 0
        assert await self.flaky_runs() == 1


SCENARIOS: tuple[type[Scenario], ...] = (
    CreateWorkflow,
    StartExecution,
    GetExecutionStatus,
    StopExecution,
    DeleteWorkflow,
    RedriveExecution,
)


def matrix(kinds: str | None = None, *, only: str = "operations") -> list[Any]:
    """(engine, scenario[, fault kind]) for every operation each engine has.

    ``kinds``: the name of the engine's attribute listing the fault kinds to run;
    ``only``: the name of its attribute listing the operations to run.
    """
    params = []
    for engine_type in ENGINES:
        for scenario in SCENARIOS:
            wanted = set(engine_type.operations) & set(getattr(engine_type, only))
            if scenario.operation not in wanted:
                continue
            kind_list: Iterable[str | None] = getattr(engine_type, kinds) if kinds else [None]
            for kind in kind_list:
                values = (
                    (engine_type.name, scenario)
                    if kinds is None
                    else (engine_type.name, scenario, kind)
                )
                label = "-".join(x for x in (engine_type.name, scenario.operation, kind) if x)
                params.append(pytest.param(*values, id=label, marks=engine_type.marks))
    return params


def engines() -> list[Any]:
    return [pytest.param(e.name, id=e.name, marks=e.marks) for e in ENGINES]


async def prepared(
    engine: FaultyEngine, scenario_type: type[Scenario], **policy: Any
) -> tuple[Scenario, Manager, Any]:
    manager, metrics = manager_for(
        engine.provider, call_policy=no_sleep_policy(max_attempts=MAX_ATTEMPTS, **policy)
    )
    scenario = scenario_type(engine)
    # Setup and recovery go through a Manager with the default policy, so a
    # tight attempt timeout only ever applies to the call under test.
    scenario.relaxed = manager_for(engine.provider)[0]
    await scenario.setup(scenario.relaxed)
    return scenario, manager, metrics


# -- the matrix ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("engine", "scenario_type", "kind"), matrix("kinds"), indirect=["engine"])
async def test_transient_faults_are_retried_and_the_call_takes_effect_once(
    engine: FaultyEngine, scenario_type: type[Scenario], kind: str
) -> None:
    scenario, manager, metrics = await prepared(engine, scenario_type)
    op, name = scenario.operation, engine.name
    before, calls_before = counters(metrics), engine.faults.calls(op)
    engine.inject(kind, op, FAULTS_PER_CALL)

    result = await scenario.perform(manager)

    change = delta(metrics, before)
    fired = engine.injected(op)
    if kind == "drop_response" and op not in engine.resends_after_lost_answer:
        assert fired == 1, "the retry found the effect and sent nothing"
    else:
        assert fired == FAULTS_PER_CALL
        assert engine.faults.calls(op) - calls_before == FAULTS_PER_CALL + 1
    assert change["calls"][(op, name)] == 1
    assert change["attempts"][(op, name)] == fired + 1
    assert change["retries"][(op, name)] == fired, "one retry per injected fault"
    assert not change["errors"]
    await scenario.check_done(result)


@pytest.mark.parametrize(
    ("engine", "scenario_type", "kind"), matrix("refusals"), indirect=["engine"]
)
async def test_faults_on_every_attempt_fail_typed_and_leave_no_effect(
    engine: FaultyEngine, scenario_type: type[Scenario], kind: str
) -> None:
    scenario, manager, metrics = await prepared(engine, scenario_type)
    op, name = scenario.operation, engine.name
    before = counters(metrics)
    engine.inject(kind, op, MAX_ATTEMPTS)

    with pytest.raises(EXPECTED_ERROR[kind]) as caught:
        await scenario.perform(manager)

    if engine.native_errors:
        assert isinstance(caught.value.__cause__, engine.native_errors), (
            "the engine's error is chained"
        )
    change = delta(metrics, before)
    assert engine.injected(op) == MAX_ATTEMPTS
    assert change["attempts"][(op, name)] == MAX_ATTEMPTS
    assert change["retries"][(op, name)] == MAX_ATTEMPTS - 1
    assert change["errors"] == {(op, name, EXPECTED_ERROR[kind].__name__): 1}
    await scenario.check_not_done()
    # Once the engine recovers, the same call completes exactly once.
    result = await scenario.perform(manager)
    await scenario.check_done(result)


# Where a retry reads first and finds the effect, it needs no answer that could be lost:
# the transient test covers that operation's lost answer.
@pytest.mark.parametrize(
    ("engine", "scenario_type"), matrix(only="resends_after_lost_answer"), indirect=["engine"]
)
async def test_every_response_lost_fails_typed_but_the_effect_happened_once(
    engine: FaultyEngine, scenario_type: type[Scenario]
) -> None:
    scenario, manager, metrics = await prepared(engine, scenario_type)
    op, name = scenario.operation, engine.name
    if isinstance(scenario, StartExecution):
        scenario.name = "tenant-acme"  # the caller will retry the same start
    before = counters(metrics)
    engine.inject("drop_response", op, MAX_ATTEMPTS)

    with pytest.raises(ProviderUnavailableError):
        await scenario.perform(manager)

    change = delta(metrics, before)
    assert change["attempts"][(op, name)] == MAX_ATTEMPTS
    assert change["retries"][(op, name)] == MAX_ATTEMPTS - 1
    assert engine.injected(op) == MAX_ATTEMPTS, "every attempt reached the engine"
    # Idempotency kept it to one effect.
    result = await scenario.perform(manager)
    await scenario.check_done(result)


@pytest.mark.parametrize(("engine", "scenario_type"), matrix(), indirect=["engine"])
async def test_latency_spike_beyond_the_attempt_timeout_is_an_operation_timeout(
    engine: FaultyEngine, scenario_type: type[Scenario]
) -> None:
    timeout = timedelta(seconds=engine.spike_attempt_timeout)
    scenario, manager, metrics = await prepared(engine, scenario_type, attempt_timeout=timeout)
    op, name = scenario.operation, engine.name
    before, calls_before = counters(metrics), engine.faults.calls(op)
    engine.faults.latency(op, LATENCY_SPIKE)

    with pytest.raises(OperationTimeoutError) as caught:
        await scenario.perform(manager)

    assert isinstance(caught.value, WorkflowError)
    assert isinstance(caught.value, TimeoutError)
    change = delta(metrics, before)
    assert engine.faults.calls(op) - calls_before == 1, "one attempt met the latency"
    assert change["attempts"][(op, name)] == 1, "a timed-out attempt is not retried"
    assert change["retries"][(op, name)] == 0
    assert change["errors"] == {(op, name, "OperationTimeoutError"): 1}
    # The latency came before the engine acted: nothing happened.
    engine.faults.latency(op, None)
    await scenario.check_not_done()
    result = await scenario.perform(scenario.relaxed)
    await scenario.check_done(result)


@pytest.mark.parametrize(("engine", "scenario_type"), matrix(), indirect=["engine"])
async def test_latency_below_the_attempt_timeout_is_harmless(
    engine: FaultyEngine, scenario_type: type[Scenario]
) -> None:
    timeout = timedelta(seconds=HARMLESS_ATTEMPT_TIMEOUT)
    scenario, manager, metrics = await prepared(engine, scenario_type, attempt_timeout=timeout)
    op, name = scenario.operation, engine.name
    before = counters(metrics)
    engine.faults.latency(op, LATENCY_HARMLESS)

    result = await scenario.perform(manager)

    change = delta(metrics, before)
    assert change["attempts"][(op, name)] == 1
    assert not change["errors"]
    assert metrics.latency(op).max >= LATENCY_HARMLESS
    await scenario.check_done(result)


# -- across operations --------------------------------------------------------------------------


@pytest.mark.parametrize("engine", engines(), indirect=True)
async def test_a_retried_start_whose_answer_was_lost_returns_the_execution_even_ended(
    engine: FaultyEngine,
) -> None:
    """The start's answer is lost and the quick execution ends before the caller
    retries (same name): the retry gets that execution back, one execution, and
    the caller learns its id. A deliberate second start of the ended execution
    is still refused, naming it."""
    manager, _ = manager_for(engine.provider, call_policy=no_sleep_policy(max_attempts=1))
    workflow_id = engine.new_workflow_id()
    await manager.create_workflow(
        make_spec(engine.succeeds, workflow_id=workflow_id, provider_type=engine.name)
    )
    engine.inject("drop_response", "start_execution", 1)
    with pytest.raises(ProviderUnavailableError) as unanswered:
        await manager.start_execution(workflow_id, named("run-1"))
    if engine.native_errors:
        assert isinstance(unanswered.value.__cause__, engine.native_errors)
    [lost] = await engine.listed_executions(workflow_id, 1)
    assert (await wait_until_terminal(engine.provider, lost, timeout=15)).state is (
        ExecutionState.SUCCEEDED
    )

    result = await manager.start_execution(workflow_id, named("run-1"))

    assert result.execution_id == lost
    assert result.state is ExecutionState.SUCCEEDED
    assert await engine.listed_executions(workflow_id, [lost]) == [lost], "it ran, once"
    with pytest.raises(ExecutionAlreadyExistsError) as refused:
        await manager.start_execution(workflow_id, named("run-1"))
    assert refused.value.execution_id == lost


@pytest.mark.parametrize("engine", engines(), indirect=True)
async def test_a_mixed_storm_on_every_operation_still_gives_one_execution_each(
    engine: FaultyEngine,
) -> None:
    """Throttling, unavailability and lost responses at random on all operations
    at once: every execution exists once and ends as asked, and every injected
    fault was retried."""
    manager, metrics = manager_for(engine.provider, call_policy=no_sleep_policy(max_attempts=10))
    quick, held = engine.new_workflow_id("-quick"), engine.new_workflow_id("-held")
    engine.storm()
    await manager.create_workflow(
        make_spec(engine.succeeds, workflow_id=quick, provider_type=engine.name)
    )
    await manager.create_workflow(
        make_spec(engine.holds, workflow_id=held, provider_type=engine.name)
    )
    started = [
        await manager.start_execution(workflow_id, ExecutionInput(input={"n": n}))
        for n in range(10)
        for workflow_id in (quick, held)
    ]
    for result in started[1::2]:
        await manager.stop_execution(result.execution_id, "storm")
    finals = [await manager.wait_for_completion(r.execution_id) for r in started]
    ids = [r.execution_id for r in started]
    engine_side = [
        *await engine.listed_executions(quick, ids[0::2]),
        *await engine.listed_executions(held, ids[1::2]),
    ]
    await manager.delete_workflow(quick)
    await manager.delete_workflow(held)

    assert len(set(ids)) == 20
    assert sorted(engine_side) == sorted(ids)
    states = [f.state for f in finals]
    assert states == [ExecutionState.SUCCEEDED, ExecutionState.CANCELLED] * 10
    injected = engine.injected_in_all()
    assert injected > 0
    assert metrics.total_retries() == injected, "every injected transient fault was retried"
    assert not metrics.errors
