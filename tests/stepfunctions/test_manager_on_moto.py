"""The Manager over StepFunctionsProvider on moto: retries are the Manager's, once.

botocore's own retries are off, so every attempt the Manager makes is one
request; faults are injected with botocore event hooks on the provider's
client while the real engine (moto) does the rest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
import pytest_asyncio
from aiobotocore.awsrequest import AioAWSResponse
from botocore.exceptions import ConnectionClosedError
from conftest import make_spec
from reliability.support import (
    PASS,
    SFN,
    BotoFault,
    executions_of,
    manager_for,
    named,
    no_sleep_policy,
)

from landlord_workflow import (
    ExecutionInput,
    ExecutionState,
    Manager,
    ProviderError,
    Registry,
)
from landlord_workflow._instrumentation import CallDetails, ExecutionOutcome
from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
from landlord_workflow.testing import fast_call_policy, fast_poll_policy
from landlord_workflow.testing._moto import LocalStepFunctions

pytestmark = [pytest.mark.asyncio, pytest.mark.moto]

PROVISIONING: dict[str, Any] = {
    "StartAt": "ProvisionCompute",
    "States": {
        "ProvisionCompute": {"Type": "Pass", "Next": "ConfigureNetworking"},
        "ConfigureNetworking": {"Type": "Pass", "Next": "InitializeDatabase"},
        "InitializeDatabase": {"Type": "Pass", "Next": "RunMigrations"},
        "RunMigrations": {"Type": "Pass", "Result": "done", "ResultPath": "$.status", "End": True},
    },
}
SLOW: dict[str, Any] = {
    "StartAt": "Hold",
    "States": {"Hold": {"Type": "Wait", "Seconds": 2, "End": True}},
}


class Attempts:
    """An instrumentation hook recording the outcome of every call attempt."""

    def __init__(self) -> None:
        self.calls: list[CallDetails] = []

    def on_call(self, details: CallDetails) -> None:
        self.calls.append(details)

    def on_execution(self, details: ExecutionOutcome) -> None:
        pass

    def outcomes(self, operation: str) -> list[str]:
        return [c.outcome for c in self.calls if c.operation == operation]


def error_response(code: str, status: int) -> tuple[AioAWSResponse, dict[str, Any]]:
    """What botocore makes of an AWS error answer (as aiobotocore's Stubber builds it)."""
    parsed = {
        "Error": {"Code": code, "Message": f"{code} (injected)"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return AioAWSResponse(None, status, {}, None), parsed


@pytest.fixture
def attempts() -> Attempts:
    return Attempts()


@pytest_asyncio.fixture
async def provider(
    stepfunctions_engine: LocalStepFunctions,
) -> AsyncIterator[StepFunctionsProvider]:
    async with stepfunctions_engine.provider() as provider:
        yield provider


@pytest_asyncio.fixture
async def manager(provider: StepFunctionsProvider, attempts: Attempts) -> AsyncIterator[Manager]:
    registry = Registry()
    registry.register(provider)
    async with Manager(
        registry,
        default_provider="step-functions",
        call_policy=fast_call_policy(),
        poll_policy=fast_poll_policy(),
        hooks=[attempts],
    ) as manager:
        yield manager


async def executions(provider: StepFunctionsProvider) -> list[str]:
    return [s.execution_id async for s in provider.list_executions("tenant-provisioning")]


async def test_run_provisions_a_tenant_on_the_local_engine(manager: Manager) -> None:
    await manager.create_workflow(make_spec(PROVISIONING, provider_type=SFN))
    status = await manager.run("tenant-provisioning", ExecutionInput(input={"tenant": "acme"}))
    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == {"tenant": "acme", "status": "done"}


async def test_a_lost_start_response_is_retried_into_one_execution(
    manager: Manager, provider: StepFunctionsProvider, attempts: Attempts
) -> None:
    await manager.create_workflow(make_spec(SLOW, provider_type=SFN))
    created: list[str] = []

    def lose_first_response(parsed: Mapping[str, Any], **kwargs: Any) -> None:
        if not created:
            created.append(str(parsed["executionArn"]))
            raise ConnectionClosedError(endpoint_url=provider.client.meta.endpoint_url)

    provider.client.meta.events.register("after-call.sfn.StartExecution", lose_first_response)

    # No execution name given: the Manager fixes one before the first attempt.
    result = await manager.start_execution("tenant-provisioning", ExecutionInput(input={"n": 1}))

    assert result.execution_id == created[0]
    assert attempts.outcomes("start_execution") == ["retry", "ok"]
    assert await executions(provider) == created


async def test_throttling_twice_then_success_is_retried_by_the_manager(
    manager: Manager, provider: StepFunctionsProvider, attempts: Attempts
) -> None:
    await manager.create_workflow(make_spec(SLOW, provider_type=SFN))
    refusals = 0

    def throttle_twice(**kwargs: Any) -> tuple[AioAWSResponse, dict[str, Any]] | None:
        nonlocal refusals
        if refusals < 2:
            refusals += 1
            return error_response("ThrottlingException", 400)
        return None  # let the request reach the engine

    provider.client.meta.events.register("before-call.sfn.StartExecution", throttle_twice)

    result = await manager.start_execution("tenant-provisioning", ExecutionInput())

    assert attempts.outcomes("start_execution") == ["retry", "retry", "ok"]
    assert [c.error for c in attempts.calls if c.operation == "start_execution"] == [
        "ThrottledError",
        "ThrottledError",
        None,
    ]
    assert await executions(provider) == [result.execution_id]


async def test_access_denied_is_raised_at_once_without_retry(
    manager: Manager, provider: StepFunctionsProvider, attempts: Attempts
) -> None:
    await manager.create_workflow(make_spec(SLOW, provider_type=SFN))
    requests = 0

    def deny(**kwargs: Any) -> tuple[AioAWSResponse, dict[str, Any]]:
        nonlocal requests
        requests += 1
        return error_response("AccessDeniedException", 400)

    provider.client.meta.events.register("before-call.sfn.StartExecution", deny)

    with pytest.raises(ProviderError, match="AccessDeniedException"):
        await manager.start_execution("tenant-provisioning", ExecutionInput())

    assert requests == 1
    assert attempts.outcomes("start_execution") == ["error"]
    assert await executions(provider) == []


async def test_run_survives_faults_on_start_and_every_poll(
    provider: StepFunctionsProvider,
) -> None:
    """Manager.run on a polling provider: a throttled start, flaky DescribeExecution
    polls (unavailable, lost answers); one execution, one retry per fault."""
    manager, metrics = manager_for(provider, call_policy=no_sleep_policy(max_attempts=6))
    await manager.create_workflow(make_spec(PASS, workflow_id="wf", provider_type=SFN))
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
