"""Pure translations between landlord-workflow values and Step Functions shapes.

Nothing here performs I/O: definitions and inputs are rendered to the exact
bytes sent, ``DescribeExecution`` answers become
[`ExecutionStatus`][landlord_workflow.ExecutionStatus], and raw history events are
normalised to the engine-neutral event types.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from landlord_workflow._asl.structure import structure_problems
from landlord_workflow._json import encode_json, join_path
from landlord_workflow._limits import MAX_DEFINITION_BYTES, MAX_PAYLOAD_BYTES, name_problem
from landlord_workflow._types import (
    CANCELLED_ERROR_CODE,
    NO_ERROR_CODE,
    ExecutionError,
    ExecutionEvent,
    ExecutionState,
    ExecutionStatus,
    WorkflowSpec,
)
from landlord_workflow.errors import InvalidSpecError, ProviderError
from landlord_workflow.providers.stepfunctions._specs import tag_problems

if TYPE_CHECKING:
    from types_aiobotocore_stepfunctions.literals import ExecutionStatusType
    from types_aiobotocore_stepfunctions.type_defs import (
        DescribeExecutionOutputTypeDef,
        ExecutionListItemTypeDef,
        TagTypeDef,
    )

__all__ = [
    "PROVIDER_NAME",
    "STOP_ERROR_CODE",
    "encode_payload",
    "failing_state",
    "normalise_history",
    "render_definition",
    "spec_problems",
    "status_filter",
    "status_from_description",
    "status_from_list_item",
    "to_state",
]

PROVIDER_NAME = "step-functions"

MAX_TIMEOUT_SECONDS = 31_536_000
"""A standard execution runs at most one year."""
PROVIDER_CONFIG_KEYS = frozenset({"role_arn"})
"""Keys this provider reads from ``WorkflowSpec.provider_config``."""

STOP_ERROR_CODE = CANCELLED_ERROR_CODE
"""The ``error`` sent with ``StopExecution``; a stopped execution reports it."""

_STATE_BY_STATUS: Mapping[str, ExecutionState] = {
    "RUNNING": ExecutionState.RUNNING,
    "SUCCEEDED": ExecutionState.SUCCEEDED,
    "FAILED": ExecutionState.FAILED,
    "TIMED_OUT": ExecutionState.TIMED_OUT,
    "ABORTED": ExecutionState.CANCELLED,
    "PENDING_REDRIVE": ExecutionState.PENDING,
}
_STATUS_BY_STATE: Mapping[ExecutionState, ExecutionStatusType] = {
    ExecutionState.RUNNING: "RUNNING",
    ExecutionState.SUCCEEDED: "SUCCEEDED",
    ExecutionState.FAILED: "FAILED",
    ExecutionState.TIMED_OUT: "TIMED_OUT",
    ExecutionState.CANCELLED: "ABORTED",
    ExecutionState.PENDING: "PENDING_REDRIVE",
}
_TASK_FAILURES = frozenset(
    {
        "TaskFailed",
        "TaskTimedOut",
        "TaskStartFailed",
        "TaskSubmitFailed",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionStartFailed",
        "LambdaFunctionScheduleFailed",
        "ActivityFailed",
        "ActivityTimedOut",
        "ActivityScheduleFailed",
    }
)
_TASK_SCHEDULED = frozenset({"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"})
_EXECUTION_EVENTS: Mapping[str, str] = {
    "ExecutionStarted": "ExecutionStarted",
    "ExecutionSucceeded": "ExecutionSucceeded",
    "ExecutionFailed": "ExecutionFailed",
    "ExecutionTimedOut": "ExecutionTimedOut",
    "ExecutionAborted": "ExecutionCancelled",
    "ExecutionRedriven": "ExecutionRedriven",
}


# -- specs -------------------------------------------------------------------


def timeout_seconds(timeout: timedelta) -> int:
    """``timeout`` as the whole seconds ``TimeoutSeconds`` takes (rounded up)."""
    return max(1, math.ceil(timeout.total_seconds()))


def timeout_in_definition(spec: WorkflowSpec) -> bool:
    """Whether ``spec.timeout`` is written into the definition (it sets no timeout itself)."""
    return (
        spec.timeout is not None
        and "TimeoutSeconds" not in spec.definition
        and "TimeoutSecondsPath" not in spec.definition
    )


def definition_document(spec: WorkflowSpec) -> dict[str, Any]:
    """The definition to deploy: ``spec.timeout`` becomes a top-level
    ``TimeoutSeconds`` unless the definition sets ``TimeoutSeconds`` (or
    ``TimeoutSecondsPath``) itself."""
    document = dict(spec.definition)
    if spec.timeout is not None and timeout_in_definition(spec):
        document["TimeoutSeconds"] = timeout_seconds(spec.timeout)
    return document


def render_definition(spec: WorkflowSpec) -> str:
    """The exact definition text sent to Step Functions (sorted keys, compact)."""
    return encode_json(definition_document(spec))


def spec_problems(spec: WorkflowSpec, *, default_role_arn: str | None) -> list[tuple[str, str]]:
    """Every reason Step Functions would refuse ``spec``; no API call."""
    problems = list(structure_problems(spec.definition))
    name = name_problem(spec.workflow_id)
    if name is not None:
        problems.append(("workflow_id", f"is not a valid state machine name: {name}"))

    if spec.timeout is not None:
        if spec.timeout <= timedelta(0):
            problems.append(("timeout", "must be positive"))
        elif timeout_seconds(spec.timeout) > MAX_TIMEOUT_SECONDS:
            problems.append(("timeout", "must be at most one year (a standard execution's limit)"))
    declared = (
        spec.definition.get("TimeoutSeconds") if isinstance(spec.definition, Mapping) else None
    )
    if declared is not None and (
        isinstance(declared, bool) or not isinstance(declared, int) or declared < 1
    ):
        problems.append(("definition.TimeoutSeconds", "must be a positive integer"))

    try:
        size = len(render_definition(spec).encode())
    except (TypeError, ValueError) as exc:
        problems.append(("definition", f"must be JSON serialisable: {exc}"))
    else:
        if size > MAX_DEFINITION_BYTES:
            problems.append(("definition", f"is {size} bytes; Step Functions accepts at most 1 MB"))

    problems.extend(tag_problems(spec))

    for key in sorted(set(spec.provider_config) - PROVIDER_CONFIG_KEYS):
        known = ", ".join(sorted(PROVIDER_CONFIG_KEYS))
        problems.append((f"provider_config.{key}", f"unknown key (this provider reads: {known})"))
    role = spec.provider_config.get("role_arn", default_role_arn)
    if role is None:
        problems.append(
            (
                "provider_config.role_arn",
                "Step Functions needs an IAM role: pass role_arn to StepFunctionsProvider "
                "or set provider_config['role_arn']",
            )
        )
    elif not isinstance(role, str) or not role.startswith("arn:"):
        problems.append(("provider_config.role_arn", "must be an IAM role ARN"))
    return problems


def role_for(spec: WorkflowSpec, default_role_arn: str | None) -> str:
    """The IAM role ARN the state machine runs as."""
    role = spec.provider_config.get("role_arn", default_role_arn)
    if not isinstance(role, str) or not role:
        raise InvalidSpecError.single(
            "provider_config.role_arn",
            "Step Functions needs an IAM role: pass role_arn to StepFunctionsProvider "
            "or set provider_config['role_arn']",
        )
    return role


def tag_list(tags: Mapping[str, str]) -> list[TagTypeDef]:
    """Tags in the shape ``CreateStateMachine`` takes, sorted by key."""
    return [{"key": key, "value": tags[key]} for key in sorted(tags)]


# -- inputs and outputs ------------------------------------------------------


def encode_payload(field: str, value: Any) -> str:
    """The exact bytes of an input or task output: sorted keys, compact; ``None`` is ``{}``.

    A retried call therefore sends identical bytes, which Step Functions
    needs to recognise it as the same request. Too large or not JSON:
    `InvalidSpecError` naming ``field``.
    """
    if value is None:
        return "{}"
    try:
        text = encode_json(value)
    except InvalidSpecError as exc:
        raise InvalidSpecError(
            [
                (field if path == "$" else join_path(field, path), message)
                for path, message in exc.problems
            ]
        ) from None
    size = len(text.encode())
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidSpecError.single(
            field, f"is {size} bytes; Step Functions accepts at most {MAX_PAYLOAD_BYTES}"
        )
    return text


def decode_document(text: str | None) -> Any:
    """Parse an input or output document; text that is not JSON is kept as is."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def same_input(described: str | None, sent: str) -> bool:
    """Whether an existing execution's input equals what we sent (as JSON)."""
    if described is None:
        return False
    return bool(decode_document(described) == json.loads(sent))


