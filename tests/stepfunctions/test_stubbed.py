"""Paths moto cannot show, through aiobotocore's Stubber and botocore event hooks.

Redrive, history paging, throttling, server errors, dropped connections,
AccessDenied and eventual consistency. These providers point at an address
nothing serves: a request that escaped the stubs would fail loudly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from aiobotocore.stub import AioStubber
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.stub import ANY
from conftest import make_spec

from landlord_workflow import (
    ExecutionAlreadyExistsError,
    ExecutionInput,
    ExecutionNotFoundError,
    ExecutionState,
    InvalidSpecError,
    ProviderError,
    ProviderUnavailableError,
    ThrottledError,
    TransientError,
    WorkflowError,
    WorkflowSpec,
)
from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
from landlord_workflow.providers.stepfunctions._specs import spec_tags as _spec_tags
from landlord_workflow.testing._moto import FAKE_ROLE_ARN

pytestmark = pytest.mark.asyncio

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:wf"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:wf:run-1"
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def stub(offline_provider: StepFunctionsProvider) -> Iterator[AioStubber]:
    with AioStubber(offline_provider.client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def described(status: str = "RUNNING", **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = {
        "executionArn": EXECUTION,
        "stateMachineArn": MACHINE,
        "name": "run-1",
        "status": status,
        "startDate": T0,
        "input": '{"tenant":"acme"}',
    }
    if status != "RUNNING":
        response["stopDate"] = T0 + timedelta(minutes=1)
    response.update(extra)
    return response


def event(event_id: int, kind: str, **details: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "timestamp": T0 + timedelta(milliseconds=event_id),
        "type": kind,
        "id": event_id,
        "previousEventId": event_id - 1,
    }
    entry.update(details)
    return entry


def entered(event_id: int, state: str) -> dict[str, Any]:
    return event(event_id, "PassStateEntered", stateEnteredEventDetails={"name": state})


def exited(event_id: int, state: str) -> dict[str, Any]:
    return event(event_id, "PassStateExited", stateExitedEventDetails={"name": state})


# -- history paging -----------------------------------------------------------------


async def test_history_of_2500_events_is_read_completely_through_pagination(
    offline_provider: StepFunctionsProvider, stub: AioStubber
) -> None:
    events = [event(1, "ExecutionStarted")]
    for number in range(1, 1250):
        events += [entered(2 * number, f"Step{number}"), exited(2 * number + 1, f"Step{number}")]
    events.append(event(2500, "ExecutionSucceeded"))
    assert len(events) == 2500

    stub.add_response("describe_execution", described("SUCCEEDED", output="{}"))
    base = {"executionArn": EXECUTION, "maxResults": 1000, "includeExecutionData": False}
    stub.add_response("get_execution_history", {"events": events[:1000], "nextToken": "p2"}, base)
    stub.add_response(
        "get_execution_history",
        {"events": events[1000:2000], "nextToken": "p3"},
        {**base, "nextToken": "p2"},
    )
    stub.add_response(
        "get_execution_history", {"events": events[2000:]}, {**base, "nextToken": "p3"}
    )

    status = await offline_provider.get_execution_status(EXECUTION, include_history=True)

    assert len(status.history) == 2500
    assert [e.details["event_id"] for e in status.history] == list(range(1, 2501))
    assert status.history[0].type == "ExecutionStarted"
    assert status.history[-1].type == "ExecutionSucceeded"
    assert status.history[1998].details == {
        "raw_type": "PassStateExited",
        "event_id": 1999,
        "state": "Step999",
    }
    assert status.history[2497].details["state"] == "Step1249"


# -- failed_at ---------------------------------------------------------------------


async def test_failed_at_reads_one_small_reverse_page_once(
    offline_provider: StepFunctionsProvider, stub: AioStubber
) -> None:
    newest_first = [
        event(6, "ExecutionFailed", executionFailedEventDetails={"error": "E", "cause": "c"}),
        event(5, "TaskFailed", taskFailedEventDetails={"resource": "r", "resourceType": "lambda"}),
        event(4, "TaskStateEntered", stateEnteredEventDetails={"name": "InitializeDatabase"}),
        exited(3, "ConfigureNetworking"),
        entered(2, "ConfigureNetworking"),
        event(1, "ExecutionStarted"),
    ]
    stub.add_response("describe_execution", described("FAILED", error="E", cause="c"))
    stub.add_response(
        "get_execution_history",
        {"events": newest_first},
        {
            "executionArn": EXECUTION,
            "maxResults": 100,
            "reverseOrder": True,
            "includeExecutionData": False,
        },
    )
    stub.add_response("describe_execution", described("FAILED", error="E", cause="c"))

    first = await offline_provider.get_execution_status(EXECUTION)
    second = await offline_provider.get_execution_status(EXECUTION)  # cached: no history call

    assert first.error is not None
    assert first.error.failed_at == "InitializeDatabase"
    assert (first.error.code, first.error.cause) == ("E", "c")
    assert second.error == first.error


async def test_failed_at_is_skipped_when_history_is_forbidden(
    offline_provider: StepFunctionsProvider,
    stub: AioStubber,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub.add_response("describe_execution", described("FAILED", error="E"))
    stub.add_client_error("get_execution_history", "AccessDeniedException", "no", 400)

    with caplog.at_level(logging.WARNING, "landlord_workflow.providers.stepfunctions"):
        status = await offline_provider.get_execution_status(EXECUTION)

    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.failed_at is None
    assert "failed_at" in caplog.text


# -- status mapping --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("RUNNING", ExecutionState.RUNNING),
        ("SUCCEEDED", ExecutionState.SUCCEEDED),
        ("FAILED", ExecutionState.FAILED),
        ("TIMED_OUT", ExecutionState.TIMED_OUT),
        ("ABORTED", ExecutionState.CANCELLED),
        ("PENDING_REDRIVE", ExecutionState.PENDING),
    ],
)
async def test_every_execution_status_maps_to_our_state(
    offline_provider: StepFunctionsProvider, stub: AioStubber, raw: str, state: ExecutionState
) -> None:
    stub.add_response("describe_execution", described(raw, output='{"ok":true}'))
    if raw == "FAILED":
        stub.add_response("get_execution_history", {"events": []})

    status = await offline_provider.get_execution_status(EXECUTION)

    assert status.state is state
    assert status.metadata["status"] == raw
    assert status.output == ({"ok": True} if raw == "SUCCEEDED" else None)
    has_error = raw in {"FAILED", "TIMED_OUT", "ABORTED"}
    assert (status.error is not None) is has_error


async def test_timeout_cancel_and_redrive_details(
    offline_provider: StepFunctionsProvider, stub: AioStubber
) -> None:
    stub.add_response("describe_execution", described("TIMED_OUT"))
    stub.add_response(
        "describe_execution", described("ABORTED", error="Cancelled", cause="tenant deleted")
    )
    stub.add_response(
        "describe_execution",
        described(
            "PENDING_REDRIVE",
            redriveCount=2,
            redriveStatus="REDRIVABLE",
            redriveDate=T0 + timedelta(hours=1),
        ),
    )

    timed_out = await offline_provider.get_execution_status(EXECUTION)
    cancelled = await offline_provider.get_execution_status(EXECUTION)
    pending = await offline_provider.get_execution_status(EXECUTION)

    assert timed_out.error is not None
    assert timed_out.error.code == "States.Timeout"
    assert cancelled.error is not None
    assert (cancelled.error.code, cancelled.error.message) == ("Cancelled", "tenant deleted")
    assert pending.metadata["redriveCount"] == 2
    assert pending.metadata["redriveStatus"] == "REDRIVABLE"
    assert pending.metadata["redriveDate"] == "2025-01-01T13:00:00+00:00"
    assert pending.error is None


# -- redrive -------------------------------------------------------------------------


async def test_redrive_resumes_the_execution(
    offline_provider: StepFunctionsProvider, stub: AioStubber
) -> None:
    stub.add_response(
        "redrive_execution",
        {"redriveDate": T0},
        {"executionArn": EXECUTION, "clientToken": ANY},
    )
    result = await offline_provider.redrive_execution(EXECUTION)
    assert result.execution_id == EXECUTION
    assert result.workflow_id == "wf"
    assert result.state is ExecutionState.RUNNING
    assert result.started_at == T0


async def test_not_redrivable_is_a_clear_provider_error(
    offline_provider: StepFunctionsProvider, stub: AioStubber
) -> None:
    stub.add_client_error(
        "redrive_execution", "ExecutionNotRedrivable", "Execution is SUCCEEDED", 400
    )
    with pytest.raises(ProviderError, match="cannot be redriven") as caught:
        await offline_provider.redrive_execution(EXECUTION)
    assert not isinstance(caught.value, TransientError)
    assert isinstance(caught.value.__cause__, ClientError)


async def test_a_retried_redrive_reuses_its_client_token(
    offline_provider: StepFunctionsProvider, stub: AioStubber
) -> None:
    tokens: list[str] = []

    def capture(params: dict[str, Any], **kwargs: Any) -> None:
        tokens.append(params["clientToken"])

    offline_provider.client.meta.events.register(
        "before-parameter-build.sfn.RedriveExecution", capture
    )
    stub.add_client_error("redrive_execution", "ServiceUnavailable", "try later", 503)
    stub.add_response("redrive_execution", {"redriveDate": T0})
    stub.add_response("redrive_execution", {"redriveDate": T0})

    with pytest.raises(ProviderUnavailableError):
        await offline_provider.redrive_execution(EXECUTION)
    await offline_provider.redrive_execution(EXECUTION)  # the retry
    await offline_provider.redrive_execution(EXECUTION)  # a new, later redrive

    assert tokens[0] == tokens[1]
    assert tokens[2] != tokens[1]
    assert all(1 <= len(token) <= 64 for token in tokens)


# -- error mapping ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "http_status", "expected"),
    [
        ("ThrottlingException", 400, ThrottledError),
        ("TooManyRequestsException", 400, ThrottledError),
        ("RequestLimitExceeded", 400, ThrottledError),
        ("ExecutionLimitExceeded", 400, ThrottledError),
        ("", 429, ThrottledError),
        ("ServiceUnavailable", 503, ProviderUnavailableError),
        ("InternalFailure", 500, ProviderUnavailableError),
        ("", 502, ProviderUnavailableError),
        ("AccessDeniedException", 400, ProviderError),
        ("KmsAccessDeniedException", 400, ProviderError),
        ("UnrecognizedClientException", 403, ProviderError),
        ("InvalidArn", 400, InvalidSpecError),
        ("ExecutionDoesNotExist", 400, ExecutionNotFoundError),
    ],
)
async def test_client_errors_map_onto_our_tree_with_the_original_chained(
    offline_provider: StepFunctionsProvider,
    stub: AioStubber,
    code: str,
    http_status: int,
    expected: type[WorkflowError],
) -> None:
    stub.add_client_error("describe_execution", code, "message from AWS", http_status)

    with pytest.raises(expected) as caught:
        await offline_provider.get_execution_status(EXECUTION)

    assert type(caught.value) is expected
    assert isinstance(caught.value.__cause__, ClientError)
    if expected is ProviderError:
        assert not isinstance(caught.value, TransientError)


async def test_an_empty_error_code_on_start_is_an_invalid_spec(
    offline_provider: StepFunctionsProvider, stub: AioStubber
) -> None:
    stub.add_client_error("start_execution", "", "Expecting value", 400)
    with pytest.raises(InvalidSpecError) as caught:
        await offline_provider.start_execution("wf", ExecutionInput())
    assert caught.value.problems[0][0] == "input"


def _raiser(error: Exception) -> Callable[..., None]:
    def hook(**kwargs: Any) -> None:
        raise error

    return hook


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://states.example"),
        ConnectTimeoutError(endpoint_url="https://states.example"),
        ReadTimeoutError(endpoint_url="https://states.example"),
        ConnectionClosedError(endpoint_url="https://states.example"),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_connection_trouble_is_provider_unavailable(
    offline_provider: StepFunctionsProvider, error: Exception
) -> None:
    offline_provider.client.meta.events.register(
        "before-send.sfn.DescribeExecution", _raiser(error)
    )
    with pytest.raises(ProviderUnavailableError) as caught:
        await offline_provider.get_execution_status(EXECUTION)
    assert caught.value.__cause__ is error


async def test_an_unreachable_endpoint_is_provider_unavailable(
    offline_provider: StepFunctionsProvider,
) -> None:
    with pytest.raises(ProviderUnavailableError) as caught:
        await offline_provider.get_execution_status(EXECUTION)
    assert isinstance(caught.value.__cause__, EndpointConnectionError)


# -- eventual consistency -------------------------------------------------------------------


async def test_not_found_right_after_our_own_start_is_transient(
    offline_provider_factory: Callable[..., StepFunctionsProvider],
) -> None:
    for window, expected in [
        (timedelta(seconds=10), ProviderUnavailableError),
        (timedelta(0), ExecutionNotFoundError),
    ]:
        async with offline_provider_factory(consistency_window=window) as provider:
            with AioStubber(provider.client) as stub:
                stub.add_response("start_execution", {"executionArn": EXECUTION, "startDate": T0})
                stub.add_client_error("describe_execution", "ExecutionDoesNotExist", "", 400)
                started = await provider.start_execution(
                    "wf", ExecutionInput(execution_name="run-1")
                )
                with pytest.raises(expected):
                    await provider.get_execution_status(started.execution_id)


# -- create, start and stop edge paths -----------------------------------------------------


async def test_already_existing_machine_is_described_then_updated(
    offline_provider: StepFunctionsProvider, stub: AioStubber
) -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    spec = make_spec(
        definition,
        workflow_id="wf",
        provider_type="step-functions",
        timeout=timedelta(minutes=30),
        tags={"team": "platform"},
    )
    rendered = json.dumps(
        {**definition, "TimeoutSeconds": 1800}, sort_keys=True, separators=(",", ":")
    )
    tags = [{"key": key, "value": value} for key, value in sorted(spec_tags(spec).items())]
    stub.add_client_error(
        "create_state_machine",
        "StateMachineAlreadyExists",
        "exists with another definition",
        400,
        expected_params={
            "name": "wf",
            "definition": rendered,
            "roleArn": FAKE_ROLE_ARN,
            "type": "STANDARD",
            "tags": tags,
        },
    )
    stub.add_response(
        "describe_state_machine",
        {
            "stateMachineArn": MACHINE,
            "name": "wf",
            "definition": '{"StartAt":"Old","States":{"Old":{"Type":"Pass","End":true}}}',
            "roleArn": FAKE_ROLE_ARN,
            "type": "STANDARD",
            "creationDate": T0,
        },
        {"stateMachineArn": MACHINE},
    )
    stub.add_response(
        "update_state_machine",
        {"updateDate": T0},
        {"stateMachineArn": MACHINE, "definition": rendered},
    )
    stub.add_response(
        "list_tags_for_resource",
        {"tags": [{"key": "team", "value": "platform"}]},
        {"resourceArn": MACHINE},
    )
    stub.add_response(
        "tag_resource",
        {},
        {"resourceArn": MACHINE, "tags": [tag for tag in tags if tag["key"] != "team"]},
    )

    result = await offline_provider.create_workflow(spec)

    assert result.resource_ids == {"state_machine_arn": MACHINE}
    assert result.created_at == T0
    assert result.message == "updated definition and spec fields"


async def test_a_closed_execution_with_the_same_name_already_exists(
    offline_provider: StepFunctionsProvider, stub: AioStubber
) -> None:
    stub.add_client_error("start_execution", "ExecutionAlreadyExists", "exists", 400)
    stub.add_response("describe_execution", described("SUCCEEDED", output="{}"))
    with pytest.raises(ExecutionAlreadyExistsError, match="succeeded") as caught:
        await offline_provider.start_execution(
            "wf", ExecutionInput(input={"tenant": "acme"}, execution_name="run-1")
        )
    assert isinstance(caught.value.__cause__, ClientError)


async def test_stop_tolerates_an_engine_that_refuses_to_stop_closed_executions(
    offline_provider: StepFunctionsProvider, stub: AioStubber
) -> None:
    stub.add_client_error("stop_execution", "ValidationException", "not running", 400)
    stub.add_response("describe_execution", described("SUCCEEDED", output="{}"))
    stub.add_client_error("stop_execution", "ValidationException", "bad cause", 400)
    stub.add_response("describe_execution", described("RUNNING"))

    await offline_provider.stop_execution(EXECUTION, "late")
    with pytest.raises(InvalidSpecError):
        await offline_provider.stop_execution(EXECUTION, "bad")


async def test_stop_sends_the_reason_as_cause(
    offline_provider: StepFunctionsProvider, stub: AioStubber
) -> None:
    stub.add_response(
        "stop_execution",
        {"stopDate": T0},
        {"executionArn": EXECUTION, "error": "Cancelled", "cause": "tenant deleted"},
    )
    await offline_provider.stop_execution(EXECUTION, "tenant deleted")


async def test_list_executions_follows_pages_and_maps_the_state_filter(
    offline_provider: StepFunctionsProvider, stub: AioStubber
) -> None:
    def item(name: str) -> dict[str, Any]:
        return {
            "executionArn": f"{EXECUTION[: -len('run-1')]}{name}",
            "stateMachineArn": MACHINE,
            "name": name,
            "status": "PENDING_REDRIVE",
            "startDate": T0,
            "redriveCount": 1,
        }

    base = {"stateMachineArn": MACHINE, "maxResults": 1000, "statusFilter": "PENDING_REDRIVE"}
    stub.add_response(
        "list_executions", {"executions": [item("a"), item("b")], "nextToken": "n"}, base
    )
    stub.add_response("list_executions", {"executions": [item("c")]}, {**base, "nextToken": "n"})

    found = [s async for s in offline_provider.list_executions("wf", state=ExecutionState.PENDING)]

    assert [s.metadata["name"] for s in found] == ["a", "b", "c"]
    assert {s.state for s in found} == {ExecutionState.PENDING}
    assert found[0].metadata["redriveCount"] == 1


# -- cancellation ------------------------------------------------------------------------


async def test_a_hanging_request_is_cancelled_promptly(
    offline_provider: StepFunctionsProvider,
) -> None:
    async def hang(**kwargs: Any) -> None:
        await anyio.sleep_forever()

    events = offline_provider.client.meta.events
    events.register("before-send.sfn.DescribeExecution", hang)
    with anyio.fail_after(5), anyio.move_on_after(0.2) as scope:
        await offline_provider.get_execution_status(EXECUTION)
    assert scope.cancelled_caught
    events.unregister("before-send.sfn.DescribeExecution", hang)

    with AioStubber(offline_provider.client) as stub:  # the provider is still usable
        stub.add_response("describe_execution", described("RUNNING"))
        status = await offline_provider.get_execution_status(EXECUTION)
    assert status.state is ExecutionState.RUNNING


def spec_tags(spec: WorkflowSpec) -> dict[str, str]:
    """Every tag the adapter puts on the state machine of ``spec`` (its own and the spec's)."""
    return _spec_tags(spec, timeout_in_definition=spec.timeout is not None)
