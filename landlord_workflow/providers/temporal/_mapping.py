"""Pure translations between landlord-workflow values and Temporal's protos.

Nothing here performs I/O: native definitions are checked and read, workflow
statuses and failures become :class:`~landlord_workflow.ExecutionState` and
:class:`~landlord_workflow.ExecutionError`, and raw history events are
normalised to the engine-neutral event types.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import (
    EventType,
    WorkflowExecutionStatus,
    WorkflowIdReusePolicy,
    WorkflowTaskFailedCause,
)
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent

from landlord_workflow._json import encode_json
from landlord_workflow._types import (
    CANCELLED_ERROR_CODE,
    NO_ERROR_CODE,
    ExecutionError,
    ExecutionEvent,
    ExecutionState,
    WorkflowSpec,
)

__all__ = [
    "NO_ERROR_CODE",
    "PROVIDER_NAME",
    "TERMINATED_ERROR_CODE",
    "TIMEOUT_ERROR_CODE",
    "NativeDefinition",
    "error_from_failure",
    "failed_at_from_failure",
    "input_digest",
    "is_asl",
    "normalise_history",
    "raw_event_type",
    "spec_problems",
    "status_query",
    "to_state",
    "to_utc",
]

PROVIDER_NAME: Final = "temporal"
TIMEOUT_ERROR_CODE: Final = "States.Timeout"
"""``ExecutionError.code`` of an execution that ran past ``spec.timeout`` (as on the mock)."""
TERMINATED_ERROR_CODE: Final = "Terminated"
"""``ExecutionError.code`` of an execution terminated outside landlord-workflow
(an operator in the Temporal UI, say); its state is ``cancelled``."""
PROVIDER_CONFIG_KEYS: Final = frozenset[str]()
"""Keys this provider reads from ``WorkflowSpec.provider_config`` (none yet)."""

_REUSE_POLICIES: Final[Mapping[str, WorkflowIdReusePolicy.ValueType]] = {
    "reject_duplicate": WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
    "allow_duplicate_failed_only": (
        WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
    ),
    "allow_duplicate": WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
}
_NATIVE_KEYS: Final = frozenset({"workflow_type", "task_queue", "id_reuse_policy"})
_MAX_TEMPORAL_NAME: Final = 1000


# -- definitions ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class NativeDefinition:
    """A definition that starts the user's own Temporal workflow.

    ``{"workflow_type": "ProvisionTenant", "task_queue": "provisioning"}``,
    optionally with ``"id_reuse_policy"``: ``"reject_duplicate"`` (the
    default: a closed execution's name cannot be started again, as the
    Provider contract says), ``"allow_duplicate_failed_only"`` or
    ``"allow_duplicate"``.
    """

    workflow_type: str
    task_queue: str
    id_reuse_policy: str = "reject_duplicate"

    @property
    def reuse_policy(self) -> WorkflowIdReusePolicy.ValueType:
        """The Temporal enum value of ``id_reuse_policy``."""
        return _REUSE_POLICIES[self.id_reuse_policy]

    @classmethod
    def parse(cls, definition: Mapping[str, Any]) -> NativeDefinition:
        """Read a definition that :func:`native_problems` accepted."""
        return cls(
            workflow_type=definition["workflow_type"],
            task_queue=definition["task_queue"],
            id_reuse_policy=definition.get("id_reuse_policy", "reject_duplicate"),
        )


def is_asl(definition: Mapping[str, Any]) -> bool:
    """Whether ``definition`` looks like an Amazon States Language document."""
    return "States" in definition or "StartAt" in definition


def _name_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    if not value.strip():
        return "must not be empty"
    if len(value) > _MAX_TEMPORAL_NAME:
        return f"must be at most {_MAX_TEMPORAL_NAME} characters"
    return None


def native_problems(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of a native definition, as ``(field, message)`` pairs."""
    problems: list[tuple[str, str]] = []
    for key in ("workflow_type", "task_queue"):
        if key not in definition:
            problems.append((f"definition.{key}", "is required"))
            continue
        problem = _name_problem(definition[key])
        if problem is not None:
            problems.append((f"definition.{key}", problem))
    policy = definition.get("id_reuse_policy", "reject_duplicate")
    if policy not in _REUSE_POLICIES:
        choices = ", ".join(sorted(_REUSE_POLICIES))
        problems.append(("definition.id_reuse_policy", f"must be one of {choices}"))
    problems.extend(
        (f"definition.{key}", f"is not a setting of a native Temporal definition ({known})")
        for key in sorted(set(definition) - _NATIVE_KEYS)
        for known in [", ".join(sorted(_NATIVE_KEYS))]
    )
    return problems


