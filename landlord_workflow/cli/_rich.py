"""The live progress view on a terminal, drawn with ``rich`` (the ``cli`` extra).

Private to the CLI, imported only when a terminal asks for the live view:
importing this module raises ``ImportError`` when ``rich`` is not installed,
and the CLI falls back to plain lines (`landlord_workflow.cli._live.PlainView`).

The view is a table of the states the execution visited (one row per visit,
as `step_rows` reads them from the history): a spinner on the state that is
running (or waiting to retry), its status, task attempts, start offset and
duration (counting up while it runs), and the error; the state that failed
the execution is highlighted with the execution's error. The caption says
how the execution stands. ``rich.live.Live`` redraws it in place, several
times a second, from its own refresh thread: nothing here touches the event
loop, and `close` draws the last state and leaves it on screen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from landlord_workflow._types import ExecutionState, ExecutionStatus
from landlord_workflow.cli._live import StepRow, format_duration, step_rows

__all__ = ["RichView"]

REFRESH_PER_SECOND = 8
"""How often the table is redrawn (the spinner turns and running durations count)."""

_STYLES = {
    "running": "cyan",
    "retrying": "yellow",
    "error": "yellow",
    "succeeded": "green",
    "caught": "yellow",
    "cancelled": "yellow",
    "failed": "bold red",
    "timed_out": "bold red",
}
_MARKS = {  # (unicode, ascii)
    "succeeded": ("✓", "ok"),
    "caught": ("✓", "ok"),
    "error": ("!", "!"),
    "cancelled": ("■", "--"),
    "failed": ("✗", "!!"),
    "timed_out": ("✗", "!!"),
}
_WAITING = frozenset({"running", "retrying"})
"""Outcomes that get the spinner: the state is still at work."""
_FAILING = frozenset({"failed", "timed_out"})


class RichView:
    """A live table of one execution's states on ``stream`` (a terminal).

    ``console`` replaces the console drawn on (tests pass one that records).
    """

    def __init__(self, stream: TextIO, *, console: Console | None = None) -> None:
        self._console = console or Console(file=stream, force_terminal=True, highlight=False)
        self._unicode = self._console.encoding.lower().startswith("utf")
        self._status: ExecutionStatus | None = None
        self._rows: list[StepRow] = []
        self._spinners: dict[int, Spinner] = {}
        self._live = Live(
            console=self._console,
            get_renderable=self.render,
            refresh_per_second=REFRESH_PER_SECOND,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._started = False

    def update(self, status: ExecutionStatus) -> None:
        """Show ``status`` (fetched with history); the first update starts the live display."""
        self._rows = step_rows(status)
        self._status = status
        if not self._started:
            self._live.start()
            self._started = True
        self._live.refresh()

    def close(self) -> None:
        """Draw the last state once more and stop redrawing (it stays on screen)."""
        if self._started:
            self._live.stop()
            self._started = False

    # -- drawing --------------------------------------------------------------------

    def render(self) -> RenderableType:
        """The table as it stands now (called by the refresh thread)."""
        status, rows = self._status, self._rows
        if status is None:
            return Text("")
        now = datetime.now(UTC)
        table = Table(
            title=Text(status.execution_id, style="bold"),
            title_justify="left",
            caption=self._caption(status, now),
            caption_justify="left",
            expand=False,
        )
        table.add_column("", no_wrap=True, width=2)
        table.add_column("state", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("attempts", justify="right")
        table.add_column("start", justify="right", no_wrap=True)
        table.add_column("duration", justify="right", no_wrap=True)
        table.add_column("error", overflow="fold")
        failed_at = status.error.failed_at if status.error is not None else None
        for index, row in enumerate(rows):
            style = _STYLES.get(row.outcome, "")
            error = row.error or ""
            failing = row.outcome in _FAILING
            if failing and status.error is not None and failed_at in (None, row.state):
                # The state where the execution failed carries the execution's error.
                error = _error_text(status, where=False)
            table.add_row(
                self._mark(index, row, style),
                Text(row.state, style="bold red" if failing else ""),
                Text(row.outcome, style=style),
                str(row.attempts),
                "+" + format_duration(row.offset),
                format_duration(_duration(row, now)),
                Text(error, style="red" if failing else "yellow"),
                style="on grey15" if failing else None,
            )
        return Group(table)

    def _mark(self, index: int, row: StepRow, style: str) -> RenderableType:
        if row.outcome in _WAITING:
            spinner = self._spinners.get(index)
            if spinner is None:
                name = "dots" if self._unicode else "line"
                spinner = self._spinners[index] = Spinner(name, style=style)
            return spinner
        unicode_mark, ascii_mark = _MARKS.get(row.outcome, ("·", "."))
        return Text(unicode_mark if self._unicode else ascii_mark, style=style)

    @staticmethod
    def _caption(status: ExecutionStatus, now: datetime) -> Text:
        if not status.state.is_terminal:
            elapsed = max(now - status.start_time, timedelta(0))
            return Text(f"{status.state.value} for {format_duration(elapsed)}", style="cyan")
        text = status.state.value
        if status.stop_time is not None:
            text += f" in {format_duration(status.stop_time - status.start_time)}"
        if status.state is ExecutionState.SUCCEEDED:
            return Text(text, style="bold green")
        if status.error is not None:
            text += f": {_error_text(status)}"
        return Text(text, style="bold red")


def _duration(row: StepRow, now: datetime) -> timedelta | None:
    if row.duration is not None:
        return row.duration
    if row.outcome in _WAITING or row.outcome == "error":
        return max(now - row.start, timedelta(0))  # counts up while the state works
    return None


def _error_text(status: ExecutionStatus, *, where: bool = True) -> str:
    error = status.error
    if error is None:
        return ""
    at = f" at {error.failed_at}" if where and error.failed_at else ""
    code = error.code or "(no error name)"
    message = f": {error.message}" if error.message else ""
    return f"{code}{at}{message}"
