"""The ``landlord-workflow`` CLI on Temporal.

``--local-temporal`` runs a command on a throwaway dev server with an echoing
ASL worker; with ``WORKFLOW_TEMPORAL_ADDRESS`` the cross-process commands
(create, start, status, wait, stop) drive executions that the session's ASL
worker runs (the CLI itself hosts no worker and never polls).
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from temporal.asl_handlers import APPROVAL, CALLS, FAILURES_LEFT, tokens_of

from landlord_workflow import ExecutionStatus, WorkflowSpec, codec
from landlord_workflow.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from landlord_workflow.testing._temporal import LocalTemporal

pytestmark = pytest.mark.temporal
T = TypeVar("T")

FAST = {"WORKFLOW_POLL_INITIAL_INTERVAL": "10ms", "WORKFLOW_POLL_MAX_INTERVAL": "50ms"}
ASL = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Task", "Resource": "prepare", "ResultPath": "$.p", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}
HANG = {"StartAt": "Hang", "States": {"Hang": {"Type": "Task", "Resource": "hang", "End": True}}}
FLAKY = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Task", "Resource": "prepare", "ResultPath": "$.p", "Next": "Flaky"},
        "Flaky": {"Type": "Task", "Resource": "flaky", "ResultPath": "$.f", "End": True},
    },
}


def cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, environ={**FAST, **(env or {})})
    return code, out.getvalue(), err.getvalue()


def spec_file(tmp_path: Path, definition: dict[str, Any], provider_type: str = "mock") -> str:
    path = tmp_path / f"{uuid.uuid4().hex[:6]}.json"
    spec = {
        "workflow_id": f"cli-{uuid.uuid4().hex[:10]}",
        "provider_type": provider_type,
        "name": "CLI on Temporal",
        "definition": definition,
    }
    path.write_text(json.dumps(spec), encoding="utf-8")
    return str(path)


def test_run_on_a_throwaway_dev_server_runs_the_asl_definition(tmp_path: Path) -> None:
    code, out, err = cli("run", spec_file(tmp_path, ASL), "--local-temporal", "--input", '{"n": 1}')
    assert code == EXIT_OK, err
    assert "workflow: cli-" in out
    assert " on temporal" in out
    assert "succeeded: temporal:default:cli-" in out
    assert 'output: {"n": 1, "p": {"n": 1}}' in out, "Tasks echo their input"


def test_cross_process_commands_are_refused_on_a_throwaway_server() -> None:
    code, _, err = cli("status", "temporal:default:wf/run", "--local-temporal")
    assert code == EXIT_USAGE
    assert "cannot reach a --local-temporal server" in err


def test_create_start_wait_status_and_stop_drive_executions_the_workers_run(
    tmp_path: Path, local_temporal: LocalTemporal, asl_worker: str
) -> None:
    env = {
        "WORKFLOW_DEFAULT_PROVIDER": "temporal",
        "WORKFLOW_TEMPORAL_ADDRESS": local_temporal.target,
        "WORKFLOW_TEMPORAL_TASK_QUEUE": asl_worker,
    }
    path = spec_file(tmp_path, ASL, provider_type="temporal")
    workflow_id = json.loads(Path(path).read_text())["workflow_id"]
    assert cli("create", path, env=env)[0] == EXIT_OK
    code, out, err = cli("start", workflow_id, "--name", "first", "--input", "{}", env=env)
    assert code == EXIT_OK, err
    execution_id = out.strip()
    assert execution_id == f"temporal:default:{workflow_id}/first"
    code, out, err = cli("wait", execution_id, "--json", env=env)
    assert code == EXIT_OK, err
    assert json.loads(out)["output"] == {"p": {"prepared": True}}
    assert CALLS[("prepare", "first")] == 1
    code, out, _ = cli("status", execution_id, "--history", env=env)
    assert code == EXIT_OK
    assert "Prepare" in out

    hanging = spec_file(tmp_path, HANG, provider_type="temporal")
    hanging_id = json.loads(Path(hanging).read_text())["workflow_id"]
    assert cli("create", hanging, env=env)[0] == EXIT_OK
    code, out, _ = cli("start", hanging_id, env=env)
    assert code == EXIT_OK
    code, out, err = cli("stop", out.strip(), "--reason", "from the CLI", env=env)
    assert code == EXIT_OK, err
    assert out.startswith("cancelled: ")
    code, _, _ = cli("wait", f"temporal:default:{hanging_id}/missing", env=env)
    assert code == EXIT_FAILED


def eventually(read: Callable[[], T], timeout: float = 10.0) -> T:
    """``read()`` once its answer is non-empty (or the last answer after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = read()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


@pytest.fixture
def on_server(local_temporal: LocalTemporal, asl_worker: str) -> dict[str, str]:
    """Environment selecting the session's dev server, whose ASL worker runs the Tasks."""
    return {
        "WORKFLOW_DEFAULT_PROVIDER": "temporal",
        "WORKFLOW_TEMPORAL_ADDRESS": local_temporal.target,
        "WORKFLOW_TEMPORAL_TASK_QUEUE": asl_worker,
    }


def create(tmp_path: Path, definition: dict[str, Any], env: dict[str, str]) -> str:
    path = spec_file(tmp_path, definition, provider_type="temporal")
    assert cli("create", path, env=env)[0] == EXIT_OK
    return str(json.loads(Path(path).read_text())["workflow_id"])


def test_workflows_spec_executions_history_and_redrive(
    tmp_path: Path, on_server: dict[str, str]
) -> None:
    workflow_id = create(tmp_path, FLAKY, on_server)
    name = f"cli-{uuid.uuid4().hex[:8]}"
    FAILURES_LEFT[name] = 1
    execution_id = cli("start", workflow_id, "--name", name, env=on_server)[1].strip()
    code, out, _ = cli("wait", execution_id, env=on_server)
    assert code == EXIT_FAILED
    assert "error: Tenant.NotReady at Flaky: not yet" in out

    code, out, err = cli("redrive", execution_id, env=on_server)
    assert (code, out) == (EXIT_OK, f"{execution_id}\n"), err
    code, out, _ = cli("wait", execution_id, "--json", env=on_server)
    assert code == EXIT_OK
    assert codec.from_json(ExecutionStatus, out).output == {"p": {"prepared": True}, "f": "done"}
    assert (CALLS[("prepare", name)], CALLS[("flaky", name)]) == (1, 2)

    code, out, err = cli("history", execution_id, env=on_server)
    assert code == EXIT_OK, err
    events = [line.split()[1:3] for line in out.splitlines()[1:]]
    assert ["TaskFailed", "Flaky"] in events
    assert events[-1] == ["ExecutionSucceeded"]
    assert ["ExecutionRedriven"] in events

    def listed_succeeded() -> list[list[str]]:
        code, out, err = cli("executions", workflow_id, "--state", "succeeded", env=on_server)
        assert code == EXIT_OK, err
        return [line.split()[:2] for line in out.splitlines()[1:]]

    # Listings come from Temporal's visibility store, a moment behind the execution.
    assert eventually(listed_succeeded) == [[execution_id, "succeeded"]]

    def listed_workflows() -> set[str]:
        code, out, err = cli("workflows", "--json", env=on_server)
        assert code == EXIT_OK, err
        return {item["workflow_id"] for item in json.loads(out)} & {workflow_id}

    assert eventually(listed_workflows) == {workflow_id}
    code, out, _ = cli("spec", workflow_id, env=on_server)
    assert codec.from_json(WorkflowSpec, out).definition == FLAKY


def test_task_commands_answer_callbacks_across_processes(
    tmp_path: Path, on_server: dict[str, str]
) -> None:
    workflow_id = create(tmp_path, APPROVAL, on_server)
    name = f"ok-{uuid.uuid4().hex[:8]}"
    approved = cli("start", workflow_id, "--name", name, env=on_server)[1].strip()
    (token,) = asyncio.run(tokens_of(name))

    assert cli("task-heartbeat", token, env=on_server)[:2] == (EXIT_OK, "sent: task heartbeat\n")
    code, out, err = cli("task-success", token, "--output", '{"ok": true}', env=on_server)
    assert (code, out) == (EXIT_OK, "sent: task success\n"), err
    code, out, _ = cli("wait", approved, "--json", env=on_server)
    assert (code, json.loads(out)["output"]) == (EXIT_OK, {"ok": True})
    code, _, err = cli("task-success", token, env=on_server)
    assert code == EXIT_FAILED
    assert "TaskTokenError" in err

    other = f"no-{uuid.uuid4().hex[:8]}"
    refused = cli("start", workflow_id, "--name", other, env=on_server)[1].strip()
    (token,) = asyncio.run(tokens_of(other))
    code, _, err = cli("task-failure", token, "--error", "Refused", "--cause", "no", env=on_server)
    assert code == EXIT_OK, err
    code, out, _ = cli("wait", refused, env=on_server)
    assert code == EXIT_FAILED
    assert "error: Refused at Approve: no" in out
