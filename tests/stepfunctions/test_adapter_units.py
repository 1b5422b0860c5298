"""Pure parts of the Step Functions adapter: ARNs, validation, mapping, history, hygiene."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import make_spec

from landlord_workflow import (
    ExecutionInput,
    InvalidSpecError,
    PollPolicy,
    Provider,
    ProviderError,
    ProviderUnavailableError,
    SupportsListExecutions,
    SupportsPollPolicy,
    SupportsRedrive,
    SupportsWatch,
    WorkflowSpec,
)
from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
from landlord_workflow.providers.stepfunctions._arns import (
    execution_arn,
    parse_execution_arn,
    partition_for_region,
    state_machine_arn,
)
from landlord_workflow.providers.stepfunctions._mapping import (
    encode_payload,
    failing_state,
    normalise_history,
    render_definition,
)

DEFINITION: dict[str, Any] = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def spec(**fields: Any) -> WorkflowSpec:
    """The suite's spec factory with this module's defaults: DEFINITION on Step Functions."""
    fields.setdefault("provider_type", "step-functions")
    return make_spec(fields.pop("definition", DEFINITION), **fields)


# -- ARNs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("eu-west-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
    ],
)
def test_partition_follows_the_region(region: str, partition: str) -> None:
    assert partition_for_region(region) == partition


def test_arns_are_built_and_parsed_for_the_partition() -> None:
    machine = state_machine_arn(
        partition="aws-cn", region="cn-north-1", account_id="123456789012", name="wf"
    )
    assert machine == "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:wf"
    execution = execution_arn(state_machine=machine, name="run-1")
    assert execution == "arn:aws-cn:states:cn-north-1:123456789012:execution:wf:run-1"

    parsed = parse_execution_arn(execution)
    assert parsed is not None
    assert (parsed.state_machine_name, parsed.execution_name) == ("wf", "run-1")
    assert parsed.state_machine_arn == machine


@pytest.mark.parametrize(
    "text",
    [
        "",
        "run-1",
        "arn:aws:states:us-east-1:123456789012:stateMachine:wf",
        "arn:aws:states:us-east-1:123456789012:express:wf:run:x",
        "arn:aws:lambda:us-east-1:123456789012:execution:wf:run",
        "arn:aws:states:us-east-1::execution:wf:run",
    ],
)
def test_anything_but_an_execution_arn_is_rejected(text: str) -> None:
    assert parse_execution_arn(text) is None


# -- validate --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_validate_lists_every_problem_without_an_api_call(
    offline_provider: StepFunctionsProvider,
    count_calls: Callable[[StepFunctionsProvider], Any],
) -> None:
    calls = count_calls(offline_provider)
    broken = {"StartAt": "Missing", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    with pytest.raises(InvalidSpecError) as caught:
        await offline_provider.validate(
            spec(
                workflow_id="bad name:with/slashes",
                definition=broken,
                timeout=timedelta(days=400),
                provider_config={"role": "x"},
            )
        )
    fields = {field for field, _ in caught.value.problems}
    assert {
        "definition.StartAt",
        "definition.States.A.Next",
        "workflow_id",
        "timeout",
        "provider_config.role",
    } <= fields
    assert calls.counts == {}


@pytest.mark.asyncio
async def test_validate_enforces_name_size_and_role_rules(
    offline_provider: StepFunctionsProvider,
    offline_provider_factory: Callable[..., StepFunctionsProvider],
) -> None:
    await offline_provider.validate(spec())  # sound

    with pytest.raises(InvalidSpecError, match="at most 80"):
        await offline_provider.validate(spec(workflow_id="w" * 81))

    huge = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Result": "x" * 1_100_000, "End": True}},
    }
    with pytest.raises(InvalidSpecError, match="1 MB"):
        await offline_provider.validate(spec(definition=huge))

    with pytest.raises(InvalidSpecError, match="positive integer"):
        await offline_provider.validate(spec(definition={**DEFINITION, "TimeoutSeconds": 0}))

    roleless = offline_provider_factory(role_arn=None)
    with pytest.raises(InvalidSpecError, match="IAM role"):
        await roleless.validate(spec())
    await roleless.validate(spec(provider_config={"role_arn": "arn:aws:iam::123456789012:role/x"}))
    await roleless.aclose()


@pytest.mark.asyncio
async def test_start_refuses_bad_names_and_oversized_input_locally(
    offline_provider: StepFunctionsProvider,
    count_calls: Callable[[StepFunctionsProvider], Any],
) -> None:
    calls = count_calls(offline_provider)
    with pytest.raises(InvalidSpecError, match="execution_name"):
        await offline_provider.start_execution("wf", ExecutionInput(execution_name="has space"))
    with pytest.raises(InvalidSpecError, match="262144"):
        await offline_provider.start_execution("wf", ExecutionInput(input={"blob": "x" * 262_144}))
    assert calls.counts == {}


# -- rendering -------------------------------------------------------------------------


def test_input_bytes_are_deterministic() -> None:
    assert (
        encode_payload("input", {"b": 1, "a": [True, None], "c": "é"})
        == '{"a":[true,null],"b":1,"c":"é"}'
    )
    assert encode_payload("input", None) == "{}"
    assert encode_payload("input", {"b": 1, "a": 2}) == encode_payload("input", {"a": 2, "b": 1})
    with pytest.raises(InvalidSpecError, match="JSON"):
        encode_payload("input", {"when": datetime.now(UTC)})
    with pytest.raises(InvalidSpecError, match="JSON"):
        encode_payload("input", {"nan": float("nan")})


def test_spec_timeout_is_rounded_up_into_timeout_seconds() -> None:
    rendered = render_definition(spec(timeout=timedelta(seconds=90, milliseconds=1)))
    assert '"TimeoutSeconds":91' in rendered
    own = render_definition(
        spec(definition={**DEFINITION, "TimeoutSeconds": 5}, timeout=timedelta(hours=1))
    )
    assert '"TimeoutSeconds":5' in own
    assert "TimeoutSeconds" not in render_definition(spec())


# -- history --------------------------------------------------------------------------


def raw(event_id: int, kind: str, previous: int | None = None, **details: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "timestamp": T0 + timedelta(seconds=event_id),
        "type": kind,
        "id": event_id,
        "previousEventId": event_id - 1 if previous is None else previous,
    }
    event.update(details)
    return event


def test_history_normalisation_infers_retries_and_keeps_raw_types() -> None:
    events = [
        raw(1, "ExecutionStarted", 0),
        raw(2, "TaskStateEntered", 0, stateEnteredEventDetails={"name": "Deploy"}),
        raw(3, "LambdaFunctionScheduled"),
        raw(4, "LambdaFunctionStarted"),
        raw(5, "LambdaFunctionTimedOut", lambdaFunctionTimedOutEventDetails={"error": "T"}),
        raw(6, "LambdaFunctionScheduled"),
        raw(7, "LambdaFunctionStarted"),
        raw(8, "LambdaFunctionSucceeded"),
        raw(9, "TaskStateExited", stateExitedEventDetails={"name": "Deploy"}),
        raw(10, "ExecutionRedriven", executionRedrivenEventDetails={"redriveCount": 1}),
        raw(11, "ExecutionAborted"),
    ]
    normalised = normalise_history(events)
    assert [(e.type, e.details.get("state"), e.details["raw_type"]) for e in normalised] == [
        ("ExecutionStarted", None, "ExecutionStarted"),
        ("StateEntered", "Deploy", "TaskStateEntered"),
        ("TaskFailed", "Deploy", "LambdaFunctionTimedOut"),
        ("TaskRetried", "Deploy", "LambdaFunctionScheduled"),
        ("StateExited", "Deploy", "TaskStateExited"),
        ("ExecutionRedriven", None, "ExecutionRedriven"),
        ("ExecutionCancelled", None, "ExecutionAborted"),
    ]
    assert normalised[2].details["error"] == "T"
    assert normalised[5].details["redriveCount"] == 1
    assert all(e.timestamp.tzinfo is UTC for e in normalised)


def test_failing_state_is_the_latest_entered_state_in_either_order() -> None:
    events = [
        raw(1, "ExecutionStarted", 0),
        raw(2, "PassStateEntered", stateEnteredEventDetails={"name": "A"}),
        raw(3, "PassStateExited", stateExitedEventDetails={"name": "A"}),
        raw(4, "FailStateEntered", stateEnteredEventDetails={"name": "B"}),
        raw(5, "ExecutionFailed"),
    ]
    assert failing_state(events) == "B"
    assert failing_state(list(reversed(events))) == "B"
    assert failing_state(events[:1]) is None


# -- provider hygiene -----------------------------------------------------------------


def test_provider_satisfies_the_protocols_and_hides_credentials(
    offline_provider_factory: Callable[..., StepFunctionsProvider],
) -> None:
    import aioboto3

    secret = "wJalrXUtnFEMI-very-secret"
    provider = offline_provider_factory(
        session=aioboto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key=secret)
    )
    assert isinstance(provider, Provider)
    assert isinstance(provider, SupportsRedrive)
    assert isinstance(provider, SupportsListExecutions)
    assert not isinstance(provider, SupportsWatch)
    assert isinstance(provider, SupportsPollPolicy)
    assert provider.name == "step-functions"
    text = repr(provider)
    assert secret not in text
    assert "AKIDEXAMPLE" not in text
    assert "idle" in text
    with pytest.raises(ProviderError, match="not open"):
        _ = provider.client


def _polls(policy: PollPolicy, duration: float) -> tuple[int, float]:
    """Calls a wait makes for an execution ending ``duration`` s after its start (the
    first right away), and how long after the end the last one comes."""
    moment, calls = 0.0, 1
    intervals = policy.intervals()
    while moment < duration:
        moment += next(intervals)
        calls += 1
    return calls, moment - duration


@pytest.mark.parametrize(
    ("duration", "most_calls"),
    [
        (10.0, 5),  # a 1-second poll makes 11: at most 50 %
        (10.3, 5),
        (600.0, 90),  # a 1-second poll makes 601: at most 15 %
        (600.3, 90),
    ],
)
def test_waiting_on_step_functions_polls_sparingly_and_notices_the_end_soon(
    offline_provider_factory: Callable[..., StepFunctionsProvider],
    duration: float,
    most_calls: int,
) -> None:
    """The provider's own PollPolicy (what a Manager without one uses): no jitter, so
    these counts are exact; the end is noticed within 10 % of the duration + 1 s."""
    policy = offline_provider_factory().poll_policy
    assert policy.jitter is False
    calls, late = _polls(policy, duration)
    assert calls <= most_calls
    assert 0 <= late <= 0.1 * duration + 1
    # At its slowest a wait polls every 30 s: 450 of them fit the DescribeExecution
    # refill of 15 calls per second.
    assert policy.max_interval == timedelta(seconds=30)


@pytest.mark.asyncio
async def test_a_provider_opens_its_client_lazily_on_first_use(
    offline_provider_factory: Callable[..., StepFunctionsProvider],
) -> None:
    provider = offline_provider_factory()
    try:
        await provider.delete_workflow("not a valid name")  # no call needed: still idle
        assert "idle" in repr(provider)
        with pytest.raises(ProviderUnavailableError):  # opened, then the endpoint is unreachable
            await provider.get_execution_status(
                "arn:aws:states:us-east-1:123456789012:execution:wf:x"
            )
        assert "open" in repr(provider)
    finally:
        await provider.aclose()
    assert "closed" in repr(provider)


def test_importing_the_library_does_not_import_aioboto3() -> None:
    code = (
        "import sys, landlord_workflow, landlord_workflow.testing;"
        "assert 'aioboto3' not in sys.modules and 'botocore' not in sys.modules, "
        "sorted(m for m in sys.modules if 'boto' in m)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_failure_aws_records_without_an_error_name_has_the_empty_code() -> None:
    """One rule on every engine: a Fail state with neither Error nor Cause (AWS
    records no error) is ExecutionError(code="") - as on the mock and Temporal."""
    from landlord_workflow._types import NO_ERROR_CODE
    from landlord_workflow.providers.mock import NO_ERROR_CODE as MOCK_CODE
    from landlord_workflow.providers.stepfunctions._mapping import status_from_description

    arn = "arn:aws:states:us-east-1:123456789012:execution:wf:run-1"
    status = status_from_description(
        {
            "executionArn": arn,
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:wf",
            "name": "run-1",
            "status": "FAILED",
            "startDate": datetime(2026, 1, 1, tzinfo=UTC),
            "stopDate": datetime(2026, 1, 1, tzinfo=UTC),
            "input": "{}",
        },
        workflow_id="wf",
        failed_at="Explode",
    )
    assert status.error is not None
    assert status.error.code == NO_ERROR_CODE == MOCK_CODE == ""
    assert status.error.failed_at == "Explode"
