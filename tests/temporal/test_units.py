"""TemporalProvider's pure parts: ids, validation, error mapping, history, reset points."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import make_spec
from google.protobuf.message import Message
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import ActivityFailureInfo, ApplicationFailureInfo, Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.service import RPCError, RPCStatusCode

from landlord_workflow import (
    Provider,
    SupportsListExecutions,
    SupportsListWorkflows,
    SupportsRedrive,
    SupportsTaskTokens,
    SupportsWatch,
    WorkflowConfig,
    WorkflowSpec,
)
from landlord_workflow._asl._history import contract_event
from landlord_workflow._types import ExecutionError
from landlord_workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    InvalidSpecError,
    ProviderError,
    ProviderUnavailableError,
    TaskTokenError,
    ThrottledError,
    WorkflowNotFoundError,
)
from landlord_workflow.providers.temporal import TemporalProvider
from landlord_workflow.providers.temporal._asl_wire import RunConfig, TaskToken, parse_task_token
from landlord_workflow.providers.temporal._errors import RpcContext, map_rpc_error
from landlord_workflow.providers.temporal._mapping import (
    error_from_failure,
    normalise_history,
    raw_event_type,
)
from landlord_workflow.providers.temporal._provider import _reset_point

E = EventType


def spec(definition: Any, **fields: Any) -> WorkflowSpec:
    """The suite's spec factory for this module's ``provision`` workflow on Temporal."""
    return make_spec(definition, workflow_id="provision", provider_type="temporal", **fields)


# -- ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("execution_id", "owned"),
    [
        ("temporal:default:provision/tenant-42", True),
        ("temporal:default:provision/t_1-X", True),
        ("temporal:other-namespace:provision/tenant-42", False),
        ("temporal:default:provision", False),
        ("temporal:default:Provision/tenant-42", False),
        ("temporal:default:provision/tenant 42", False),
        ("temporal::provision/tenant-42", False),
        ("mock:provision:tenant-42", False),
        ("arn:aws:states:us-east-1:123456789012:execution:provision:tenant-42", False),
        ("", False),
    ],
)
def test_owns_execution_recognises_its_ids_without_any_call(execution_id: str, owned: bool) -> None:
    # No server anywhere: the provider is never opened.
    provider = TemporalProvider(target_host="127.0.0.1:9")
    assert provider.owns_execution(execution_id) is owned


def test_a_provider_on_another_namespace_owns_only_its_own_ids() -> None:
    provider = TemporalProvider(target_host="127.0.0.1:9", namespace="tenants.prod")
    assert provider.owns_execution("temporal:tenants.prod:provision/tenant-42")
    assert not provider.owns_execution("temporal:default:provision/tenant-42")


def test_a_provider_hosts_the_asl_worker_only_when_given_handlers_or_asked_to() -> None:
    async def handler(payload: Any) -> Any:
        return payload

    assert not TemporalProvider().hosts_worker, "a provider given nothing never polls"
    assert not TemporalProvider(run_worker=False, task_handlers={"x": handler}).hosts_worker
    assert TemporalProvider(task_handlers={"x": handler}).hosts_worker
    assert TemporalProvider(run_worker=True).hosts_worker
    assert TemporalProvider(echo_unknown_tasks=True).hosts_worker
    with pytest.raises(ValueError, match="task_liveness_timeout"):
        TemporalProvider(task_liveness_timeout=timedelta(0))


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_validate_accepts_a_native_definition_with_its_settings() -> None:
    provider = TemporalProvider(target_host="127.0.0.1:9")
    await provider.validate(spec({"workflow_type": "Provision", "task_queue": "q"}))
    await provider.validate(
        spec(
            {
                "workflow_type": "Provision",
                "task_queue": "q",
                "id_reuse_policy": "allow_duplicate_failed_only",
            },
            timeout=timedelta(hours=1),
        )
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("definition", "fields", "field"),
    [
        ({"task_queue": "q"}, {}, "definition.workflow_type"),
        ({"workflow_type": "W"}, {}, "definition.task_queue"),
        ({"workflow_type": " ", "task_queue": "q"}, {}, "definition.workflow_type"),
        ({"workflow_type": 7, "task_queue": "q"}, {}, "definition.workflow_type"),
        ({"workflow_type": "W", "task_queue": "q", "id_reuse_policy": "x"}, {}, None),
        ({"workflow_type": "W", "task_queue": "q", "workflow_typ": "W"}, {}, None),
        ({"StartAt": "B", "States": {"A": {"Type": "Succeed"}}}, {}, None),
        (
            {"workflow_type": "W", "task_queue": "q"},
            {"provider_config": {"role_arn": "x"}},
            "provider_config",
        ),
    ],
)
async def test_validate_lists_every_problem_locally(
    definition: Any, fields: dict[str, Any], field: str | None
) -> None:
    provider = TemporalProvider(target_host="127.0.0.1:9")  # nothing listens: no RPC is made
    with pytest.raises(InvalidSpecError) as raised:
        await provider.validate(spec(definition, **fields))
    fields_named = [name for name, _ in raised.value.problems]
    assert fields_named
    if field is not None:
        assert field in fields_named
    else:
        assert all(name.startswith("definition.") for name in fields_named)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "context", "expected"),
    [
        (RPCStatusCode.RESOURCE_EXHAUSTED, {}, ThrottledError),
        (RPCStatusCode.UNAVAILABLE, {}, ProviderUnavailableError),
        (RPCStatusCode.DEADLINE_EXCEEDED, {}, ProviderUnavailableError),
        (RPCStatusCode.INTERNAL, {}, ProviderUnavailableError),
        (RPCStatusCode.ABORTED, {}, ProviderUnavailableError),
        (RPCStatusCode.NOT_FOUND, {"execution_id": "temporal:d:w/e"}, ExecutionNotFoundError),
        (RPCStatusCode.NOT_FOUND, {"workflow_id": "w"}, WorkflowNotFoundError),
        (RPCStatusCode.NOT_FOUND, {}, ProviderError),
        (RPCStatusCode.INVALID_ARGUMENT, {}, InvalidSpecError),
        (RPCStatusCode.ALREADY_EXISTS, {"execution_name": "e"}, ExecutionAlreadyExistsError),
        (RPCStatusCode.PERMISSION_DENIED, {}, ProviderError),
        (RPCStatusCode.UNAUTHENTICATED, {}, ProviderError),
        (RPCStatusCode.FAILED_PRECONDITION, {}, ProviderError),
    ],
)
def test_rpc_status_codes_map_onto_the_error_tree(
    status: RPCStatusCode, context: dict[str, str], expected: type[Exception]
) -> None:
    error = map_rpc_error(
        RPCError("server says no", status, b""), RpcContext("SomeCall", **context)
    )
    assert type(error) is expected
    if isinstance(error, ProviderError | ThrottledError | ProviderUnavailableError):
        assert "SomeCall" in str(error)
        assert "server says no" in str(error)


# -- failures and history ------------------------------------------------------------------------


def activity_failure(activity: str, error_type: str, message: str) -> Failure:
    return Failure(
        message="Activity task failed",
        activity_failure_info=ActivityFailureInfo(activity_type={"name": activity}),
        cause=Failure(
            message=message, application_failure_info=ApplicationFailureInfo(type=error_type)
        ),
    )


def test_a_failure_from_an_activity_names_its_type_code_and_message() -> None:
    error = error_from_failure(activity_failure("CreateDatabase", "Db.Full", "disk full"))
    assert error == ExecutionError(
        code="Db.Full", message="disk full", cause="disk full", failed_at="CreateDatabase"
    )


def event(event_id: int, event_type: int, **attributes: Any) -> HistoryEvent:
    raw = HistoryEvent(event_id=event_id, event_type=event_type)  # type: ignore[arg-type]
    raw.event_time.FromDatetime(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=event_id))
    for field, value in attributes.items():
        target = getattr(raw, field)
        target.MergeFrom(value if isinstance(value, Message) else type(target)(**value))
    return raw


def scheduled(event_id: int, activity: str, wft: int) -> HistoryEvent:
    return event(
        event_id,
        E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        activity_task_scheduled_event_attributes={
            "activity_type": {"name": activity},
            "workflow_task_completed_event_id": wft,
        },
    )


def wft(first_id: int) -> list[HistoryEvent]:
    return [
        event(first_id, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
        event(first_id + 1, E.EVENT_TYPE_WORKFLOW_TASK_STARTED),
        event(first_id + 2, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
    ]


def history(*parts: HistoryEvent | Iterable[HistoryEvent]) -> list[HistoryEvent]:
    events: list[HistoryEvent] = []
    for part in parts:
        events.extend([part] if isinstance(part, HistoryEvent) else part)
    return events


PARALLEL_FAILURE = history(
    event(1, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
    wft(2),  # 2-4: schedules A and B together
    scheduled(5, "A", 4),
    scheduled(6, "B", 4),
    event(
        7,
        E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        activity_task_started_event_attributes={"scheduled_event_id": 5, "attempt": 1},
    ),
    event(
        8,
        E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        activity_task_completed_event_attributes={"scheduled_event_id": 5},
    ),
    wft(9),  # 9-11: A's completion processed, nothing new
    event(
        12,
        E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        activity_task_started_event_attributes={"scheduled_event_id": 6, "attempt": 3},
    ),
    event(
        13,
        E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        activity_task_failed_event_attributes={
            "scheduled_event_id": 6,
            "failure": Failure(
                message="boom", application_failure_info=ApplicationFailureInfo(type="B.Broke")
            ),
        },
    ),
    wft(14),
    event(17, E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED),
)


def test_history_maps_activities_to_states_and_keeps_the_raw_types() -> None:
    normalised = normalise_history(PARALLEL_FAILURE)
    summary = [(e.type, e.details.get("state")) for e in normalised]
    assert summary == [
        ("ExecutionStarted", None),
        ("StateEntered", "A"),
        ("StateEntered", "B"),
        ("StateExited", "A"),
        ("TaskRetried", "B"),
        ("TaskFailed", "B"),
        ("ExecutionFailed", None),
    ]
    failed = normalised[5]
    assert (failed.details["error"], failed.details["cause"]) == ("B.Broke", "boom")
    assert failed.details["raw_type"] == "ActivityTaskFailed"
    assert normalised[4].details["attempt"] == 3
    assert all(e.timestamp.tzinfo is not None for e in normalised)


def test_a_reset_shows_as_redriven() -> None:
    marker = event(
        4,
        E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        workflow_task_failed_event_attributes={
            "cause": WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
        },
    )
    assert [e.type for e in normalise_history([marker])] == ["ExecutionRedriven"]
    assert raw_event_type(E.EVENT_TYPE_WORKFLOW_TASK_FAILED) == "WorkflowTaskFailed"


def test_redrive_resets_to_after_the_last_completed_activity_before_the_failure() -> None:
    # Resetting to workflow task 11 keeps A's completion (A is not run again)
    # and drops B's failure (B, still scheduled, runs again).
    assert _reset_point(PARALLEL_FAILURE) == 11


def test_redrive_of_a_cancelled_run_resets_to_before_the_cancel_request() -> None:
    events = history(
        event(1, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        wft(2),
        event(5, E.EVENT_TYPE_TIMER_STARTED),
        event(6, E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED),
        wft(7),
        event(10, E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED),
    )
    assert _reset_point(events) == 4


def test_a_run_that_never_completed_a_workflow_task_has_no_reset_point() -> None:
    events = history(
        event(1, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        event(2, E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED),
    )
    assert _reset_point(events) is None


# -- configuration from the environment ------------------------------------------------------------


def test_the_environment_configures_a_temporal_provider_that_hosts_no_worker() -> None:
    config = WorkflowConfig.from_env(
        {
            "WORKFLOW_DEFAULT_PROVIDER": "temporal",
            "WORKFLOW_TEMPORAL_ADDRESS": "temporal.internal:7233",
            "WORKFLOW_TEMPORAL_NAMESPACE": "tenants.prod",
        }
    )
    assert config.providers == ("mock", "temporal")
    (provider,) = [p for p in config.build_providers() if p.name == "temporal"]
    assert isinstance(provider, TemporalProvider)
    assert provider.namespace == "tenants.prod"
    assert provider.task_queue == "landlord-workflow"
    assert not provider.hosts_worker


def test_the_environment_names_the_asl_task_queue_and_may_ask_for_an_echo_worker() -> None:
    settings = {
        "WORKFLOW_DEFAULT_PROVIDER": "temporal",
        "WORKFLOW_TEMPORAL_ADDRESS": "127.0.0.1:7233",
        "WORKFLOW_TEMPORAL_TASK_QUEUE": "tenants-asl",
    }
    (plain,) = [
        p for p in WorkflowConfig.from_env(settings).build_providers() if p.name == "temporal"
    ]
    assert isinstance(plain, TemporalProvider)
    assert (plain.task_queue, plain.hosts_worker) == ("tenants-asl", False)
    echo = {**settings, "WORKFLOW_TEMPORAL_WORKER": "echo"}
    (hosting,) = [
        p for p in WorkflowConfig.from_env(echo).build_providers() if p.name == "temporal"
    ]
    assert isinstance(hosting, TemporalProvider)
    assert hosting.hosts_worker


def test_temporal_settings_problems_name_their_variables() -> None:
    with pytest.raises(InvalidSpecError) as raised:
        WorkflowConfig.from_env(
            {
                "WORKFLOW_DEFAULT_PROVIDER": "temporal",
                "WORKFLOW_TEMPORAL_NAMESPACE": "no spaces",
                "WORKFLOW_TEMPORAL_WORKER": "everything",
            }
        )
    fields = {field for field, _ in raised.value.problems}
    assert fields == {
        "WORKFLOW_TEMPORAL_ADDRESS",
        "WORKFLOW_TEMPORAL_NAMESPACE",
        "WORKFLOW_TEMPORAL_WORKER",
    }


def test_the_provider_offers_every_capability() -> None:
    provider = TemporalProvider(target_host="127.0.0.1:9")
    assert isinstance(provider, Provider)
    for capability in (
        SupportsRedrive,
        SupportsWatch,
        SupportsListExecutions,
        SupportsListWorkflows,
        SupportsTaskTokens,
    ):
        assert isinstance(provider, capability), capability.__name__


@pytest.mark.asyncio
async def test_validate_accepts_asl_as_the_mock_does() -> None:
    provider = TemporalProvider(target_host="127.0.0.1:9")
    await provider.validate(
        spec(
            {
                "StartAt": "A",
                "States": {
                    "A": {"Type": "Task", "Resource": "prepare", "Next": "B"},
                    "B": {"Type": "Wait", "Seconds": 5, "Next": "C"},
                    "C": {"Type": "Succeed"},
                },
            }
        )
    )


# -- the ASL wire formats -----------------------------------------------------------------------


def test_a_task_token_names_namespace_workflow_run_and_task_and_parses_back() -> None:
    token = TaskToken(
        namespace="tenants.prod", workflow_id="provision/t-1", run_id="r-1", key="3.0c6e"
    )
    text = str(token)
    assert text == "temporal-task:tenants.prod:provision/t-1#r-1#3.0c6e"
    assert parse_task_token(text) == token
    child = TaskToken(namespace="default", workflow_id="p/x/map/9f", run_id="r", key="1.a")
    assert parse_task_token(str(child)) == child


@pytest.mark.parametrize(
    "text",
    [
        "",
        "temporal-task:",
        "temporal-task:ns",
        "temporal-task::w#r#k",
        "temporal-task:ns:w#r",
        "temporal-task:ns:w##k",
        "mock:wf:run#0.1:uuid",
        42,
    ],
)
def test_anything_else_is_not_a_task_token(text: Any) -> None:
    assert parse_task_token(text) is None


@pytest.mark.asyncio
async def test_tokens_of_another_namespace_or_shape_are_refused_without_any_call() -> None:
    provider = TemporalProvider(target_host="127.0.0.1:9")  # nothing listens: no RPC is made
    for text in ("temporal-task:other:w/e#r#1.a", "not-a-token"):
        with pytest.raises(TaskTokenError):
            await provider.send_task_success(text, {})
        with pytest.raises(TaskTokenError):
            await provider.send_task_heartbeat(text)


def test_a_run_config_round_trips_and_a_redrive_counts_and_keeps_the_start() -> None:
    config = RunConfig(
        definition='{"StartAt": "A"}',
        execution_id="temporal:default:wf/e",
        name="e",
        state_machine_id="temporal:default:wf",
        state_machine_name="wf",
        seed=7,
    )
    assert RunConfig.from_json(config.to_json()) == config
    assert set(config.to_json()) == {
        "version",
        "definition",
        "execution_id",
        "name",
        "state_machine_id",
        "state_machine_name",
        "seed",
    }, "defaults are left out"
    started = datetime(2024, 1, 2, tzinfo=UTC)
    first = config.redriven(checkpoint={"events": 3}, previous_run_id="r1", start_time=started)
    second = first.redriven(checkpoint={"events": 9}, previous_run_id="r2", start_time=started)
    assert (second.redrive_count, second.previous_run_id, second.checkpoint) == (
        2,
        "r2",
        {"events": 9},
    )
    assert second.start_time == started.isoformat()
    assert RunConfig.from_json(second.to_json()) == second


def test_the_contract_keeps_state_and_task_events_with_raw_types() -> None:
    assert contract_event("PassStateEntered", "A", {"input": {}}) == (
        "StateEntered",
        {"input": {}, "raw_type": "PassStateEntered", "state": "A"},
    )
    assert contract_event("LambdaFunctionTimedOut", "T", {"error": "States.Timeout"}) == (
        "TaskFailed",
        {"error": "States.Timeout", "raw_type": "LambdaFunctionTimedOut", "state": "T"},
    )
    assert contract_event(
        "TaskRetried", "T", {"error": "E", "retryCount": 2, "delaySeconds": 4.0}
    ) == (
        "TaskRetried",
        {"error": "E", "attempt": 2, "delay_seconds": 4.0, "raw_type": "TaskRetried", "state": "T"},
    )
    assert contract_event("ExecutionStarted", None, {"input": 1, "roleArn": "r"}) == (
        "ExecutionStarted",
        {"input": 1, "raw_type": "ExecutionStarted"},
    )
    assert contract_event("TaskScheduled", "T", {"resource": "x"}) is None
    assert contract_event("MapIterationStarted", "M", None) is None
