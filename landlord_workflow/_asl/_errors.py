"""Step Functions errors as the interpreter raises and matches them.

A `StatesError` is an ASL error: a name (``States.Timeout``, a task's
own ``"MyError"``, or ``None`` when a task was failed with no error at all)
and a cause. It travels through Retry and Catch exactly as on AWS.

Where AWS decorates a cause (``States.Runtime`` and
``States.QueryEvaluationError`` that end the execution read "An error
occurred while executing the state 'X' (entered at the event id #N). ..."),
the error remembers the state and the event id where it arose so the
execution's final cause can be worded as AWS words it, while a catcher sees
the plain cause as it does on AWS.

A missed heartbeat: runtimes raise ``StatesError(HEARTBEAT_TIMEOUT)``, and
the error is what AWS records for it, ``States.Timeout`` with no cause (the
``TaskTimedOut`` event, the execution's error, a catcher's error output),
remembering that it was a heartbeat (`StatesError.heartbeat`) so that the
``States.HeartbeatTimeout`` catchers and retriers match it as well.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BRANCH_FAILED",
    "DATA_LIMIT_EXCEEDED",
    "EXCEED_TOLERATED_FAILURE_THRESHOLD",
    "HEARTBEAT_TIMEOUT",
    "INTRINSIC_FAILURE",
    "ITEM_READER_FAILED",
    "NO_CHOICE_MATCHED",
    "PARAMETER_PATH_FAILURE",
    "PERMISSIONS",
    "QUERY_EVALUATION_ERROR",
    "RESULT_PATH_MATCH_FAILURE",
    "RESULT_WRITER_FAILED",
    "RUNTIME",
    "TASK_FAILED",
    "TIMEOUT",
    "StatesError",
    "error_matches",
]

ALL: Final = "States.ALL"
BRANCH_FAILED: Final = "States.BranchFailed"
DATA_LIMIT_EXCEEDED: Final = "States.DataLimitExceeded"
EXCEED_TOLERATED_FAILURE_THRESHOLD: Final = "States.ExceedToleratedFailureThreshold"
HEARTBEAT_TIMEOUT: Final = "States.HeartbeatTimeout"
INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"
ITEM_READER_FAILED: Final = "States.ItemReaderFailed"
NO_CHOICE_MATCHED: Final = "States.NoChoiceMatched"
PARAMETER_PATH_FAILURE: Final = "States.ParameterPathFailure"
PERMISSIONS: Final = "States.Permissions"
QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"
RESULT_PATH_MATCH_FAILURE: Final = "States.ResultPathMatchFailure"
RESULT_WRITER_FAILED: Final = "States.ResultWriterFailed"
RUNTIME: Final = "States.Runtime"
TASK_FAILED: Final = "States.TaskFailed"
TIMEOUT: Final = "States.Timeout"

STATES_ERRORS: Final = frozenset(
    {
        ALL,
        BRANCH_FAILED,
        DATA_LIMIT_EXCEEDED,
        EXCEED_TOLERATED_FAILURE_THRESHOLD,
        HEARTBEAT_TIMEOUT,
        INTRINSIC_FAILURE,
        ITEM_READER_FAILED,
        NO_CHOICE_MATCHED,
        PARAMETER_PATH_FAILURE,
        PERMISSIONS,
        QUERY_EVALUATION_ERROR,
        RESULT_PATH_MATCH_FAILURE,
        RESULT_WRITER_FAILED,
        RUNTIME,
        TASK_FAILED,
        TIMEOUT,
    }
)
"""The reserved ``States.*`` error names of the Amazon States Language."""

# Decorated with the state and the event id when they end the execution.
_DECORATED: Final = frozenset({RUNTIME, QUERY_EVALUATION_ERROR})


class StatesError(Exception):
    """An ASL error ``error`` with ``cause`` (either may be ``None`` as on AWS)."""

    __slots__ = (
        "cause",
        "entered_event_id",
        "error",
        "heartbeat",
        "recorded",
        "state",
        "terminal",
    )

    def __init__(self, error: str | None, cause: str | None = None, *, terminal: bool = False):
        # AWS records a missed heartbeat as States.Timeout (TaskTimedOut, ExecutionFailed).
        self.heartbeat = error == HEARTBEAT_TIMEOUT
        if self.heartbeat:
            error = TIMEOUT
        super().__init__(error, cause)
        self.error = error
        self.cause = cause
        # Terminal errors end the execution: no Retry or Catch sees them.
        self.terminal = terminal or error == RUNTIME
        # Whether the EvaluationFailed event of this error is already in the history.
        self.recorded = False
        self.state: str | None = None
        self.entered_event_id: int | None = None

    def at(self, state: str, entered_event_id: int) -> StatesError:
        """Remember where the error arose (the first state wins); return ``self``."""
        if self.state is None:
            self.state = state
            self.entered_event_id = entered_event_id
        return self

    def final_cause(self) -> str | None:
        """The cause as AWS reports it when this error ends the execution."""
        if self.error in _DECORATED and self.cause is not None and self.state is not None:
            return (
                f"An error occurred while executing the state '{self.state}' "
                f"(entered at the event id #{self.entered_event_id}). {self.cause}"
            )
        return self.cause

    def __str__(self) -> str:
        return f"{self.error}: {self.cause}" if self.cause else str(self.error)


def runtime_error(cause: str) -> StatesError:
    """A ``States.Runtime`` error (never retried nor caught, as on AWS)."""
    return StatesError(RUNTIME, cause)


def query_error(cause: str) -> StatesError:
    """A ``States.QueryEvaluationError`` (JSONata evaluation problems)."""
    return StatesError(QUERY_EVALUATION_ERROR, cause)


def error_matches(patterns: tuple[str, ...], error: StatesError) -> bool:
    """Whether an ``ErrorEquals`` list matches ``error``, with AWS's wildcard rules.

    Terminal errors (``States.Runtime``; ``States.DataLimitExceeded`` of a
    state's own input or output) are never matched, even by name; the same
    limit hit by a task's result is a task failure that ``States.ALL``
    catches, as recorded on AWS. ``States.ALL`` matches every other error;
    ``States.TaskFailed`` matches every error a task raises (names outside
    ``States.*``, or none) and ``States.TaskFailed``, a missed heartbeat and
    ``States.Permissions``, never a task's ``States.Timeout``. A missed
    heartbeat (reported as ``States.Timeout``) is matched by
    ``States.Timeout`` and by ``States.HeartbeatTimeout``.
    """
    if error.terminal:
        return False
    name = error.error
    if name is not None and name in patterns:
        return True
    if error.heartbeat and HEARTBEAT_TIMEOUT in patterns:
        return True
    if ALL in patterns:
        return True
    if TASK_FAILED in patterns:
        if name is None or error.heartbeat:
            return True
        return not name.startswith("States.") or name == PERMISSIONS
    return False
