"""Value types: workflow specs, execution inputs, results, status and history.

Every type is an ``attrs`` frozen, keyword-only, slotted class. JSON-like
fields are typed as read-only ``Mapping``/``Sequence``; providers copy what
they receive, so nothing returned by the library is shared mutable state.
Validators only reject values that can never be valid (negative durations,
naive datetimes); everything else is checked by
`landlord_workflow._validation`, which reports every problem at once.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from landlord_workflow._policies import backoff_seconds
from landlord_workflow.errors import InvalidSpecError

__all__ = [
    "CreateWorkflowResult",
    "ExecutionError",
    "ExecutionEvent",
    "ExecutionInput",
    "ExecutionResult",
    "ExecutionState",
    "ExecutionStatus",
    "RetryPolicy",
    "WorkflowSpec",
]

JSONValue = Any
"""A value that ``json.dumps`` accepts (dict, list, str, int, float, bool, None)."""


def _non_negative(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, timedelta):
        got = type(value).__name__
        raise TypeError(f"{attribute.name} must be a datetime.timedelta, got {got}")
    if value is not None and value < timedelta(0):
        raise InvalidSpecError.single(attribute.name, "must not be negative")


def _aware(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, datetime):
        got = type(value).__name__
        raise InvalidSpecError.single(attribute.name, f"must be a datetime, got {got}")
    if value is not None and value.utcoffset() is None:
        raise InvalidSpecError.single(attribute.name, "must be timezone-aware")


class ExecutionState(enum.StrEnum):
    """Where an execution is in its life. The last four are terminal."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """True once the execution can no longer change on its own."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        ExecutionState.SUCCEEDED,
        ExecutionState.FAILED,
        ExecutionState.TIMED_OUT,
        ExecutionState.CANCELLED,
    }
)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Execution-level retries applied by `Manager.run`.

    ``max_attempts`` counts every attempt including the first; ``0`` and ``1``
    both mean a single attempt. Before attempt ``n+1`` the Manager waits
    ``initial_interval * backoff_rate**(n-1)``, capped at ``max_interval``
    (the same computation as `CallPolicy` and `PollPolicy`).
    """

    max_attempts: int = 1
    backoff_rate: float = 2.0
    initial_interval: timedelta = attrs.field(default=timedelta(seconds=1), validator=_non_negative)
    max_interval: timedelta = attrs.field(default=timedelta(seconds=60), validator=_non_negative)

    def backoff(self, retry_number: int) -> timedelta:
        """Delay before retry ``retry_number`` (1 for the first retry); never overflows."""
        seconds = backoff_seconds(
            self.initial_interval.total_seconds(),
            float(self.backoff_rate),
            self.max_interval.total_seconds(),
            retry_number,
        )
        return timedelta(seconds=seconds)


@attrs.frozen(kw_only=True)
class WorkflowSpec:
    """A workflow definition to create on a provider.

    ``definition`` is engine specific; for the mock engine and Step Functions
    it is an Amazon States Language document. ``timeout`` is the overall
    execution timeout, enforced by the provider (the execution ends
    ``timed_out``).
    """

    workflow_id: str
    provider_type: str
    name: str
    definition: Mapping[str, JSONValue]
    description: str = ""
    timeout: timedelta | None = attrs.field(default=None, validator=_non_negative)
    retry_policy: RetryPolicy | None = None
    tags: Mapping[str, str] = attrs.field(factory=dict)
    provider_config: Mapping[str, JSONValue] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ExecutionInput:
    """The input of one execution.

    ``execution_name`` makes a start idempotent; without one the Manager
    generates a name once, before any retry.
    """

    input: JSONValue = attrs.field(factory=dict)
    execution_name: str | None = None
    tags: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ExecutionError:
    """Why an execution did not succeed; ``failed_at`` names the failing state."""

    code: str
    message: str
    cause: str | None = None
    failed_at: str | None = None


@attrs.frozen(kw_only=True)
class ExecutionEvent:
    """One history event, normalised across engines.

    ``type`` is one of ``ExecutionStarted StateEntered StateExited TaskFailed
    TaskRetried ExecutionSucceeded ExecutionFailed ExecutionTimedOut
    ExecutionCancelled ExecutionRedriven``. ``details["state"]`` names the
    state where there is one; ``details["raw_type"]`` keeps the engine's own
    event type.
    """

    timestamp: datetime = attrs.field(validator=_aware)
    type: str
    details: Mapping[str, JSONValue] = attrs.field(factory=dict)


def _event_tuple(events: Iterable[ExecutionEvent]) -> tuple[ExecutionEvent, ...]:
    return events if isinstance(events, tuple) else tuple(events)


CANCELLED_ERROR_CODE = "Cancelled"
"""``ExecutionError.code`` of an execution stopped by ``stop_execution`` (every engine)."""

NO_ERROR_CODE = ""
"""``ExecutionError.code`` of an execution that failed with no error name (every engine).

AWS records no error at all when a Fail state has neither ``Error`` nor
``ErrorPath`` (or a callback is failed with no error); the contract needs an
`ExecutionError`, so its code is the empty string and its message says so."""


EVENT_TYPES = frozenset(
    {
        "ExecutionStarted",
        "StateEntered",
        "StateExited",
        "TaskFailed",
        "TaskRetried",
        "ExecutionSucceeded",
        "ExecutionFailed",
        "ExecutionTimedOut",
        "ExecutionCancelled",
        "ExecutionRedriven",
    }
)
"""The normalised values of [`ExecutionEvent.type`][landlord_workflow.ExecutionEvent.type]."""


@attrs.frozen(kw_only=True)
class ExecutionStatus:
    """A snapshot of one execution.

    ``output`` is set only when the execution succeeded; ``error`` when it
    failed, timed out or was cancelled. ``history`` is empty unless asked for.
    ``metadata`` holds what the engine adds; every provider shipped here sets
    ``metadata["execution_name"]`` (the name the execution was started with)
    and, where the engine can redrive, ``metadata["redrive_count"]``.
    """

    execution_id: str
    workflow_id: str
    provider_type: str
    state: ExecutionState
    start_time: datetime = attrs.field(validator=_aware)
    stop_time: datetime | None = attrs.field(default=None, validator=_aware)
    input: JSONValue = None
    output: JSONValue = None
    error: ExecutionError | None = None
    history: tuple[ExecutionEvent, ...] = attrs.field(default=(), converter=_event_tuple)
    metadata: Mapping[str, JSONValue] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class CreateWorkflowResult:
    """What ``create_workflow`` made; ``resource_ids`` are engine identifiers."""

    workflow_id: str
    provider_type: str
    resource_ids: Mapping[str, str]
    created_at: datetime = attrs.field(validator=_aware)
    message: str = ""


@attrs.frozen(kw_only=True)
class ExecutionResult:
    """What ``start_execution`` (or a redrive) started."""

    execution_id: str
    workflow_id: str
    provider_type: str
    state: ExecutionState
    started_at: datetime = attrs.field(validator=_aware)
    message: str = ""
