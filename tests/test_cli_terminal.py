"""The CLI on a terminal: the live table (rich), drawn in a real pseudo-terminal.

The command runs as its own process attached to a pty (stdlib ``os.openpty``),
as a user's shell would run it; a small screen model replays what it wrote
(text, carriage returns, cursor-up, erase-line; colours ignored) into the
screen a user would be left with. What the table shows for a running and a
failed state is checked in-process, on the view's own rendering.
"""

from __future__ import annotations

import asyncio
import fcntl
import io
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import anyio
import pytest
from rich.console import Console
from rich.segment import Segment

from landlord_workflow import ExecutionInput, ExecutionStatus, Manager, Registry, WorkflowSpec
from landlord_workflow.cli._live import LIVE_VIEW_HINT
from landlord_workflow.cli._rich import RichView
from landlord_workflow.providers.mock import MockProvider, TaskFailure
from landlord_workflow.testing import fast_poll_policy

FAST_ENV = {"WORKFLOW_POLL_INITIAL_INTERVAL": "10ms", "WORKFLOW_POLL_MAX_INTERVAL": "50ms"}
HOLD_THEN_FAIL = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Hold"},
        "Hold": {"Type": "Wait", "Seconds": 1, "Next": "Explode"},
        "Explode": {"Type": "Fail", "Error": "Tenant.Broken", "Cause": "no capacity"},
    },
}
SPINNER_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # rich's "dots"
CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def write_spec(tmp_path: Path, definition: dict[str, Any]) -> str:
    path = tmp_path / "spec.json"
    spec = {"workflow_id": "tty", "provider_type": "mock", "name": "tty", "definition": definition}
    path.write_text(json.dumps(spec), encoding="utf-8")
    return str(path)


