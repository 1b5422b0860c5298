"""A Manager keeps nothing it needs: a new one acts on what another created and started.

Manager A creates the workflows and starts executions; Manager B is built
afterwards over the same engines (the same MockProvider instance, whose
state is the mock engine; a fresh StepFunctionsProvider on the same moto
server), with both providers registered and no ``default_provider``. B
routes every call by the engines' own answers (``owns_execution``,
``get_workflow``) and applies the RetryPolicy stored with the workflow.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import make_spec

from landlord_workflow import (
    CallPolicy,
    ExecutionFailedError,
    ExecutionInput,
    ExecutionState,
    Manager,
    MetricsCollector,
    ProviderUnavailableError,
    Registry,
    RetryPolicy,
    WorkflowSpec,
)
from landlord_workflow.providers.mock import MockProvider, TaskFailure, VirtualClock
from landlord_workflow.testing import LocalStepFunctions

pytestmark = [pytest.mark.asyncio, pytest.mark.moto]

RETRY = RetryPolicy(
    max_attempts=3,
    initial_interval=timedelta(milliseconds=1),
    max_interval=timedelta(milliseconds=1),
)
FLAKY = {
    "StartAt": "Provision",
    "States": {"Provision": {"Type": "Task", "Resource": "provision", "End": True}},
}
FAILING = {
    "StartAt": "Explode",
    "States": {"Explode": {"Type": "Fail", "Error": "Tenant.Broken"}},
}
SLOW = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def spec(workflow_id: str, provider_type: str, definition: dict[str, Any]) -> WorkflowSpec:
    """A spec with every optional field set, so a fresh Manager has all of them to read."""
    return make_spec(
        definition,
        workflow_id=workflow_id,
        provider_type=provider_type,
        name=f"Tenant provisioning ({provider_type})",
        description="created by Manager A",
        retry_policy=RETRY,
        tags={"team": "platform"},
    )


def fails_twice() -> Any:
    calls = {"n": 0}

    async def provision(task_input: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise TaskFailure("Compute.Unavailable", f"attempt {calls['n']}")
        return {**task_input, "compute": "vm-1"}

    return provision


async def test_a_new_manager_acts_on_what_another_one_created_and_started(
    stepfunctions_engine: LocalStepFunctions, fast_calls: CallPolicy
) -> None:
    # Real time: the slow executions must still run when B looks at them.
    mock = MockProvider(task_handlers={"provision": fails_twice()})
    registry_a = Registry()
    registry_a.register(mock)
    sfn_a = stepfunctions_engine.provider()
    registry_a.register(sfn_a)
    manager_a = Manager(registry_a, call_policy=fast_calls)
    await manager_a.create_workflow(spec("flaky", "mock", FLAKY))
    await manager_a.create_workflow(spec("slow-mock", "mock", SLOW))
    await manager_a.create_workflow(spec("failing", "step-functions", FAILING))
    await manager_a.create_workflow(spec("slow-sfn", "step-functions", SLOW))
    slow_mock = await manager_a.start_execution("slow-mock", ExecutionInput(input={"t": 1}))
    slow_sfn = await manager_a.start_execution("slow-sfn", ExecutionInput(input={"t": 2}))
    await sfn_a.aclose()  # A's Step Functions client is gone; B opens its own

    registry_b = Registry()
    registry_b.register(mock)  # the same engine state
    registry_b.register(stepfunctions_engine.provider())  # a fresh adapter, the same server
    metrics = MetricsCollector()
    async with Manager(registry_b, call_policy=fast_calls, hooks=[metrics]) as manager_b:
        assert manager_b.default_provider is None

        # The workflow's RetryPolicy comes from the mock engine: three attempts,
        # the third (a redrive of the failed Task) succeeds.
        status = await manager_b.run("flaky", ExecutionInput(input={"tenant": "t-1"}))
        assert status.state is ExecutionState.SUCCEEDED
        assert status.output == {"tenant": "t-1", "compute": "vm-1"}
        assert status.metadata["redrive_count"] == 2
        assert metrics.calls[("redrive_execution", "mock")] == 2

        # ... and from Step Functions' tags: B redrives the failed execution
        # (moto has no RedriveExecution: it answers 500, so the run ends there).
        with pytest.raises((ExecutionFailedError, ProviderUnavailableError)):
            await manager_b.run("failing", ExecutionInput(input={}))
        assert metrics.calls[("redrive_execution", "step-functions")] == 1

        # Executions A started: B watches, stops and lists them.
        for started, provider in ((slow_mock, "mock"), (slow_sfn, "step-functions")):
            watched = manager_b.watch(started.execution_id)
            first = await anext(watched)
            assert (first.state, first.provider_type) == (ExecutionState.RUNNING, provider)
            await manager_b.stop_execution(started.execution_id, "tenant deleted")
            final = [status async for status in watched]
            assert [s.state for s in final] == [ExecutionState.CANCELLED]
            listed = [s.execution_id async for s in manager_b.list_executions(started.workflow_id)]
            assert listed == [started.execution_id]

        # The specs A created, every field, read back from the engines.
        workflows = {w.workflow_id: w async for w in manager_b.list_workflows()}
        assert workflows["flaky"] == spec("flaky", "mock", FLAKY)
        assert workflows["failing"] == spec("failing", "step-functions", FAILING)
        assert await manager_b.get_workflow("slow-sfn") == spec("slow-sfn", "step-functions", SLOW)


async def test_a_new_manager_redrives_an_execution_another_one_ran(
    fast_calls: CallPolicy,
) -> None:
    mock = MockProvider(task_handlers={"provision": fails_twice()}, clock=VirtualClock())
    registry_a = Registry()
    registry_a.register(mock)
    manager_a = Manager(registry_a, call_policy=fast_calls)
    single_attempt = make_spec(FLAKY, workflow_id="flaky", name="single attempt")
    await manager_a.create_workflow(single_attempt)
    with pytest.raises(ExecutionFailedError) as failed:
        await manager_a.run("flaky", ExecutionInput(input={}))
    execution_id = failed.value.status.execution_id

    registry_b = Registry()
    registry_b.register(mock)
    async with Manager(registry_b, call_policy=fast_calls) as manager_b:
        await manager_b.redrive_execution(execution_id)
        assert (await manager_b.wait_for_completion(execution_id)).state is ExecutionState.FAILED
        await manager_b.redrive_execution(execution_id)
        final = await manager_b.wait_for_completion(execution_id)
        assert final.state is ExecutionState.SUCCEEDED
        assert final.metadata["redrive_count"] == 2