# -- status ------------------------------------------------------------------


def to_state(status: str) -> ExecutionState:
    """Our state for a Step Functions execution status."""
    try:
        return _STATE_BY_STATUS[status]
    except KeyError:
        raise ProviderError(
            f"Step Functions reported an unknown execution status {status!r}"
        ) from None


def status_filter(state: ExecutionState) -> ExecutionStatusType:
    """The ``ListExecutions`` ``statusFilter`` for ``state``."""
    return _STATUS_BY_STATE[state]


def to_utc(moment: datetime) -> datetime:
    """``moment`` as a tz-aware UTC datetime (botocore answers in local time)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _error_for(
    state: ExecutionState, error: str | None, cause: str | None, failed_at: str | None
) -> ExecutionError | None:
    if state is ExecutionState.FAILED:
        return ExecutionError(
            # AWS records no error name for a Fail state without Error: one rule
            # for every engine, the empty code.
            code=error or NO_ERROR_CODE,
            message=cause or error or "execution failed with no error name",
            cause=cause,
            failed_at=failed_at,
        )
    if state is ExecutionState.TIMED_OUT:
        return ExecutionError(
            code=error or "States.Timeout",
            message=cause or "execution timed out",
            cause=cause,
            failed_at=failed_at,
        )
    if state is ExecutionState.CANCELLED:
        return ExecutionError(
            code=error or STOP_ERROR_CODE,
            message=cause or "execution was stopped",
            cause=cause,
            failed_at=failed_at,
        )
    return None


def _metadata(item: Mapping[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "execution_name": item["name"],
        "redrive_count": item.get("redriveCount", 0),
        "name": item["name"],
        "stateMachineArn": item["stateMachineArn"],
        "status": item["status"],
    }
    for key in ("redriveCount", "redriveStatus", "redriveStatusReason"):
        if key in item:
            metadata[key] = item[key]
    if isinstance(item.get("redriveDate"), datetime):
        metadata["redriveDate"] = to_utc(item["redriveDate"]).isoformat()
    return metadata


def status_from_description(
    description: DescribeExecutionOutputTypeDef,
    *,
    workflow_id: str,
    failed_at: str | None = None,
    history: Sequence[ExecutionEvent] = (),
) -> ExecutionStatus:
    """An [`ExecutionStatus`][landlord_workflow.ExecutionStatus] from a ``DescribeExecution``
    answer."""
    state = to_state(description["status"])
    output = None
    if state is ExecutionState.SUCCEEDED:
        output = decode_document(description.get("output"))
    stop = description.get("stopDate")
    # Typed as Any on purpose: mypy's attrs plugin types ``ExecutionStatus``'s
    # ``converter=tuple`` parameter as an unsolved ``Iterable[_T_co]`` and
    # rejects every typed value (a typed converter in types.py would fix it).
    events: Any = tuple(history)
    return ExecutionStatus(
        execution_id=description["executionArn"],
        workflow_id=workflow_id,
        provider_type=PROVIDER_NAME,
        state=state,
        start_time=to_utc(description["startDate"]),
        stop_time=to_utc(stop) if stop is not None else None,
        input=decode_document(description.get("input")),
        output=output,
        error=_error_for(state, description.get("error"), description.get("cause"), failed_at),
        history=events,
        metadata=_metadata(description),
    )


def status_from_list_item(item: ExecutionListItemTypeDef, *, workflow_id: str) -> ExecutionStatus:
    """A history-less, payload-less [`ExecutionStatus`][landlord_workflow.ExecutionStatus] from
    ``ListExecutions``."""
    stop = item.get("stopDate")
    return ExecutionStatus(
        execution_id=item["executionArn"],
        workflow_id=workflow_id,
        provider_type=PROVIDER_NAME,
        state=to_state(item["status"]),
        start_time=to_utc(item["startDate"]),
        stop_time=to_utc(stop) if stop is not None else None,
        metadata=_metadata(item),
    )


# -- history -----------------------------------------------------------------


def _details_key(raw_type: str) -> str:
    return f"{raw_type[:1].lower()}{raw_type[1:]}EventDetails"


def _state_name(event: Mapping[str, Any], key: str) -> str | None:
    details = event.get(key)
    if isinstance(details, Mapping) and isinstance(details.get("name"), str):
        return str(details["name"])
    return None


def normalise_history(events: Iterable[Mapping[str, Any]]) -> list[ExecutionEvent]:
    """Engine-neutral events for raw ``GetExecutionHistory`` events (ascending).

    ``*StateEntered``/``*StateExited`` become ``StateEntered``/``StateExited``;
    task, Lambda and activity failures become ``TaskFailed``; a task scheduled
    again after a failure in the same state becomes ``TaskRetried``;
    ``ExecutionAborted`` becomes ``ExecutionCancelled``. Other raw events
    (``TaskScheduled``, ``TaskSucceeded``, Map/Parallel bookkeeping, ...) are
    left out. ``details`` holds ``raw_type``, ``event_id``, ``state`` where
    there is one, and ``error``/``cause`` for failures, never payloads.
    """
    state_of: dict[int, str] = {}
    failed_in: set[str] = set()
    current: str | None = None
    normalised: list[ExecutionEvent] = []
    for event in events:
        raw_type = str(event.get("type", ""))
        event_id = event.get("id")
        previous = event.get("previousEventId")
        if raw_type.endswith("StateEntered"):
            state = _state_name(event, "stateEnteredEventDetails")
            current = state
            if state is not None:
                failed_in.discard(state)
        elif raw_type.endswith("StateExited"):
            state = _state_name(event, "stateExitedEventDetails")
        else:
            state = state_of.get(previous) if isinstance(previous, int) else None
            state = state or current
        if state is not None and isinstance(event_id, int):
            state_of[event_id] = state

        kind: str | None
        if raw_type in _EXECUTION_EVENTS:
            kind = _EXECUTION_EVENTS[raw_type]
        elif raw_type.endswith("StateEntered"):
            kind = "StateEntered"
        elif raw_type.endswith("StateExited"):
            kind = "StateExited"
        elif raw_type in _TASK_FAILURES:
            kind = "TaskFailed"
            if state is not None:
                failed_in.add(state)
        elif raw_type in _TASK_SCHEDULED and state is not None and state in failed_in:
            kind = "TaskRetried"
            failed_in.discard(state)
        else:
            kind = None
        if kind is None:
            continue

        details: dict[str, Any] = {"raw_type": raw_type}
        if isinstance(event_id, int):
            details["event_id"] = event_id
        if state is not None and not raw_type.startswith("Execution"):
            details["state"] = state
        raw_details = event.get(_details_key(raw_type))
        if isinstance(raw_details, Mapping):
            for key in ("error", "cause", "redriveCount"):
                if key in raw_details:
                    details[key] = raw_details[key]
        normalised.append(
            ExecutionEvent(timestamp=to_utc(event["timestamp"]), type=kind, details=details)
        )
    return normalised


def failing_state(events: Iterable[Mapping[str, Any]]) -> str | None:
    """The state a failed execution failed in: the latest ``*StateEntered``.

    Works on pages in either order (moto ignores ``reverseOrder``).
    """
    latest: tuple[int, str] | None = None
    for event in events:
        raw_type = str(event.get("type", ""))
        event_id = event.get("id")
        if not raw_type.endswith("StateEntered") or not isinstance(event_id, int):
            continue
        name = _state_name(event, "stateEnteredEventDetails")
        if name is not None and (latest is None or event_id > latest[0]):
            latest = (event_id, name)
    return latest[1] if latest is not None else None