def run_in_terminal(*python_argv: str, columns: int = 110, rows: int = 40) -> tuple[int, str]:
    """Run ``python *python_argv`` on a pty of this size; its exit code and everything it
    wrote (stdout and stderr share the terminal)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS", "LINES", "TTY_COMPATIBLE"}
    }
    env.update(FAST_ENV, TERM="xterm-256color", PYTHONIOENCODING="utf-8")
    proc = subprocess.Popen(
        [sys.executable, *python_argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                raise AssertionError("the command wrote nothing for 30 s")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal has gone
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
        code = proc.wait(timeout=30)
    return code, b"".join(chunks).decode("utf-8", "replace")


def screen(written: str) -> list[str]:
    """The lines left on screen after ``written`` is replayed on a terminal."""
    lines = [""]
    row = column = 0
    position = 0
    for match in [*CSI.finditer(written), None]:
        end = match.start() if match else len(written)
        for char in written[position:end]:
            if char == "\n":
                row += 1
                column = 0
                if row == len(lines):
                    lines.append("")
            elif char == "\r":
                column = 0
            elif char >= " ":
                line = lines[row].ljust(column)
                lines[row] = line[:column] + char + line[column + 1 :]
                column += 1
        if match is None:
            break
        position = match.end()
        argument, command = match.groups()
        if command == "A":  # cursor up
            row = max(row - int(argument or 1), 0)
        elif command == "K" and argument == "2":  # erase the whole line
            lines[row] = ""
        elif command == "K":  # erase to the end of the line
            lines[row] = lines[row][:column]
    return [line.rstrip() for line in lines]


def test_run_on_a_terminal_redraws_one_live_table_in_place(tmp_path: Path) -> None:
    code, written = run_in_terminal(
        "-m", "landlord_workflow", "run", write_spec(tmp_path, HOLD_THEN_FAIL)
    )

    assert code == 1
    shown = screen(written)
    headers = [line for line in shown if "state" in line and "status" in line]
    assert len(headers) == 1, "one table on screen, redrawn in place"
    assert written.count("attempts") > 1, "the table was drawn more than once"
    assert [cell.strip() for cell in headers[0].strip("┃").split("┃")] == [
        "",
        "state",
        "status",
        "attempts",
        "start",
        "duration",
        "error",
    ]
    table = shown[shown.index(headers[0]) :]
    rows = {
        cells[1]: cells
        for cells in (
            [cell.strip() for cell in line.strip("│").split("│")] for line in table if "│" in line
        )
    }
    assert rows["Prepare"][:4] == ["✓", "Prepare", "succeeded", "1"]
    assert rows["Hold"][:4] == ["✓", "Hold", "succeeded", "1"]
    assert rows["Explode"][:4] == ["✗", "Explode", "failed", "1"]
    assert rows["Explode"][6] == "Tenant.Broken: no capacity"
    caption = next(line for line in table if line.startswith("failed in "))
    assert caption.endswith(": Tenant.Broken at Explode: no capacity")
    assert "running" in written, "the Wait state was shown running"
    assert any(frame in written for frame in SPINNER_FRAMES), "with a spinner"
    assert "\x1b[1;31m" in written, "the failure is drawn in bold red"
    assert "timeline:" not in written, "the table on screen is the timeline"
    assert shown[-3:] == [
        next(line for line in shown if line.startswith("workflow: tty on mock")),
        "error: Tenant.Broken at Explode: no capacity",
        "",
    ]


def test_without_rich_a_terminal_is_told_how_to_get_the_live_view(tmp_path: Path) -> None:
    hide_rich = (
        "import sys; sys.modules['rich'] = None; "
        "from landlord_workflow.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    passing = {"StartAt": "Only", "States": {"Only": {"Type": "Pass", "End": True}}}

    code, written = run_in_terminal("-c", hide_rich, "run", write_spec(tmp_path, passing))

    assert code == 0
    shown = screen(written)
    assert shown.count(f"landlord-workflow: {LIVE_VIEW_HINT}") == 1
    assert any(line.startswith("Only: succeeded in ") for line in shown)
    assert "timeline:" in shown
    assert "┃" not in written


# -- what the table shows (the view's rendering, in-process) --------------------------------


def rendered(view: RichView, console: Console) -> list[list[Segment]]:
    return console.render_lines(view.render(), console.options, pad=False)


def row_of(lines: list[list[Segment]], state: str) -> list[Segment]:
    return next(line for line in lines if any(segment.text.strip() == state for segment in line))


def text_of(line: list[Segment]) -> str:
    return "".join(segment.text for segment in line)


@pytest.mark.asyncio
async def test_the_table_spins_on_the_running_state_and_highlights_the_failed_one() -> None:
    release = asyncio.Event()

    async def provision(payload: Any) -> Any:
        await release.wait()
        raise TaskFailure("Tenant.Broken", "no capacity")

    registry = Registry()
    registry.register(MockProvider(task_handlers={"Provision": provision}))
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system="truecolor")
    view = RichView(console.file, console=console)
    definition = {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Next": "Provision"},
            "Provision": {"Type": "Task", "Resource": "provision", "End": True},
        },
    }
    async with Manager(registry, poll_policy=fast_poll_policy()) as manager:
        await manager.create_workflow(
            WorkflowSpec(workflow_id="wf", provider_type="mock", name="wf", definition=definition)
        )
        started = await manager.start_execution("wf", ExecutionInput(input={"tenant": "t"}))

        async def status() -> ExecutionStatus:
            return await manager.get_execution_status(started.execution_id, include_history=True)

        with anyio.fail_after(5):
            running = await status()
            while len(running.history) < 4:  # Prepare entered and exited, Provision entered
                running = await status()
        try:
            view.update(running)
            lines = rendered(view, console)
        finally:
            view.close()
        row = row_of(lines, "Provision")
        assert row[1].text.strip() in SPINNER_FRAMES
        assert "running" in text_of(row)
        assert next(s for s in row if s.text.strip() == "running").style.color.name == "cyan"  # type: ignore[union-attr]
        assert "running for " in text_of(lines[-1])
        assert "✓" in text_of(row_of(lines, "Prepare"))

        release.set()
        final = await manager.wait_for_completion(started.execution_id)
        view.update(await status())
        lines = rendered(view, console)
        view.close()
    assert final.error is not None
    row = row_of(lines, "Provision")
    assert "✗" in text_of(row)
    assert "Tenant.Broken: no capacity" in text_of(row)
    name = next(segment for segment in row if segment.text.strip() == "Provision")
    assert name.style is not None
    assert name.style.bold
    assert name.style.color is not None
    assert name.style.color.name == "red"
    assert text_of(lines[-1]).startswith("failed in ")
    assert "Tenant.Broken at Provision: no capacity" in text_of(lines[-1])
