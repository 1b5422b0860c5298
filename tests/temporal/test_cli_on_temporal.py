"""The ``landlord-workflow`` CLI on Temporal.

``--local-temporal`` runs a command on a throwaway dev server with an echoing
ASL worker; with ``WORKFLOW_TEMPORAL_ADDRESS`` the cross-process commands
(create, start, status, wait, stop) drive executions that the session's ASL
worker runs (the CLI itself hosts no worker and never polls).
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporal.asl_handlers import CALLS

from landlord_workflow.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from landlord_workflow.testing._temporal import LocalTemporal

pytestmark = pytest.mark.temporal

FAST = {"WORKFLOW_POLL_INITIAL_INTERVAL": "10ms", "WORKFLOW_POLL_MAX_INTERVAL": "50ms"}
ASL = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Task", "Resource": "prepare", "ResultPath": "$.p", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}
HANG = {"StartAt": "Hang", "States": {"Hang": {"Type": "Task", "Resource": "hang", "End": True}}}


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
