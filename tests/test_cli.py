"""The ``landlord-workflow`` CLI, run through ``main(argv)`` with captured streams.

Mock-engine commands run in one process; the cross-process commands (start,
status, wait, stop, delete, graph with an execution) run against a local
Step Functions engine (moto server).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from landlord_workflow import ExecutionState, ExecutionStatus, codec
from landlord_workflow.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from landlord_workflow.testing._moto import FAKE_CREDENTIALS, FAKE_ROLE_ARN, LocalStepFunctions

TENANT_SPEC = Path(__file__).parent.parent / "examples" / "definitions" / "tenant_provisioning.json"
FAST_ENV = {"WORKFLOW_POLL_INITIAL_INTERVAL": "10ms", "WORKFLOW_POLL_MAX_INTERVAL": "50ms"}


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err


class FakeTty(io.StringIO):
    """A captured stream that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


def cli(*argv: str, env: dict[str, str] | None = None, tty: bool = False) -> Result:
    out: io.StringIO = FakeTty() if tty else io.StringIO()
    err = io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, environ={**FAST_ENV, **(env or {})})
    return Result(code, out.getvalue(), err.getvalue())


def write_spec(tmp_path: Path, definition: dict[str, Any], **fields: Any) -> str:
    spec = {
        "workflow_id": "cli-test",
        "provider_type": "mock",
        "name": "CLI test",
        "definition": definition,
        **fields,
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return str(path)


PASSING = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Pass",
            "Result": {"ready": True},
            "ResultPath": "$.prep",
            "Next": "Go",
        },
        "Go": {"Type": "Pass", "End": True},
    },
}
FAILING = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Explode"},
        "Explode": {"Type": "Fail", "Error": "Tenant.Broken", "Cause": "no capacity"},
    },
}
SLOW = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 60, "End": True}}}


# -- mock engine, one process -------------------------------------------------------------


def test_providers_lists_mock_and_step_functions_when_a_region_is_set() -> None:
    assert cli("providers").out.split() == ["mock"]
    result = cli("providers", "--region", "eu-west-1", "--json")
    assert result.code == EXIT_OK
    assert json.loads(result.out) == ["mock", "step-functions"]


def test_validate_accepts_the_example_spec() -> None:
    result = cli("validate", str(TENANT_SPEC))

    assert result.code == EXIT_OK
    assert result.out.strip() == "valid: tenant-provisioning (mock)"


def test_validate_prints_every_problem_with_its_field_and_exits_2(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, PASSING, workflow_id="Not Valid!", name="")

    result = cli("validate", spec)

    assert result.code == EXIT_USAGE
    assert "invalid: 2 problems" in result.err
    assert "\n  workflow_id: must be 1 to 128 characters" in result.err
    assert "\n  name: " in result.err
    assert result.out == ""


def test_validate_reports_definition_problems_by_path(tmp_path: Path) -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}

    result = cli("validate", write_spec(tmp_path, definition))

    assert result.code == EXIT_USAGE
    assert "\n  definition.States.A.Next: " in result.err


def test_malformed_spec_file_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text('{"workflow_id": "x", "provider_type": "mock", "name": "n", "definition": []}')

    result = cli("validate", str(path))

    assert result.code == EXIT_USAGE
    assert "definition" in result.err


def test_missing_spec_file_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("create", str(tmp_path / "nope.json"))

    assert result.code == EXIT_USAGE
    assert "cannot read spec" in result.err


def test_usage_errors_exit_2() -> None:
    assert cli("frobnicate").code == EXIT_USAGE
    assert cli("stop", "some-id").code == EXIT_USAGE  # --reason is required
    assert cli("run").code == EXIT_USAGE


def test_bad_environment_is_reported_by_variable_name() -> None:
    result = cli("providers", env={"WORKFLOW_CALL_MAX_ATTEMPTS": "0"})

    assert result.code == EXIT_USAGE
    assert "WORKFLOW_CALL_MAX_ATTEMPTS: must be >= 1" in result.err