def asl_problems(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of an ASL definition on Temporal (as the core compiles it)."""
    # Imported here: the interpreter core is needed only for ASL definitions.
    from landlord_workflow._asl import compile_definition
    from landlord_workflow.errors import InvalidSpecError

    problems: list[tuple[str, str]] = []
    try:
        # Compiled from an unsorted copy: templates keep their key order.
        compile_definition(json.loads(json.dumps(definition)))
    except InvalidSpecError as exc:
        problems.extend(exc.problems)
    except (TypeError, ValueError) as exc:
        problems.append(("definition", f"is not JSON: {exc}"))
    return problems


def spec_problems(spec: WorkflowSpec) -> list[tuple[str, str]]:
    """Every Temporal-specific problem of ``spec`` (local checks only)."""
    definition: object = spec.definition  # attrs does not check types
    problems: list[tuple[str, str]]
    if not isinstance(definition, Mapping):
        problems = [("definition", "must be a JSON object")]
    elif is_asl(definition):
        problems = asl_problems(definition)
    else:
        problems = native_problems(definition)
    if spec.timeout is not None and spec.timeout <= timedelta(0):
        problems.append(("timeout", "must be positive"))
    problems.extend(
        ("provider_config", f"unknown key {key!r} for the temporal provider")
        for key in sorted(set(spec.provider_config) - PROVIDER_CONFIG_KEYS)
    )
    return problems


def input_digest(value: object) -> str:
    """SHA-256 of the canonical JSON of an execution input (hex).

    Plain JSON (dicts, lists, strings, numbers) is encoded directly; anything
    else goes through :func:`encode_json`, which gives the same text for what
    is valid and names the problem otherwise.
    """
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        data = text.encode()
    except (TypeError, ValueError, RecursionError):
        data = encode_json(value).encode()
    return hashlib.sha256(data).hexdigest()


# -- states, times, errors -----------------------------------------------------------------

_STATE_BY_STATUS: Final[Mapping[int, ExecutionState]] = {
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING: ExecutionState.RUNNING,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: ExecutionState.RUNNING,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED: ExecutionState.SUCCEEDED,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED: ExecutionState.FAILED,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT: ExecutionState.TIMED_OUT,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED: ExecutionState.CANCELLED,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED: ExecutionState.CANCELLED,
}
_QUERY_STATUSES: Final[Mapping[ExecutionState, tuple[str, ...]]] = {
    ExecutionState.PENDING: (),
    ExecutionState.RUNNING: ("Running",),
    ExecutionState.SUCCEEDED: ("Completed",),
    ExecutionState.FAILED: ("Failed",),
    ExecutionState.TIMED_OUT: ("TimedOut",),
    ExecutionState.CANCELLED: ("Canceled", "Terminated"),
}


def to_state(status: int) -> ExecutionState:
    """The execution state of a Temporal workflow status.

    Statuses newer servers add (``PAUSED``, say) are not terminal: running.
    """
    return _STATE_BY_STATUS.get(status, ExecutionState.RUNNING)


def status_query(state: ExecutionState) -> str | None:
    """The visibility-query clause selecting ``state`` (``None``: matches nothing)."""
    names = _QUERY_STATUSES[state]
    if not names:
        return None
    if len(names) == 1:
        return f"ExecutionStatus = '{names[0]}'"
    return "(" + " OR ".join(f"ExecutionStatus = '{name}'" for name in names) + ")"


def to_utc(stamp: Timestamp) -> datetime:
    """A timezone-aware UTC datetime for a protobuf timestamp."""
    return stamp.ToDatetime(tzinfo=UTC)


def _chain(failure: Failure) -> Iterable[Failure]:
    current: Failure | None = failure
    depth = 0
    while current is not None and depth < 100:
        yield current
        current = current.cause if current.HasField("cause") else None
        depth += 1


def failed_at_from_failure(failure: Failure) -> str | None:
    """The activity (or child workflow) type a failure came from, if any."""
    for link in _chain(failure):
        if link.HasField("activity_failure_info"):
            return link.activity_failure_info.activity_type.name or None
        if link.HasField("child_workflow_execution_failure_info"):
            return link.child_workflow_execution_failure_info.workflow_type.name or None
    return None


def error_from_failure(failure: Failure, *, failed_at: str | None = None) -> ExecutionError:
    """The :class:`ExecutionError` of a failed workflow.

    ``code`` is the type of the first application failure in the cause
    chain (what ``ApplicationError(type=...)`` raised), else the kind of
    failure (``States.Timeout`` for a timeout); ``message`` and ``cause`` are
    that failure's message.
    """
    where = failed_at if failed_at is not None else failed_at_from_failure(failure)
    for link in _chain(failure):
        if link.HasField("application_failure_info"):
            code = link.application_failure_info.type or "Error"
            return ExecutionError(
                code=code, message=link.message or code, cause=link.message or None, failed_at=where
            )
    for link in _chain(failure):
        if link.HasField("timeout_failure_info"):
            message = link.message or "timed out"
            return ExecutionError(
                code=TIMEOUT_ERROR_CODE, message=message, cause=message, failed_at=where
            )
        if link.HasField("canceled_failure_info"):
            message = link.message or "cancelled"
            return ExecutionError(
                code=CANCELLED_ERROR_CODE, message=message, cause=message, failed_at=where
            )
        if link.HasField("terminated_failure_info"):
            message = link.message or "terminated"
            return ExecutionError(
                code=TERMINATED_ERROR_CODE, message=message, cause=message, failed_at=where
            )
    message = failure.message or "workflow failed"
    return ExecutionError(code="Error", message=message, cause=message, failed_at=where)


# -- history -------------------------------------------------------------------------------


def raw_event_type(event_type: int) -> str:
    """Temporal's name of an event type, as its UI shows it: ``ActivityTaskScheduled``."""
    name = EventType.Name(event_type).removeprefix("EVENT_TYPE_")  # type: ignore[arg-type]
    return "".join(part.capitalize() for part in name.split("_"))


_E = EventType
_EXECUTION_EVENTS: Final[Mapping[int, str]] = {
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "ExecutionStarted",
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "ExecutionSucceeded",
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "ExecutionFailed",
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "ExecutionTimedOut",
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "ExecutionCancelled",
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "ExecutionCancelled",
}
_STEP_EXITS: Final = frozenset(
    {_E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED}
)
_STEP_FAILURES: Final = frozenset(
    {
        _E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        _E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        _E.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
        _E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
        _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
        _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
        _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    }
)


def _attributes(event: HistoryEvent) -> Any:
    which = event.WhichOneof("attributes")
    return getattr(event, which) if which else None


def _step_name(event: HistoryEvent) -> str | None:
    """The state an activity/child event starts: the activity or workflow type."""
    if event.event_type == _E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return event.activity_task_scheduled_event_attributes.activity_type.name
    if event.event_type == _E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        return event.start_child_workflow_execution_initiated_event_attributes.workflow_type.name
    return None


def _initiating_event_id(event: HistoryEvent) -> int | None:
    attributes = _attributes(event)
    for field in ("scheduled_event_id", "initiated_event_id"):
        value = getattr(attributes, field, None)
        if isinstance(value, int) and value:
            return value
    return None


def _failure_of(event: HistoryEvent) -> Failure | None:
    attributes = _attributes(event)
    if attributes is not None and hasattr(attributes, "failure") and attributes.HasField("failure"):
        failure: Failure = attributes.failure
        return failure
    return None


def is_reset_marker(event: HistoryEvent) -> bool:
    """Whether ``event`` is where a reset (our redrive) resumed the workflow."""
    return (
        event.event_type == _E.EVENT_TYPE_WORKFLOW_TASK_FAILED
        and event.workflow_task_failed_event_attributes.cause
        == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
    )


def normalise_history(events: Sequence[HistoryEvent]) -> list[ExecutionEvent]:
    """Engine-neutral events for one run's raw history (ascending).

    An activity (or child workflow) is a state named by its type: scheduled
    is ``StateEntered``, completed ``StateExited``, failed/timed out/cancelled
    ``TaskFailed``; an activity that Temporal retried (its started event
    reports attempt > 1) adds ``TaskRetried``; the workflow task a reset
    failed is ``ExecutionRedriven``; a terminated workflow is
    ``ExecutionCancelled``. Workflow tasks, timers, signals and markers are
    left out. ``details`` holds ``raw_type``, ``event_id``, ``state`` where
    there is one, and ``error``/``cause`` for failures, never payloads.
    """
    state_of: dict[int, str] = {}
    normalised: list[ExecutionEvent] = []
    for event in events:
        kind: str | None = None
        state: str | None = None
        details: dict[str, Any] = {}
        event_type = event.event_type
        step = _step_name(event)
        if step is not None:
            state_of[event.event_id] = step
            kind, state = "StateEntered", step
        elif event_type in _EXECUTION_EVENTS:
            kind = _EXECUTION_EVENTS[event_type]
            if event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
                reason = event.workflow_execution_terminated_event_attributes.reason
                details.update(error=TERMINATED_ERROR_CODE, cause=reason)
        elif is_reset_marker(event):
            kind = "ExecutionRedriven"
        else:
            initiator = _initiating_event_id(event)
            state = state_of.get(initiator) if initiator is not None else None
            if state is None:
                continue
            if event_type in _STEP_EXITS:
                kind = "StateExited"
            elif event_type in _STEP_FAILURES:
                kind = "TaskFailed"
            elif (
                event_type == _E.EVENT_TYPE_ACTIVITY_TASK_STARTED
                and event.activity_task_started_event_attributes.attempt > 1
            ):
                kind = "TaskRetried"
                details["attempt"] = event.activity_task_started_event_attributes.attempt
            else:
                continue
        failure = _failure_of(event)
        if failure is not None:
            error = error_from_failure(failure)
            details.update(error=error.code, cause=error.cause)
        details["raw_type"] = raw_event_type(event_type)
        details["event_id"] = event.event_id
        if state is not None:
            details["state"] = state
        normalised.append(
            ExecutionEvent(timestamp=to_utc(event.event_time), type=kind, details=details)
        )
    return normalised
