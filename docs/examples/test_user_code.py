"""Testing your own control-plane code with landlord-workflow's testing kit.

The ``stepfunctions_provider`` fixture comes from the plugin, enabled in
``conftest.py`` with ``pytest_plugins = ["landlord_workflow.testing.pytest_plugin"]``.
"""

from __future__ import annotations

from typing import Any

import pytest

from landlord_workflow import (
    ExecutionFailedError,
    ExecutionInput,
    ExecutionState,
    Manager,
    MetricsCollector,
    Registry,
    WorkflowSpec,
)
from landlord_workflow.providers.mock import MockProvider, TaskFailure
from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
from landlord_workflow.testing import fast_call_policy, fast_poll_policy

DEFINITION = {
    "StartAt": "ProvisionCompute",
    "States": {
        "ProvisionCompute": {
            "Type": "Task",
            "Resource": "provision-compute",
            "ResultPath": "$.compute",
            "End": True,
        }
    },
}


LOCAL_DEFINITION = {
    "StartAt": "ProvisionCompute",
    "States": {
        # moto runs the ASL but cannot call Python handlers: a Pass state stands in.
        "ProvisionCompute": {
            "Type": "Pass",
            "Result": {"instance_id": "vm-local"},
            "ResultPath": "$.compute",
            "End": True,
        }
    },
}


async def provision(
    manager: Manager,
    tenant_id: str,
    *,
    provider_type: str = "mock",
    definition: dict[str, Any] = DEFINITION,
) -> str:
    """The code under test: what your control plane does for a new tenant."""
    await manager.create_workflow(
        WorkflowSpec(
            workflow_id="tenant-provisioning",
            provider_type=provider_type,
            name="Tenant provisioning",
            definition=definition,
        )
    )
    status = await manager.run(
        "tenant-provisioning",
        ExecutionInput(input={"tenant_id": tenant_id}, execution_name=f"provision-{tenant_id}"),
    )
    return str(status.output["compute"]["instance_id"])


async def fake_compute(task: dict[str, str]) -> dict[str, str]:
    if task["tenant_id"] == "no-capacity":
        raise TaskFailure("Compute.NoCapacity", "no hosts left")
    return {"instance_id": f"vm-{task['tenant_id']}"}


@pytest.mark.asyncio
async def test_provision_survives_a_throttled_engine() -> None:
    mock = MockProvider(task_handlers={"provision-compute": fake_compute})
    mock.faults.throttle("start_execution", times=2)
    metrics = MetricsCollector()
    registry = Registry()
    registry.register(mock)
    async with Manager(registry, call_policy=fast_call_policy(), hooks=[metrics]) as manager:
        assert await provision(manager, "acme") == "vm-acme"
    assert metrics.total_retries("start_execution") == 2


@pytest.mark.asyncio
async def test_provision_reports_where_it_failed() -> None:
    registry = Registry()
    registry.register(MockProvider(task_handlers={"provision-compute": fake_compute}))
    async with Manager(registry) as manager:
        with pytest.raises(ExecutionFailedError) as info:
            await provision(manager, "no-capacity")
    status = info.value.status
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.failed_at == "ProvisionCompute"
    assert status.error.code == "Compute.NoCapacity"


@pytest.mark.asyncio
async def test_provision_on_a_local_step_functions_engine(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    registry = Registry()
    registry.register(stepfunctions_provider)
    async with Manager(registry, poll_policy=fast_poll_policy()) as manager:
        instance = await provision(
            manager, "acme", provider_type="step-functions", definition=LOCAL_DEFINITION
        )
    assert instance == "vm-local"