def test_run_on_the_mock_prints_plain_progress_outcome_and_timeline(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, PASSING)

    result = cli("run", spec, "--input", '{"tenant_id": "t1"}', "--name", "run-1")

    assert result.code == EXIT_OK, result.err
    lines = result.out.splitlines()
    assert "started: mock:cli-test:run-1" in lines
    assert any(line.startswith("Prepare: succeeded in ") for line in lines)
    assert any(line.startswith("Go: succeeded in ") for line in lines)
    assert "\x1b[" not in result.out  # no escapes when not a terminal
    assert any(line.startswith("succeeded: mock:cli-test:run-1") for line in lines)
    assert 'output: {"prep": {"ready": true}, "tenant_id": "t1"}' in lines
    timeline = result.out.split("timeline:", 1)[1].splitlines()
    assert timeline[1].split()[:2] == ["state", "start"]
    assert timeline[2].split()[0] == "Prepare"
    assert timeline[3].split()[0] == "Go"


def test_run_reads_input_from_a_file(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, PASSING)
    (tmp_path / "input.json").write_text('{"tenant_id": "from-file"}')

    result = cli("run", spec, "--input", f"@{tmp_path / 'input.json'}")

    assert result.code == EXIT_OK
    assert '"tenant_id": "from-file"' in result.out


def test_run_with_invalid_input_json_exits_2(tmp_path: Path) -> None:
    result = cli("run", write_spec(tmp_path, PASSING), "--input", "{not json")

    assert result.code == EXIT_USAGE
    assert "input: --input is not valid JSON" in result.err


def test_failed_run_exits_1_and_names_the_failed_state(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, FAILING)

    result = cli("run", spec)

    assert result.code == EXIT_FAILED
    assert "error: Tenant.Broken at Explode: " in result.out
    assert "Explode: failed" in result.out


def test_failed_run_is_retried_under_the_spec_retry_policy(tmp_path: Path) -> None:
    policy = {"max_attempts": 2, "initial_interval": "10ms", "max_interval": "10ms"}
    spec = write_spec(tmp_path, FAILING, retry_policy=policy)

    result = cli("run", spec)

    assert result.code == EXIT_FAILED
    assert "attempt 2 of 2: mock:cli-test:" in result.out
    assert result.out.count("Explode: failed") == 2, "each attempt is shown live"


def test_run_json_prints_the_final_status_for_machines(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, PASSING)

    result = cli("run", spec, "--json", "--input", '{"tenant_id": "t9"}')

    assert result.code == EXIT_OK
    status = codec.from_json(ExecutionStatus, result.out)
    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == {"tenant_id": "t9", "prep": {"ready": True}}
    assert [
        event.details.get("state") for event in status.history if event.type == "StateEntered"
    ] == [
        "Prepare",
        "Go",
    ]


def test_run_on_a_terminal_redraws_a_live_view(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, PASSING)

    result = cli("run", spec, tty=True, env={"TERM": "xterm"})

    assert result.code == EXIT_OK
    assert "\x1b[2K" in result.out  # lines are cleared and redrawn
    assert "\x1b[32m[ok]\x1b[0m" in result.out  # coloured marks
    assert "Prepare  succeeded" in result.out


def test_live_view_respects_no_color(tmp_path: Path) -> None:
    result = cli("run", write_spec(tmp_path, PASSING), tty=True, env={"NO_COLOR": "1"})

    assert "\x1b[2K" in result.out
    assert "\x1b[32m" not in result.out


def test_dumb_terminals_get_plain_lines(tmp_path: Path) -> None:
    result = cli("run", write_spec(tmp_path, PASSING), tty=True, env={"TERM": "dumb"})

    assert result.code == EXIT_OK
    assert "\x1b[" not in result.out


def test_cross_process_commands_refuse_the_in_memory_mock() -> None:
    for argv in (["status", "x"], ["wait", "x"], ["stop", "x", "--reason", "r"], ["delete", "x"]):
        result = cli(*argv)
        assert result.code == EXIT_USAGE
        assert "lives inside one process" in result.err


def test_graph_prints_a_mermaid_flowchart() -> None:
    result = cli("graph", str(TENANT_SPEC))

    assert result.code == EXIT_OK
    lines = result.out.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    s0["ProvisionCompute"]' in lines
    assert "    start --> s0" in lines
    assert "    s0 --> s1" in lines
    assert "    s3 --> finish" in lines


