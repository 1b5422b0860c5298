"""The mock engine's record of one execution (its state, history and task)."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from landlord_workflow._types import (
    ExecutionError,
    ExecutionEvent,
    ExecutionState,
    ExecutionStatus,
)
from landlord_workflow.providers.mock._clock import Clock, TimerHandle
from landlord_workflow.providers.mock.compiler import Machine, State
from landlord_workflow.providers.mock.interpreter import RunFailedError

__all__ = ["ExecutionRecord", "iso"]


def iso(moment: datetime) -> str:
    """Step Functions style timestamp: ``2024-01-01T00:00:00.000Z``."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ExecutionRecord:
    """Mutable engine state of one execution; implements the interpreter's ``Run``.

    Values stored here (input, state data in history details) are never
    mutated after they are stored; everything handed out is a copy.
    """

    __slots__ = (
        "clock",
        "current_input",
        "current_state",
        "error",
        "events",
        "execution_context",
        "execution_id",
        "generation",
        "input_text",
        "input_value",
        "machine",
        "max_events",
        "name",
        "notify",
        "output_text",
        "redrive_count",
        "start_time",
        "state",
        "state_machine_context",
        "stop_time",
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
        max_events: int,
        notify: Callable[[ExecutionRecord], None],
    ) -> None:
        self.execution_id = execution_id
        self.name = name
        self.workflow_id = workflow_id
        self.machine = machine
        self.input_text = input_text
        self.input_value = input_value
        self.timeout_seconds = timeout_seconds
        self.clock = clock
        self.max_events = max_events
        self.notify = notify
        self.state = ExecutionState.RUNNING
        self.start_time = clock.now()
        self.stop_time: datetime | None = None
        self.output_text: str | None = None
        self.error: ExecutionError | None = None
        self.events: list[tuple[datetime, str, dict[str, Any]]] = []
        self.redrive_count = 0
        self.generation = 0
        self.task: asyncio.Task[None] | None = None
        self.timeout_handle: TimerHandle | None = None
        self.current_state: str = machine.start_at
        self.current_input: Any = input_value
        self.watchers: list[asyncio.Queue[ExecutionStatus | None]] | None = None
        self.execution_context: dict[str, Any] = {
            "Id": execution_id,
            "Name": name,
            "Input": input_value,
            "StartTime": iso(self.start_time),
            "RedriveCount": 0,
        }
        self.state_machine_context = {"Id": f"mock:{workflow_id}", "Name": workflow_id}

    # --------------------------------------------------------------- history

    def append(self, kind: str, raw_type: str, state: str | None = None, **details: Any) -> None:
        """Append an event; past the history cap the execution fails."""
        if len(self.events) >= self.max_events - 1:
            raise RunFailedError(
                "States.Runtime",
                f"The execution reached the maximum number of history events ({self.max_events}).",
                state or self.current_state,
            )
        self._append(kind, raw_type, state, details)

    def append_final(self, kind: str, raw_type: str, **details: Any) -> None:
        """Append the closing event (always fits: the cap keeps room for it)."""
        self._append(kind, raw_type, None, details)

    def _append(self, kind: str, raw_type: str, state: str | None, details: dict[str, Any]) -> None:
        details["raw_type"] = raw_type
        if state is not None:
            details["state"] = state
        self.events.append((self.clock.now(), kind, details))

    def history(self) -> tuple[ExecutionEvent, ...]:
        """Fresh event values (details deep-copied)."""
        return tuple(
            ExecutionEvent(timestamp=moment, type=kind, details=copy.deepcopy(details))
            for moment, kind, details in self.events
        )

    # ------------------------------------------------- interpreter's Run API

    def enter(self, state: State, data: Any) -> Mapping[str, Any]:
        """Record entering ``state``; remember it as the redrive point."""
        self.current_state = state.name
        self.current_input = data
        self.append("StateEntered", f"{state.type}StateEntered", state.name, input=data)
        self.notify(self)
        return {
            "Execution": self.execution_context,
            "StateMachine": self.state_machine_context,
            "State": {"Name": state.name, "EnteredTime": iso(self.clock.now()), "RetryCount": 0},
        }

    def event(self, kind: str, raw_type: str, state: str, **details: Any) -> None:
        """Record a task event (failure, retry)."""
        self.append(kind, raw_type, state, **details)

    def exit(self, state: State, output: Any) -> None:
        """Record leaving ``state`` with ``output``."""
        self.append("StateExited", f"{state.type}StateExited", state.name, output=output)

    # --------------------------------------------------------------- status

    def status(self, provider_type: str, *, include_history: bool = False) -> ExecutionStatus:
        """A fresh snapshot; ``output`` only once succeeded."""
        # ``Any``: mypy cannot type the attrs ``converter=tuple`` of ``history``.
        history: Any = self.history() if include_history else ()
        output = None
        if self.state is ExecutionState.SUCCEEDED and self.output_text is not None:
            output = json.loads(self.output_text)
        return ExecutionStatus(
            execution_id=self.execution_id,
            workflow_id=self.workflow_id,
            provider_type=provider_type,
            state=self.state,
            start_time=self.start_time,
            stop_time=self.stop_time,
            input=json.loads(self.input_text),
            output=output,
            error=self.error,
            history=history,
            metadata={"execution_name": self.name, "redrive_count": self.redrive_count},
        )
