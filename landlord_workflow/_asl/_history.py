"""The contract's view of an ASL history: which AWS events an engine keeps, and how.

The core records every event AWS records (``PassStateEntered``,
``TaskScheduled``, ``MapIterationStarted``...). The Provider contract
exposes a normalised subset (``ExecutionStarted StateEntered StateExited
TaskFailed TaskRetried ExecutionSucceeded ExecutionFailed ExecutionRedriven``;
the engine adds its own end events for a time-out or a stop).
``TaskRetried`` is a Task state's retry: an AWS history shows a retried
Parallel or Map only as its branches' states entered again, so the core
notes no ``TaskRetried`` for them either.
`contract_event` maps one recorded event to that form: the contract type and
the details an engine keeps (the event's own fields, ``raw_type`` = AWS's
type, ``state`` where there is one), or ``None`` for an event that is only
counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["CONTRACT_TYPES", "contract_event"]

CONTRACT_TYPES: Final[dict[str, str]] = {
    "ExecutionStarted": "ExecutionStarted",
    "ExecutionSucceeded": "ExecutionSucceeded",
    "ExecutionFailed": "ExecutionFailed",
    "ExecutionRedriven": "ExecutionRedriven",
    "TaskFailed": "TaskFailed",
    "TaskTimedOut": "TaskFailed",
    "LambdaFunctionFailed": "TaskFailed",
    "LambdaFunctionTimedOut": "TaskFailed",
    "ActivityFailed": "TaskFailed",
    "ActivityTimedOut": "TaskFailed",
    "TaskRetried": "TaskRetried",
}
"""AWS event type -> the contract's type (events not listed are counted, not kept)."""
for _kind in ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"):
    CONTRACT_TYPES[f"{_kind}StateEntered"] = "StateEntered"
    CONTRACT_TYPES[f"{_kind}StateExited"] = "StateExited"


def contract_event(
    event_type: str, state: str | None, details: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any]] | None:
    """``(contract type, kept details)`` of one recorded event, or ``None``.

    The details are a new dict whose values are shared with ``details``
    (plain JSON the core never modifies). ``TaskRetried`` keeps ``error``,
    ``attempt`` and ``delay_seconds``; the others keep every field but the
    role ARN.
    """
    kind = CONTRACT_TYPES.get(event_type)
    if kind is None:
        return None
    kept: dict[str, Any] = {}
    if details:
        if kind == "TaskRetried":
            kept = {
                "error": details.get("error"),
                "attempt": details.get("retryCount"),
                "delay_seconds": details.get("delaySeconds"),
            }
        else:
            kept = {key: value for key, value in details.items() if key != "roleArn"}
    kept["raw_type"] = event_type
    if state is not None:
        kept["state"] = state
    return kind, kept