def test_graph_labels_choice_rules_and_catchers(tmp_path: Path) -> None:
    definition = {
        "StartAt": "Tier",
        "States": {
            "Tier": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.tier", "StringEquals": "gold", "Next": "Work"}],
                "Default": "Done",
            },
            "Work": {
                "Type": "Task",
                "Resource": "work",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    result = cli("graph", write_spec(tmp_path, definition))

    assert '    s0{"Tier"}' in result.out
    assert "    s0 -->|\"$.tier == 'gold'\"| s1" in result.out
    assert '    s0 -->|"default"| s2' in result.out
    assert '    s1 -.->|"catch States.ALL"| s2' in result.out


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "landlord_workflow", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0
    assert "Exit codes: 0 succeeded" in result.stdout


# -- Step Functions on a local moto server: one process per command -----------------------


@pytest.fixture(scope="module")
def engine() -> Iterator[LocalStepFunctions]:
    with LocalStepFunctions() as engine:
        yield engine


@pytest.fixture
def sfn(engine: LocalStepFunctions, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment selecting Step Functions on the local engine (fake credentials)."""
    engine.reset()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", FAKE_CREDENTIALS["aws_session_token"])
    return {
        "WORKFLOW_DEFAULT_PROVIDER": "step-functions",
        "WORKFLOW_SFN_REGION": engine.region,
        "WORKFLOW_SFN_ENDPOINT_URL": engine.endpoint_url,
        "WORKFLOW_SFN_ROLE_ARN": FAKE_ROLE_ARN,
    }


@pytest.mark.moto
def test_create_start_wait_status_graph_delete_on_step_functions(
    tmp_path: Path, sfn: dict[str, str]
) -> None:
    spec = write_spec(tmp_path, PASSING, provider_type="step-functions")

    created = cli("create", spec, "--json", env=sfn)
    assert created.code == EXIT_OK, created.err
    assert json.loads(created.out)["workflow_id"] == "cli-test"

    started = cli("start", "cli-test", "--input", '{"tenant_id": "t1"}', "--name", "one", env=sfn)
    assert started.code == EXIT_OK, started.err
    execution_id = started.out.strip()
    assert execution_id.endswith(":execution:cli-test:one")

    waited = cli("wait", execution_id, env=sfn)
    assert waited.code == EXIT_OK, waited.err
    assert f"succeeded: {execution_id}" in waited.out

    status = cli("status", execution_id, "--history", env=sfn)
    assert status.code == EXIT_OK
    assert "workflow: cli-test on step-functions" in status.out
    timeline = status.out.split("timeline:", 1)[1]
    assert [line.split()[0] for line in timeline.splitlines()[2:]] == ["Prepare", "Go"]

    graph = cli("graph", spec, execution_id, env=sfn)
    assert graph.code == EXIT_OK
    assert "    class s0,s1 succeeded" in graph.out

    deleted = cli("delete", "cli-test", env=sfn)
    assert deleted.code == EXIT_OK
    assert deleted.out.strip() == "deleted: cli-test"


@pytest.mark.moto
def test_stop_cancels_a_running_execution_and_wait_exits_1(
    tmp_path: Path, sfn: dict[str, str]
) -> None:
    spec = write_spec(tmp_path, SLOW, provider_type="step-functions")
    assert cli("create", spec, env=sfn).code == EXIT_OK
    execution_id = cli("start", "cli-test", env=sfn).out.strip()

    still_running = cli("wait", execution_id, "--timeout", "200ms", env=sfn)
    assert still_running.code == EXIT_FAILED
    assert "still running after" in still_running.err

    stopped = cli("stop", execution_id, "--reason", "tenant deleted", "--json", env=sfn)
    assert stopped.code == EXIT_OK
    assert codec.from_json(ExecutionStatus, stopped.out).state is ExecutionState.CANCELLED

    waited = cli("wait", execution_id, env=sfn)
    assert waited.code == EXIT_FAILED
    assert "Hold: cancelled in " in waited.out
    assert f"\ncancelled: {execution_id}" in waited.out


@pytest.mark.moto
def test_unknown_execution_is_an_engine_error_exit_1(sfn: dict[str, str]) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:cli-test:nope"

    result = cli("status", arn, env=sfn)

    assert result.code == EXIT_FAILED
    assert "ExecutionNotFoundError" in result.err
