"""The mock engine's record of one execution: state, history, checkpoint, task.

`ExecutionRecord` is the core's `Recorder`: every AWS history
event is counted by the core (toward the 25,000 limit) and the record keeps
only the events of the contract (``StateEntered``, ``StateExited``,
``TaskFailed``, ``TaskRetried``, execution events), each with
``details["raw_type"]`` (AWS's type) and ``details["state"]``, as
`landlord_workflow._asl._history.contract_event` maps them (the ASL
workflow on Temporal keeps the same).

Recording is the hot path of every state, so the record keeps each event
as it came (a stamp, AWS's type, the state, the core's details, which the
core never modifies), four slots in one flat list, and maps it to the
contract's form only when the history is read.
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from landlord_workflow._asl._history import CONTRACT_TYPES, contract_event
from landlord_workflow._asl._values import parse_compact
from landlord_workflow._types import (
    ExecutionError,
    ExecutionEvent,
    ExecutionState,
    ExecutionStatus,
)

if TYPE_CHECKING:
    from landlord_workflow._asl import Execution, Machine
    from landlord_workflow.providers.mock._clock import Clock, Stamps, TimerHandle
    from landlord_workflow.providers.mock._runtime import Callback

__all__ = ["ExecutionRecord", "iso"]

_FINAL: Final = object()
"""In the state slot of an event the engine recorded itself (its details are final)."""


class _Kept:
    """An AWS event type the record keeps: whether it enters a state, and the one
    key its details usually have (the record then keeps just that value)."""

    __slots__ = ("entered", "event_type", "key", "role")

    def __init__(self, event_type: str, kind: str) -> None:
        self.event_type = event_type
        self.entered = kind == "StateEntered"
        self.key = {"StateEntered": "input", "StateExited": "output"}.get(kind)
        # ExecutionStarted: the input, and the role ARN the contract drops.
        self.role = event_type == "ExecutionStarted"
        if event_type == "ExecutionSucceeded":
            self.key = "output"
        elif self.role:
            self.key = "input"


_KEPT: Final = {event_type: _Kept(event_type, kind) for event_type, kind in CONTRACT_TYPES.items()}


def iso(moment: datetime) -> str:
    """Step Functions style timestamp: ``2024-01-01T00:00:00.000Z``."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ExecutionRecord:
    """Mutable engine state of one execution.

    Values stored here (input, event details) are never mutated after they
    are stored; everything handed out is a copy.
    """

    __slots__ = (
        "callbacks",
        "checkpoint",
        "clock",
        "current_state",
        "error",
        "events",
        "execution",
        "execution_id",
        "generation",
        "input_text",
        "input_value",
        "machine",
        "name",
        "output_text",
        "random",
        "redrive_count",
        "redrive_time",
        "stamp",
        "stamps",
        "start_time",
        "state",
        "stopped",
        "task",
        "timeout_handle",
        "timeout_seconds",
        "watchers",
        "workflow_id",
    )

    def __init__(
        self,
        *,
        execution_id: str,
        name: str,
        workflow_id: str,
        machine: Machine,
        input_text: str,
        input_value: Any,
        timeout_seconds: float | None,
        clock: Clock,
        stamps: Stamps,
        random_source: random.Random | None,
    ) -> None:
        self.execution_id = execution_id
        self.name = name
        self.workflow_id = workflow_id
        self.machine = machine
        self.input_text = input_text
        self.input_value = input_value
        self.timeout_seconds = timeout_seconds
        self.clock = clock
        self.stamps = stamps
        self.stamp = stamps.stamp
        self.random: random.Random | None = random_source
        self.state = ExecutionState.RUNNING
        self.start_time = clock.now()
        self.stopped: Any = None
        """When it ended, a stamp of the clock (None: running); `stop_time` reads it."""
        self.output_text: str | None = None
        self.error: ExecutionError | None = None
        self.events: list[Any] = []
        """Flat: ``stamp, event type, state, details`` per event (see `history`);
        the event type is a `_Kept` when only the value of its one key is kept."""
        self.redrive_count = 0
        self.redrive_time: datetime | None = None
        self.generation = 0
        self.task: asyncio.Task[None] | None = None
        self.timeout_handle: TimerHandle | None = None
        self.current_state: str = machine.start_at
        self.watchers: list[asyncio.Event] | None = None
        """Events of the watchers, set on every change of ``state`` (None: no watcher)."""
        self.execution: Execution | None = None
        self.checkpoint: Mapping[str, Any] | None = None
        self.callbacks: dict[str, Callback] | None = None
        """Open task tokens of this execution (None: none yet)."""

    @property
    def stop_time(self) -> datetime | None:
        """When it ended (None: it has not)."""
        stopped = self.stopped
        return None if stopped is None else self.stamps.at(stopped)

    # ----------------------------------- ExecutionIdentity (what the core reads)

    role_arn: Final = "arn:aws:iam::123456789012:role/landlord-workflow-mock"
    """The role the context object shows (there are no roles here)."""

    @property
    def state_machine_name(self) -> str:
        """The workflow id."""
        return self.workflow_id

    @property
    def state_machine_id(self) -> str:
        """``<provider>:<workflow>``: the execution id without ``:<name>``."""
        return self.execution_id[: len(self.execution_id) - len(self.name) - 1]

    # ------------------------------------------------------- Recorder protocol

    def record(
        self,
        event_id: int,
        event_type: str,
        state: str | None,
        details: Mapping[str, Any] | None,
    ) -> None:
        """Keep the contract's events (the core counts the rest)."""
        kept = _KEPT.get(event_type)
        if kept is None:
            return
        if kept.entered:
            self.current_state = state or self.current_state
        key = kept.key
        if (
            key is not None
            and details is not None
            and key in details
            and (len(details) == 1 or (kept.role and len(details) == 2 and "roleArn" in details))
        ):
            # {"input": data} / {"output": data}: keep the value, not a dict around it.
            self.events += (self.stamp(), kept, state, details[key])
        else:
            self.events += (self.stamp(), event_type, state, details)

    def record_value(
        self, event_id: int, event_type: str, state: str | None, key: str, value: Any
    ) -> None:
        """`record` of the details ``{key: value}`` (the core's shortcut for the
        events of every state)."""
        kept = _KEPT.get(event_type)
        if kept is None:
            return
        if kept.entered:
            self.current_state = state or self.current_state
        if key == kept.key:
            self.events += (self.stamp(), kept, state, value)
        else:
            self.events += (self.stamp(), event_type, state, {key: value})

    def record_step(  # noqa: PLR0917
        self,
        entered_id: int,
        entered_type: str,
        exited_id: int,
        exited_type: str,
        state: str,
        input: Any,
        output: Any,
    ) -> None:
        """A state's ``...StateEntered`` with its input and ``...StateExited`` with its
        output, recorded at once (the core's shortcut for a state that ran in one
        step): the same as two `record_value` calls, with one stamp."""
        entered = _KEPT.get(entered_type)
        exited = _KEPT.get(exited_type)
        if entered is None or exited is None or entered.key != "input" or exited.key != "output":
            self.record_value(entered_id, entered_type, state, "input", input)
            self.record_value(exited_id, exited_type, state, "output", output)
            return
        self.current_state = state or self.current_state
        stamp = self.stamp()
        self.events += (stamp, entered, state, input, stamp, exited, state, output)

    def append_final(self, kind: str, raw_type: str, **details: Any) -> None:
        """Append an event the engine records itself (time-out, stop)."""
        details["raw_type"] = raw_type
        self.events += (self.stamp(), kind, _FINAL, details)

    def history(self) -> tuple[ExecutionEvent, ...]:
        """Fresh event values (details deep-copied)."""
        events = self.events
        at = self.stamps.at
        history = []
        for index in range(0, len(events), 4):
            stamp, event_type, state, details = events[index : index + 4]
            if type(event_type) is _Kept:
                packed: _Kept = event_type
                event_type, details = packed.event_type, {packed.key: details}
            if state is _FINAL:
                kind, kept = event_type, details
            else:
                contract = contract_event(event_type, state, details)
                assert contract is not None  # noqa: S101 - only contract events are kept
                kind, kept = contract
            history.append(
                ExecutionEvent(timestamp=at(stamp), type=kind, details=copy.deepcopy(kept))
            )
        return tuple(history)

    # --------------------------------------------------------------- status

    def status(self, provider_type: str, *, include_history: bool = False) -> ExecutionStatus:
        """A fresh snapshot; ``output`` only once succeeded."""
        # ``Any``: mypy cannot type the attrs ``converter=tuple`` of ``history``.
        history: Any = self.history() if include_history else ()
        output = None
        if self.state is ExecutionState.SUCCEEDED and self.output_text is not None:
            output = parse_compact(self.output_text)
        return ExecutionStatus(
            execution_id=self.execution_id,
            workflow_id=self.workflow_id,
            provider_type=provider_type,
            state=self.state,
            start_time=self.start_time,
            stop_time=self.stop_time,
            input=parse_compact(self.input_text),
            output=output,
            error=self.error,
            history=history,
            metadata={"execution_name": self.name, "redrive_count": self.redrive_count},
        )
