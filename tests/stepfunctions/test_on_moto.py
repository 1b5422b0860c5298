"""StepFunctionsProvider against a real local ASL engine (moto server).

Every test gets a freshly reset engine and an open provider with fake
credentials (fixtures in landlord_workflow.testing.pytest_plugin).
"""

from __future__ import annotations

import gc
import json
import warnings
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import anyio
import pytest
from botocore.exceptions import ConnectionClosedError
from conftest import make_spec

from landlord_workflow import (
    ExecutionAlreadyExistsError,
    ExecutionInput,
    ExecutionNotFoundError,
    ExecutionState,
    ExecutionStatus,
    InvalidSpecError,
    ProviderError,
    ProviderUnavailableError,
    WorkflowNotFoundError,
    WorkflowSpec,
)
from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
from landlord_workflow.testing._conformance import wait_until_terminal
from landlord_workflow.testing._moto import FAKE_ROLE_ARN, LocalStepFunctions

pytestmark = [pytest.mark.asyncio, pytest.mark.moto]

TENANT_PROVISIONING: dict[str, Any] = {
    "Comment": "Provision one tenant",
    "StartAt": "ProvisionCompute",
    "States": {
        "ProvisionCompute": {
            "Type": "Pass",
            "Result": {"instance": "i-0123"},
            "ResultPath": "$.compute",
            "Next": "ConfigureNetworking",
        },
        "ConfigureNetworking": {
            "Type": "Pass",
            "Result": {"vpc": "vpc-42"},
            "ResultPath": "$.network",
            "Next": "InitializeDatabase",
        },
        "InitializeDatabase": {
            "Type": "Pass",
            "Result": {"database": "tenant_acme"},
            "ResultPath": "$.database",
            "Next": "RunMigrations",
        },
        "RunMigrations": {
            "Type": "Pass",
            "Result": {"applied": 7},
            "ResultPath": "$.migrations",
            "End": True,
        },
    },
}
FAILING: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Reject"},
        "Reject": {"Type": "Fail", "Error": "Tenant.QuotaExceeded", "Cause": "no capacity left"},
    },
}
# moto runs task integrations in-process; a Lambda that does not exist fails
# the task with Lambda.ResourceNotFoundException, which Retry and Catch see.
RETRY_THEN_CATCH: dict[str, Any] = {
    "StartAt": "CallBilling",
    "States": {
        "CallBilling": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "billing-does-not-exist"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Fallback"}],
            "End": True,
        },
        "Fallback": {
            "Type": "Pass",
            "Result": "billing skipped",
            "ResultPath": "$.note",
            "End": True,
        },
    },
}
FAILING_TASK: dict[str, Any] = {
    "StartAt": "ProvisionCompute",
    "States": {
        "ProvisionCompute": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:provision-compute",
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


def waiting(seconds: int) -> dict[str, Any]:
    return {
        "StartAt": "Wait",
        "States": {"Wait": {"Type": "Wait", "Seconds": seconds, "End": True}},
    }


def sfn_spec(definition: Mapping[str, Any], **fields: Any) -> WorkflowSpec:
    """The suite's spec factory for this engine, workflow ``wf``."""
    return make_spec(definition, workflow_id="wf", provider_type="step-functions", **fields)


async def wait_terminal(
    provider: StepFunctionsProvider, execution_id: str, *, seconds: float = 15
) -> ExecutionStatus:
    with anyio.fail_after(seconds):
        while True:
            status = await provider.get_execution_status(execution_id)
            if status.state.is_terminal:
                return status
            await anyio.sleep(0.05)


async def run(
    provider: StepFunctionsProvider,
    definition: Mapping[str, Any],
    payload: Any = None,
    **spec_changes: Any,
) -> ExecutionStatus:
    await provider.create_workflow(sfn_spec(definition, **spec_changes))
    started = await provider.start_execution("wf", ExecutionInput(input=payload or {}))
    return await wait_terminal(provider, started.execution_id)


# -- execution outcomes ------------------------------------------------------------


async def test_tenant_provisioning_runs_all_four_steps_to_succeeded(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    status = await run(stepfunctions_provider, TENANT_PROVISIONING, {"tenant": "acme"})

    assert status.state is ExecutionState.SUCCEEDED
    assert status.error is None
    assert status.input == {"tenant": "acme"}
    assert status.output == {
        "tenant": "acme",
        "compute": {"instance": "i-0123"},
        "network": {"vpc": "vpc-42"},
        "database": {"database": "tenant_acme"},
        "migrations": {"applied": 7},
    }
    assert status.stop_time is not None
    assert status.stop_time >= status.start_time
    assert status.workflow_id == "wf"
    assert status.provider_type == "step-functions"
    assert status.history == ()  # only on request


async def test_history_is_normalised_with_raw_types_and_state_names(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    done = await run(stepfunctions_provider, TENANT_PROVISIONING)
    status = await stepfunctions_provider.get_execution_status(
        done.execution_id, include_history=True
    )

    steps = ["ProvisionCompute", "ConfigureNetworking", "InitializeDatabase", "RunMigrations"]
    expected: list[tuple[str, str | None]] = [("ExecutionStarted", None)]
    for step in steps:
        expected += [("StateEntered", step), ("StateExited", step)]
    expected.append(("ExecutionSucceeded", None))
    assert [(e.type, e.details.get("state")) for e in status.history] == expected
    assert status.history[1].details["raw_type"] == "PassStateEntered"
    assert status.history[-1].details["raw_type"] == "ExecutionSucceeded"
    times = [event.timestamp for event in status.history]
    assert times == sorted(times)
    assert all(t.utcoffset() == timedelta(0) for t in times)


async def test_fail_state_reports_error_cause_and_failed_at(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    status = await run(stepfunctions_provider, FAILING)

    assert status.state is ExecutionState.FAILED
    assert status.output is None
    assert status.error is not None
    assert status.error.code == "Tenant.QuotaExceeded"
    assert status.error.cause == "no capacity left"
    assert status.error.failed_at == "Reject"

    with_history = await stepfunctions_provider.get_execution_status(
        status.execution_id, include_history=True
    )
    assert with_history.error == status.error
    assert with_history.history[-1].type == "ExecutionFailed"
    assert with_history.history[-1].details["error"] == "Tenant.QuotaExceeded"


async def test_failing_task_reports_the_task_state(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    status = await run(stepfunctions_provider, FAILING_TASK)

    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.failed_at == "ProvisionCompute"
    history = await stepfunctions_provider.get_execution_status(
        status.execution_id, include_history=True
    )
    failures = [e for e in history.history if e.type == "TaskFailed"]
    assert [e.details["raw_type"] for e in failures] == ["LambdaFunctionFailed"]
    assert failures[0].details["state"] == "ProvisionCompute"


async def test_task_retry_then_catch_succeeds_via_the_fallback(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    status = await run(stepfunctions_provider, RETRY_THEN_CATCH, {"tenant": "acme"})

    assert status.state is ExecutionState.SUCCEEDED
    assert status.output["note"] == "billing skipped"
    assert status.output["error"]["Error"] == "Lambda.ResourceNotFoundException"

    history = await stepfunctions_provider.get_execution_status(
        status.execution_id, include_history=True
    )
    kinds = [(e.type, e.details.get("state")) for e in history.history]
    assert kinds == [
        ("ExecutionStarted", None),
        ("StateEntered", "CallBilling"),
        ("TaskFailed", "CallBilling"),
        ("TaskRetried", "CallBilling"),
        ("TaskFailed", "CallBilling"),
        ("StateExited", "CallBilling"),
        ("StateEntered", "Fallback"),
        ("StateExited", "Fallback"),
        ("ExecutionSucceeded", None),
    ]
    assert history.history[3].details["raw_type"] == "TaskScheduled"


async def test_spec_timeout_becomes_top_level_timeout_and_ends_timed_out(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    status = await run(stepfunctions_provider, waiting(3), timeout=timedelta(seconds=1))

    assert status.state is ExecutionState.TIMED_OUT
    assert status.output is None
    assert status.error is not None
    assert status.error.code == "States.Timeout"
    described = await stepfunctions_provider.client.describe_state_machine(
        stateMachineArn=status.metadata["stateMachineArn"]
    )
    assert json.loads(described["definition"])["TimeoutSeconds"] == 1


async def test_definition_timeout_wins_over_spec_timeout(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    definition = {**waiting(1), "TimeoutSeconds": 30}
    result = await stepfunctions_provider.create_workflow(
        sfn_spec(definition, timeout=timedelta(seconds=1))
    )
    described = await stepfunctions_provider.client.describe_state_machine(
        stateMachineArn=result.resource_ids["state_machine_arn"]
    )
    assert json.loads(described["definition"])["TimeoutSeconds"] == 30


async def test_stop_cancels_a_running_execution_and_is_idempotent(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    provider = stepfunctions_provider
    await provider.create_workflow(sfn_spec(waiting(5)))
    started = await provider.start_execution("wf", ExecutionInput())
    assert (await provider.get_execution_status(started.execution_id)).state is (
        ExecutionState.RUNNING
    )

    await provider.stop_execution(started.execution_id, "tenant deleted")
    await provider.stop_execution(started.execution_id, "again")  # no-op

    status = await provider.get_execution_status(started.execution_id, include_history=True)
    assert status.state is ExecutionState.CANCELLED
    assert status.output is None
    assert status.error is not None
    assert status.error.code == "Cancelled"
    assert status.history[-1].type == "ExecutionCancelled"
    assert status.history[-1].details["raw_type"] == "ExecutionAborted"


async def test_stop_of_a_finished_execution_changes_nothing(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    done = await run(stepfunctions_provider, TENANT_PROVISIONING)
    await stepfunctions_provider.stop_execution(done.execution_id, "too late")
    after = await stepfunctions_provider.get_execution_status(done.execution_id)
    assert after.state is ExecutionState.SUCCEEDED
    assert after.output == done.output


async def test_unknown_executions_are_not_found(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    provider = stepfunctions_provider
    unknown = "arn:aws:states:us-east-1:123456789012:execution:wf:nope"
    for execution_id in (unknown, "not-an-arn"):
        with pytest.raises(ExecutionNotFoundError):
            await provider.get_execution_status(execution_id)
        with pytest.raises(ExecutionNotFoundError):
            await provider.stop_execution(execution_id, "x")


# -- idempotency -----------------------------------------------------------------------


async def test_create_is_idempotent_and_updates_a_changed_definition_or_role(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    provider = stepfunctions_provider
    first = await provider.create_workflow(sfn_spec(TENANT_PROVISIONING))
    again = await provider.create_workflow(sfn_spec(TENANT_PROVISIONING))
    assert again.resource_ids == first.resource_ids
    assert again.created_at == first.created_at
    assert "updated" not in again.message

    changed = await provider.create_workflow(sfn_spec(FAILING))
    assert changed.resource_ids == first.resource_ids
    assert changed.message == "updated definition"
    arn = first.resource_ids["state_machine_arn"]
    described = await provider.client.describe_state_machine(stateMachineArn=arn)
    assert json.loads(described["definition"]) == FAILING

    other_role = "arn:aws:iam::123456789012:role/other"
    moved = await provider.create_workflow(
        sfn_spec(FAILING, provider_config={"role_arn": other_role})
    )
    assert moved.message == "updated role and spec fields", "provider_config is stored too"
    described = await provider.client.describe_state_machine(stateMachineArn=arn)
    assert described["roleArn"] == other_role

    machines = await provider.client.list_state_machines()
    assert [m["name"] for m in machines["stateMachines"]] == ["wf"]


async def test_create_applies_tags_and_uses_standard_type(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    result = await stepfunctions_provider.create_workflow(
        sfn_spec(TENANT_PROVISIONING, tags={"team": "platform", "env": "test"})
    )
    arn = result.resource_ids["state_machine_arn"]
    assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:wf"  # account via STS
    tags = await stepfunctions_provider.client.list_tags_for_resource(resourceArn=arn)
    plain = {t["key"]: t["value"] for t in tags["tags"] if not t["key"].startswith("landlord-")}
    assert plain == {"team": "platform", "env": "test"}, "the spec's tags, as they are"
    described = await stepfunctions_provider.client.describe_state_machine(stateMachineArn=arn)
    assert described["type"] == "STANDARD"
    assert described["roleArn"] == FAKE_ROLE_ARN


async def test_start_is_idempotent_on_name_and_input_while_running(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    provider = stepfunctions_provider
    await provider.create_workflow(sfn_spec(waiting(2)))
    named = ExecutionInput(input={"tenant": "acme", "plan": "pro"}, execution_name="acme-1")

    first = await provider.start_execution("wf", named)
    second = await provider.start_execution(
        "wf", ExecutionInput(input={"plan": "pro", "tenant": "acme"}, execution_name="acme-1")
    )
    assert second.execution_id == first.execution_id
    assert first.execution_id.endswith(":execution:wf:acme-1")

    with pytest.raises(ExecutionAlreadyExistsError, match="different input"):
        await provider.start_execution(
            "wf", ExecutionInput(input={"tenant": "other"}, execution_name="acme-1")
        )
    await wait_terminal(provider, first.execution_id)
    with pytest.raises(ExecutionAlreadyExistsError, match="succeeded"):
        await provider.start_execution("wf", named)

    executions = [s async for s in provider.list_executions("wf")]
    assert [s.execution_id for s in executions] == [first.execution_id]


async def test_start_sends_deterministic_input_and_generates_a_valid_name(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    provider = stepfunctions_provider
    await provider.create_workflow(sfn_spec(waiting(1)))
    started = await provider.start_execution(
        "wf", ExecutionInput(input={"b": [1, 2], "a": {"z": 1, "y": "é"}})
    )
    raw = await provider.client.describe_execution(executionArn=started.execution_id)
    assert raw["input"] == '{"a":{"y":"é","z":1},"b":[1,2]}'
    assert len(raw["name"]) == 32
    assert all(char in "0123456789abcdef" for char in raw["name"])


async def test_delete_is_idempotent(stepfunctions_provider: StepFunctionsProvider) -> None:
    provider = stepfunctions_provider
    await provider.create_workflow(sfn_spec(TENANT_PROVISIONING))
    await provider.delete_workflow("wf")
    await provider.delete_workflow("wf")
    await provider.delete_workflow("never-created")
    await provider.delete_workflow("not a valid name")

    assert (await provider.client.list_state_machines())["stateMachines"] == []
    with pytest.raises(WorkflowNotFoundError):
        await provider.start_execution("wf", ExecutionInput())


async def test_list_executions_filters_by_state(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    provider = stepfunctions_provider
    await provider.create_workflow(sfn_spec(waiting(5)))
    stopped = await provider.start_execution("wf", ExecutionInput(execution_name="stopped"))
    running = await provider.start_execution("wf", ExecutionInput(execution_name="running"))
    await provider.stop_execution(stopped.execution_id, "test")
    # moto's execution thread notices the stop a moment after StopExecution answers.
    await wait_until_terminal(provider, stopped.execution_id, timeout=5)

    cancelled = [
        s.execution_id async for s in provider.list_executions("wf", state=ExecutionState.CANCELLED)
    ]
    still_running = [s async for s in provider.list_executions("wf", state=ExecutionState.RUNNING)]
    assert cancelled == [stopped.execution_id]
    assert [s.execution_id for s in still_running] == [running.execution_id]
    assert still_running[0].metadata["name"] == "running"
    await provider.stop_execution(running.execution_id, "cleanup")


# -- invalid input ------------------------------------------------------------------------


async def test_engine_rejections_of_definitions_are_invalid_spec_errors(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    # Structurally fine for our local checks, refused by the ASL parser
    # (moto answers 400 with an empty error code).
    broken = {"StartAt": "A", "States": {"A": {"Type": "Task", "End": True}}}
    with pytest.raises(InvalidSpecError) as caught:
        await stepfunctions_provider.create_workflow(sfn_spec(broken))
    assert caught.value.problems[0][0] == "definition"
    assert caught.value.__cause__ is not None


async def test_create_without_a_role_fails_before_any_call(
    stepfunctions_engine: LocalStepFunctions,
    count_calls: Callable[[StepFunctionsProvider], Any],
) -> None:
    async with stepfunctions_engine.provider(role_arn=None) as provider:
        calls = count_calls(provider)
        with pytest.raises(InvalidSpecError, match="role"):
            await provider.create_workflow(sfn_spec(TENANT_PROVISIONING))
        assert calls.counts == {}


# -- acceptance: lost responses, call counts, closing -----------------------------------


async def test_lost_start_response_is_retried_into_the_same_execution(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    provider = stepfunctions_provider
    await provider.create_workflow(sfn_spec(waiting(2)))
    created: list[str] = []

    def lose_first_response(parsed: Mapping[str, Any], **kwargs: Any) -> None:
        # The engine created the execution; its answer never reaches us.
        if not created:
            created.append(str(parsed["executionArn"]))
            raise ConnectionClosedError(
                endpoint_url=stepfunctions_provider.client.meta.endpoint_url
            )

    provider.client.meta.events.register("after-call.sfn.StartExecution", lose_first_response)
    request = ExecutionInput(input={"tenant": "acme"}, execution_name="acme-provisioning")

    with pytest.raises(ProviderUnavailableError) as caught:
        await provider.start_execution("wf", request)
    assert isinstance(caught.value.__cause__, ConnectionClosedError)

    retried = await provider.start_execution("wf", request)
    assert retried.execution_id == created[0]
    executions = [s async for s in provider.list_executions("wf")]
    assert [s.execution_id for s in executions] == created


async def test_a_lost_start_of_a_fast_workflow_is_found_even_after_it_ended(
    stepfunctions_provider: StepFunctionsProvider,
) -> None:
    provider = stepfunctions_provider
    await provider.create_workflow(sfn_spec(TENANT_PROVISIONING))
    created: list[str] = []

    def lose_first_response(parsed: Mapping[str, Any], **kwargs: Any) -> None:
        if not created:
            created.append(str(parsed["executionArn"]))
            raise ConnectionClosedError(endpoint_url="http://127.0.0.1")

    provider.client.meta.events.register("after-call.sfn.StartExecution", lose_first_response)
    request = ExecutionInput(input={"tenant": "acme"}, execution_name="acme-provisioning")
    with pytest.raises(ProviderUnavailableError):
        await provider.start_execution("wf", request)
    finished = await wait_terminal(provider, created[0])
    assert finished.state is ExecutionState.SUCCEEDED

    retried = await provider.start_execution("wf", request)  # the retry of the lost attempt
    assert retried.execution_id == created[0]
    assert retried.state is ExecutionState.SUCCEEDED
    assert "lost" in retried.message
    with pytest.raises(ExecutionAlreadyExistsError):  # a new start with that name is refused
        await provider.start_execution("wf", request)


async def test_status_without_history_is_exactly_one_describe_call(
    stepfunctions_provider: StepFunctionsProvider,
    count_calls: Callable[[StepFunctionsProvider], Any],
) -> None:
    provider = stepfunctions_provider
    await provider.create_workflow(sfn_spec(waiting(2)))
    started = await provider.start_execution("wf", ExecutionInput())
    calls = count_calls(provider)

    for expected in range(1, 6):
        status = await provider.get_execution_status(started.execution_id)
        assert status.state is ExecutionState.RUNNING
        assert calls.counts == {"DescribeExecution": expected}
    await provider.stop_execution(started.execution_id, "done")


async def test_failed_at_costs_one_history_page_once_per_failed_execution(
    stepfunctions_provider: StepFunctionsProvider,
    count_calls: Callable[[StepFunctionsProvider], Any],
) -> None:
    provider = stepfunctions_provider
    failed = await run(provider, FAILING)
    calls = count_calls(provider)

    for _ in range(3):
        status = await provider.get_execution_status(failed.execution_id)
        assert status.error is not None
        assert status.error.failed_at == "Reject"
    # failed_at was found (and cached) while waiting; polling adds no history reads.
    assert calls.counts == {"DescribeExecution": 3}


async def test_closing_the_provider_closes_its_client_and_refuses_calls(
    stepfunctions_engine: LocalStepFunctions,
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with stepfunctions_engine.provider() as provider:
            await provider.create_workflow(sfn_spec(TENANT_PROVISIONING))
            http = provider.client._endpoint.http_session  # aiobotocore internals
            sessions = list(http._sessions.values())
            assert sessions
            assert not any(session.closed for session in sessions)

        assert all(session.closed for session in sessions)
        assert http._sessions == {}
        del http, sessions
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert "closed" in repr(provider)
    with pytest.raises(ProviderError, match="closed"):
        await provider.get_execution_status("arn:aws:states:us-east-1:1:execution:wf:x")
    with pytest.raises(ProviderError, match="closed"):
        _ = provider.client
    with pytest.raises(ProviderError, match="closed"):
        await provider.__aenter__()
    await provider.aclose()  # idempotent
