"""Per-state progress of one execution: rows from history, a timeline, and progress views.

Private to the CLI. Everything here works on the public
[`ExecutionStatus`][landlord_workflow.ExecutionStatus] and its normalised history
(``StateEntered``, ``StateExited``, ``TaskFailed``, ``TaskRetried``, ...), so it
works the same on every provider. The live table on a terminal is
`landlord_workflow.cli._rich.RichView` (needs ``rich``, the ``cli`` extra);
`PlainView` prints one line per change for pipes, logs, ``TERM=dumb`` and
``NO_COLOR``.

Progress is followed by polling ``get_execution_status(include_history=True)``:
``Manager.watch`` reports changes of the execution's state only, and the
per-state story lives in the history. On Step Functions every poll costs
GetExecutionHistory calls, so `follow` backs off like the Manager's
``PollPolicy`` (capped at `MAX_FOLLOW_INTERVAL`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TextIO

import anyio
import attrs

from landlord_workflow._policies import PollPolicy
from landlord_workflow._types import ExecutionState, ExecutionStatus

if TYPE_CHECKING:
    from landlord_workflow._manager import Manager

__all__ = [
    "LIVE_VIEW_HINT",
    "PlainView",
    "ProgressView",
    "StepRow",
    "Views",
    "follow",
    "format_duration",
    "step_rows",
    "timeline_lines",
    "wants_live_view",
]

MAX_FOLLOW_INTERVAL = 2.0
"""Longest pause, in seconds, between two history polls while following."""

_OPEN = "running"
_ENDINGS = {
    "ExecutionFailed": "failed",
    "ExecutionTimedOut": "timed_out",
    "ExecutionCancelled": "cancelled",
}
"""History events that end an execution, and the outcome of the states still open."""


@attrs.frozen(kw_only=True)
class StepRow:
    """One visit of one state: when it started, how long it took, how it ended.

    ``outcome`` is ``running``, ``error`` (a task error, a Retry may follow),
    ``retrying``, ``succeeded``, ``caught``, ``failed``, ``cancelled`` or
    ``timed_out``. ``attempts`` counts task attempts (1 unless
    a Retry rule fired); ``error`` is the last error code seen in the state.
    """

    state: str
    outcome: str
    start: datetime
    offset: timedelta
    duration: timedelta | None = None
    attempts: int = 1
    error: str | None = None


def step_rows(status: ExecutionStatus) -> list[StepRow]:
    """The states the execution visited, in order, from its history.

    A state entered twice (a loop, or the failed state re-entered after a
    redrive) gives two rows. A task error shows as ``error`` until the Retry
    rule fires (``retrying``). A state still open when the execution ended
    (failed, timed out or was cancelled, also before a redrive) takes that
    outcome (``failed``, ``timed_out``, ``cancelled``);
    one whose error was caught by a ``Catch`` rule ends ``caught``.
    """
    rows: list[_Row] = []
    open_rows: dict[str, _Row] = {}
    origin = status.start_time
    for event in status.history:
        ending = _ENDINGS.get(event.type)
        if ending is not None:
            # The execution ended here (a redrive may follow): its open states end with it.
            for row in open_rows.values():
                row.outcome = ending
                row.duration = event.timestamp - row.start
            open_rows.clear()
            continue
        state = event.details.get("state")
        if not isinstance(state, str):
            continue
        if event.type == "StateEntered":
            row = _Row(state, event.timestamp, event.timestamp - origin)
            open_rows[state] = row
            rows.append(row)
            continue
        row_or_none = open_rows.get(state)
        if row_or_none is None:
            continue
        row = row_or_none
        if event.type == "StateExited":
            row.outcome = "caught" if row.outcome == "error" else "succeeded"
            row.duration = event.timestamp - row.start
            del open_rows[state]
        elif event.type == "TaskFailed":
            error = event.details.get("error")
            row.error = str(error) if error is not None else "States.TaskFailed"
            row.outcome = "error"
        elif event.type == "TaskRetried":
            row.outcome = "retrying"
            row.attempts += 1
    if status.state.is_terminal:
        for row in open_rows.values():
            if status.state is ExecutionState.SUCCEEDED:
                row.outcome = "caught" if row.error else "succeeded"
            else:
                row.outcome = status.state.value
                if status.stop_time is not None:
                    row.duration = status.stop_time - row.start
    return [row.freeze() for row in rows]


class _Row:
    __slots__ = ("attempts", "duration", "error", "offset", "outcome", "start", "state")

    def __init__(self, state: str, start: datetime, offset: timedelta) -> None:
        self.state = state
        self.start = start
        self.offset = offset
        self.outcome = _OPEN
        self.duration: timedelta | None = None
        self.attempts = 1
        self.error: str | None = None

    def freeze(self) -> StepRow:
        return StepRow(
            state=self.state,
            outcome=self.outcome,
            start=self.start,
            offset=self.offset,
            duration=self.duration,
            attempts=self.attempts,
            error=self.error,
        )


def format_duration(value: timedelta | None) -> str:
    """``0.301s``, ``42.000s``, ``12m05s``, ``3h02m``; ``-`` for ``None``."""
    if value is None:
        return "-"
    seconds = value.total_seconds()
    if seconds < 60:
        return f"{seconds:.3f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _describe(row: StepRow) -> str:
    if row.outcome == "retrying":
        return f"retrying, attempt {row.attempts} ({row.error})"
    text = row.outcome
    if row.attempts > 1:
        text += f" after {row.attempts} attempts"
    if row.error and row.outcome != "succeeded":
        text += f" ({row.error})"
    return text


def timeline_lines(status: ExecutionStatus) -> list[str]:
    """A table of the visited states: name, start offset, duration, outcome.

    Needs a status fetched with ``include_history=True``.
    """
    rows = step_rows(status)
    width = max([len("state"), *(len(row.state) for row in rows)])
    lines = [f"{'state':<{width}}  {'start':>9}  {'duration':>9}  outcome"]
    for row in rows:
        start = "+" + format_duration(row.offset)
        duration = format_duration(row.duration)
        outcome = _describe(row)
        lines.append(f"{row.state:<{width}}  {start:>9}  {duration:>9}  {outcome}")
    return lines


class ProgressView(Protocol):
    """Something that shows the progress of one execution."""

    def update(self, status: ExecutionStatus) -> None:
        """Show ``status`` (fetched with history)."""
        ...

    def close(self) -> None:
        """The execution is over (or we stopped following it)."""
        ...


class PlainView:
    """One line per change, for logs and pipes: ``ProvisionCompute: succeeded in 0.301s``."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._seen: list[tuple[str, int]] = []

    def update(self, status: ExecutionStatus) -> None:
        """Print a line for every row that appeared or changed since the last update."""
        for index, row in enumerate(step_rows(status)):
            key = (row.outcome, row.attempts)
            if index < len(self._seen) and self._seen[index] == key:
                continue
            if index < len(self._seen):
                self._seen[index] = key
            else:
                self._seen.append(key)
            line = f"{row.state}: {_describe(row)}"
            if row.duration is not None and row.outcome != _OPEN:
                line += f" in {format_duration(row.duration)}"
            self._stream.write(line + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Nothing to clean up."""


LIVE_VIEW_HINT = (
    "the live view needs rich: pip install 'landlord-workflow[cli]' (showing plain lines)"
)
"""What a terminal is told, once, when ``rich`` is missing."""


def wants_live_view(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """A terminal that can take the live view: ``stream`` is a TTY, ``TERM`` is not
    ``dumb`` and ``NO_COLOR`` is unset or empty (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return (
        bool(isatty and isatty()) and environ.get("TERM") != "dumb" and not environ.get("NO_COLOR")
    )


class Views:
    """Makes one progress view per execution followed by a command.

    On a terminal (`wants_live_view`) the views are `RichView` tables when
    ``rich`` is installed; otherwise, and whenever output is piped, they
    are `PlainView` lines, and a terminal is told once on ``notices`` how to
    get the live view. ``live`` forces the choice (``None``: decide).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        environ: Mapping[str, str] | None = None,
        notices: TextIO | None = None,
        live: bool | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self._stream = stream
        self._notices = notices
        self.live = wants_live_view(stream, env) if live is None else live
        """Whether the views draw the live table (which then is the timeline)."""
        self._told = False
        self._views: dict[str, ProgressView] = {}

    def make(self, execution_id: str) -> ProgressView:
        """The view of ``execution_id``: a fresh one, or the one it already had when
        it is followed again (``run`` redrives a failed attempt): plain lines then
        print only what is new, and the table is drawn anew below."""
        view = self._views.get(execution_id)
        if view is None:
            view = self._views[execution_id] = self._new()
        return view

    def _new(self) -> ProgressView:
        if self.live:
            try:
                from landlord_workflow.cli._rich import RichView
            except ImportError:
                self.live = False
                if self._notices is not None and not self._told:
                    self._notices.write(f"landlord-workflow: {LIVE_VIEW_HINT}\n")
                    self._notices.flush()
                    self._told = True
            else:
                return RichView(self._stream)
        return PlainView(self._stream)


def _intervals(manager: Manager) -> Iterator[float]:
    # Following shows progress: the Manager's PollPolicy, or the general one
    # (not a provider's own, paced for noticing the end only).
    policy = manager.poll_policy or PollPolicy()
    for interval in policy.intervals():
        yield min(interval, MAX_FOLLOW_INTERVAL)


async def follow(
    manager: Manager,
    execution_id: str,
    view: ProgressView,
    *,
    provider_type: str | None = None,
) -> ExecutionStatus:
    """Show the execution's progress on ``view`` until it is terminal; return the final status.

    The final status carries the history. Cancelling the caller stops
    following; the execution keeps running.
    """
    intervals = _intervals(manager)
    try:
        while True:
            status = await manager.get_execution_status(
                execution_id, provider_type=provider_type, include_history=True
            )
            view.update(status)
            if status.state.is_terminal:
                return status
            await anyio.sleep(next(intervals))
    finally:
        view.close()
