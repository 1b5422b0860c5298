"""The ``landlord-workflow`` CLI, run through ``main(argv)`` with captured streams.

Commands on spec files run on the mock engine. The commands that act on what
another process made (workflows, executions, task tokens) run three ways: on
a mock engine the test shares with them (``run_cli_async`` with the test's
Manager), refused on a fresh mock (it lives inside one process), and one
process per command against a local Step Functions engine (moto server). On a
terminal, the live table is checked in a real pseudo-terminal; the Temporal
cases are in tests/temporal/test_cli_on_temporal.py.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import pytest_asyncio

from landlord_workflow import (
    ExecutionState,
    ExecutionStatus,
    Manager,
    Registry,
    WorkflowSpec,
    codec,
)
from landlord_workflow.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from landlord_workflow.cli._app import run_cli_async
from landlord_workflow.providers.mock import MockProvider, TaskContext, TaskFailure
from landlord_workflow.testing import fast_call_policy, fast_poll_policy
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


def test_no_color_and_dumb_terminals_get_plain_lines(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, PASSING)
    for env in ({"NO_COLOR": "1", "TERM": "xterm"}, {"TERM": "dumb"}):
        result = cli("run", spec, tty=True, env=env)

        assert result.code == EXIT_OK
        assert "\x1b[" not in result.out, env
        assert any(line.startswith("Go: succeeded in ") for line in result.out.splitlines())
        assert "timeline:" in result.out


REMOTE_COMMANDS = [
    ["workflows"],
    ["spec", "cli-test"],
    ["delete", "cli-test"],
    ["start", "cli-test"],
    ["executions", "cli-test"],
    ["status", "x"],
    ["history", "x"],
    ["wait", "x"],
    ["stop", "x", "--reason", "r"],
    ["redrive", "x"],
    ["task-success", "token"],
    ["task-failure", "token", "--error", "E"],
    ["task-heartbeat", "token"],
]


@pytest.mark.parametrize("argv", REMOTE_COMMANDS, ids=lambda argv: argv[0])
def test_commands_on_what_another_process_made_refuse_a_fresh_mock(argv: list[str]) -> None:
    """Each process has its own in-memory mock, empty: the answer would be a lie."""
    result = cli(*argv)

    assert result.code == EXIT_USAGE
    assert f"'{argv[0]}' cannot reach the mock engine: it lives inside one process" in result.err
    assert result.out == ""


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["executions", "wf", "--state", "done"], "invalid choice: 'done'"),
        (["executions", "wf", "--limit", "-1"], "must be 0 (all) or more"),
        (["executions", "wf", "--limit", "ten"], "not a whole number"),
        (["task-failure", "token"], "the following arguments are required: --error"),
        (["task-success"], "the following arguments are required: TOKEN"),
    ],
)
def test_bad_arguments_of_the_new_commands_exit_2(argv: list[str], expected: str) -> None:
    result = cli(*argv)

    assert result.code == EXIT_USAGE
    assert expected in result.err
    assert "Traceback" not in result.err


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


# -- a mock engine the commands share (run_cli_async with the test's Manager) ------------------


CALLBACK = {
    "StartAt": "Approve",
    "States": {
        "Approve": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "approvals", "MessageBody": {"token.$": "$$.Task.Token"}},
            "HeartbeatSeconds": 600,
            "End": True,
        }
    },
}
FLAKY = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": "ready", "ResultPath": "$.prep", "Next": "Flaky"},
        "Flaky": {"Type": "Task", "Resource": "flaky", "ResultPath": "$.flaky", "End": True},
    },
}


class Engine:
    """A mock engine and a Manager on it; its handlers record callback tokens and make
    ``flaky`` fail once per execution."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.flaky_runs: dict[str, int] = {}
        handlers = {"sqs:sendMessage": self._send, "flaky": self._flaky}
        registry = Registry()
        registry.register(MockProvider(task_handlers=handlers))
        self.manager = Manager(
            registry, call_policy=fast_call_policy(), poll_policy=fast_poll_policy()
        )

    async def _send(self, message: Any) -> Any:
        self.tokens.append(message["MessageBody"]["token"])
        return {"MessageId": "m"}

    async def _flaky(self, payload: Any, context: TaskContext) -> str:
        runs = self.flaky_runs[context.execution_id] = self.flaky_runs.get(context.execution_id, 0)
        self.flaky_runs[context.execution_id] = runs + 1
        if runs == 0:
            raise TaskFailure("Tenant.NotReady", "not yet")
        return "done"

    async def cli(self, *argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = await run_cli_async(
            list(argv), manager=self.manager, stdout=out, stderr=err, environ=FAST_ENV
        )
        return Result(code, out.getvalue(), err.getvalue())

    async def create(self, definition: dict[str, Any], workflow_id: str = "cli-test") -> None:
        await self.manager.create_workflow(
            WorkflowSpec(
                workflow_id=workflow_id,
                provider_type="mock",
                name="CLI test",
                definition=definition,
            )
        )

    async def next_token(self, count: int) -> str:
        with anyio.fail_after(5):
            while len(self.tokens) < count:
                await asyncio.sleep(0)
        return self.tokens[count - 1]


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[Engine]:
    shared = Engine()
    async with shared.manager:
        yield shared


@pytest.mark.asyncio
async def test_workflows_and_spec_show_what_the_engine_holds(engine: Engine) -> None:
    assert (await engine.cli("workflows")).out == "no workflows\n"
    await engine.create(FLAKY, "provision-b")
    await engine.create(PASSING, "provision-a")

    listed = await engine.cli("workflows")
    assert listed.code == EXIT_OK
    assert listed.out.splitlines() == [
        "workflow_id  provider  name",
        "provision-a  mock      CLI test",
        "provision-b  mock      CLI test",
    ]
    as_json = json.loads((await engine.cli("workflows", "--json")).out)
    assert [codec.from_dict(WorkflowSpec, item).workflow_id for item in as_json] == [
        "provision-a",
        "provision-b",
    ]

    shown = await engine.cli("spec", "provision-b")
    assert shown.code == EXIT_OK
    spec = codec.from_json(WorkflowSpec, shown.out)  # the output is a SPEC file
    assert (spec.workflow_id, spec.definition) == ("provision-b", FLAKY)
    assert (
        codec.from_json(WorkflowSpec, (await engine.cli("spec", "provision-b", "--json")).out)
        == spec
    )

    missing = await engine.cli("spec", "nobody")
    assert missing.code == EXIT_FAILED
    assert (
        missing.err
        == "landlord-workflow: WorkflowNotFoundError: workflow 'nobody' does not exist\n"
    )


@pytest.mark.asyncio
async def test_executions_lists_newest_first_filters_by_state_and_limits(engine: Engine) -> None:
    await engine.create(FLAKY)
    for name in ("one", "two", "three"):
        started = await engine.cli("start", "cli-test", "--name", name)
        assert started.code == EXIT_OK, started.err
        await engine.cli("wait", started.out.strip())  # each fails: flaky fails once
    redriven = await engine.cli("redrive", "mock:cli-test:two")
    assert redriven.code == EXIT_OK, redriven.err
    assert (await engine.cli("wait", "mock:cli-test:two")).code == EXIT_OK

    listed = await engine.cli("executions", "cli-test")
    assert listed.code == EXIT_OK
    header, *rows = listed.out.splitlines()
    assert header.split() == ["execution_id", "state", "started", "duration"]
    assert [row.split()[:2] for row in rows] == [
        ["mock:cli-test:three", "failed"],
        ["mock:cli-test:two", "succeeded"],
        ["mock:cli-test:one", "failed"],
    ]
    failed = await engine.cli("executions", "cli-test", "--state", "failed", "--json")
    assert [
        codec.from_dict(ExecutionStatus, item).execution_id for item in json.loads(failed.out)
    ] == [
        "mock:cli-test:three",
        "mock:cli-test:one",
    ]
    assert len((await engine.cli("executions", "cli-test", "--limit", "0")).out.splitlines()) == 4
    limited = await engine.cli("executions", "cli-test", "--limit", "1")
    assert len(limited.out.splitlines()) == 2
    assert limited.err == "(the newest 1 shown; --limit 0 shows all)\n"
    none = await engine.cli("executions", "cli-test", "--state", "running")
    assert none.out == "no executions\n"


@pytest.mark.asyncio
async def test_redrive_resumes_a_failed_execution_and_history_shows_every_event(
    engine: Engine,
) -> None:
    await engine.create(FLAKY)
    ran = await engine.cli("start", "cli-test", "--name", "r1", "--input", '{"tenant": "t"}')
    execution_id = ran.out.strip()
    failed = await engine.cli("wait", execution_id)
    assert failed.code == EXIT_FAILED
    assert "error: Tenant.NotReady at Flaky: not yet" in failed.out

    redriven = await engine.cli("redrive", execution_id)
    assert (redriven.code, redriven.out) == (EXIT_OK, f"{execution_id}\n")
    done = await engine.cli("wait", execution_id)
    assert done.code == EXIT_OK
    assert 'output: {"flaky": "done", "prep": "ready", "tenant": "t"}' in done.out
    timeline = done.out.split("timeline:\n", 1)[1].splitlines()[1:]
    assert [(row.split()[0], row.split()[3]) for row in timeline] == [
        ("Prepare", "succeeded"),
        ("Flaky", "failed"),  # the visit the execution failed in, before the redrive
        ("Flaky", "succeeded"),
    ]

    history = await engine.cli("history", execution_id)
    assert history.code == EXIT_OK
    header, *lines = history.out.splitlines()
    assert header.split() == ["time", "event", "state", "detail"]
    assert [line.split()[1:] for line in lines] == [
        ["ExecutionStarted"],
        ["StateEntered", "Prepare"],
        ["StateExited", "Prepare"],
        ["StateEntered", "Flaky"],
        ["TaskFailed", "Flaky", "Tenant.NotReady:", "not", "yet"],
        ["ExecutionFailed", "Tenant.NotReady:", "not", "yet"],
        ["ExecutionRedriven"],
        ["StateEntered", "Flaky"],
        ["StateExited", "Flaky"],
        ["ExecutionSucceeded"],
    ]
    assert all(line.lstrip().startswith("+") for line in lines)
    assert '"tenant"' not in history.out, "no payloads in the text output"
    events = json.loads((await engine.cli("history", execution_id, "--json")).out)
    assert events[0]["type"] == "ExecutionStarted"
    assert events[0]["details"]["input"] == {"tenant": "t"}

    again = await engine.cli("redrive", execution_id)
    assert again.code == EXIT_FAILED
    assert again.err.count("\n") == 1


@pytest.mark.asyncio
async def test_task_commands_answer_a_task_waiting_for_its_token(
    engine: Engine, tmp_path: Path
) -> None:
    await engine.create(CALLBACK)
    approved = (await engine.cli("start", "cli-test", "--name", "approved")).out.strip()
    token = await engine.next_token(1)

    beat = await engine.cli("task-heartbeat", token)
    assert (beat.code, beat.out) == (EXIT_OK, "sent: task heartbeat\n")
    (tmp_path / "token").write_text(token + "\n")
    (tmp_path / "output.json").write_text('{"approved": true}')
    sent = await engine.cli(
        "task-success", f"@{tmp_path / 'token'}", "--output", f"@{tmp_path / 'output.json'}"
    )
    assert (sent.code, sent.out) == (EXIT_OK, "sent: task success\n")
    done = await engine.cli("wait", approved, "--json")
    assert done.code == EXIT_OK
    assert codec.from_json(ExecutionStatus, done.out).output == {"approved": True}

    closed = await engine.cli("task-success", token, "--json")
    assert closed.code == EXIT_FAILED
    assert closed.err.startswith("landlord-workflow: TaskTokenError: task token ")
    assert closed.err.count("\n") == 1

    refused = (await engine.cli("start", "cli-test", "--name", "refused")).out.strip()
    other = await engine.next_token(2)
    bad_output = await engine.cli("task-success", other, "--output", "{nope")
    assert bad_output.code == EXIT_USAGE
    assert "output: --output is not valid JSON" in bad_output.err
    failure = await engine.cli(
        "task-failure", other, "--error", "Rejected", "--cause", "not today", "--json"
    )
    assert (failure.code, json.loads(failure.out)) == (
        EXIT_OK,
        {"sent": "failure", "error": "Rejected"},
    )
    ended = await engine.cli("wait", refused)
    assert ended.code == EXIT_FAILED
    assert "error: Rejected at Approve: not today" in ended.out

    unreadable = await engine.cli("task-heartbeat", f"@{tmp_path / 'missing'}")
    assert unreadable.code == EXIT_USAGE
    assert "cannot read token" in unreadable.err


@pytest.mark.asyncio
async def test_stop_and_delete_act_on_the_shared_engine(engine: Engine) -> None:
    await engine.create(CALLBACK)
    execution_id = (await engine.cli("start", "cli-test")).out.strip()

    stopped = await engine.cli("stop", execution_id, "--reason", "tenant gone")
    assert (stopped.code, stopped.out.split(" in ")[0]) == (EXIT_OK, f"cancelled: {execution_id}")
    status = await engine.cli("status", execution_id)
    assert "error: Cancelled at Approve: tenant gone" in status.out
    assert (await engine.cli("delete", "cli-test")).out == "deleted: cli-test\n"
    assert (await engine.cli("workflows")).out == "no workflows\n"


# -- Step Functions on a local moto server: one process per command -----------------------


@pytest.fixture
def sfn(
    stepfunctions_engine: LocalStepFunctions, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Environment selecting Step Functions on the session's engine (reset; fake credentials)."""
    engine = stepfunctions_engine
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


@pytest.mark.moto
def test_workflows_spec_executions_and_history_on_step_functions(
    tmp_path: Path, sfn: dict[str, str]
) -> None:
    spec = write_spec(tmp_path, PASSING, provider_type="step-functions")
    assert cli("create", spec, env=sfn).code == EXIT_OK
    ids = [cli("start", "cli-test", "--name", name, env=sfn).out.strip() for name in ("a", "b")]
    for execution_id in ids:
        assert cli("wait", execution_id, "--json", env=sfn).code == EXIT_OK

    listed = cli("workflows", env=sfn)
    assert listed.code == EXIT_OK, listed.err
    assert listed.out.splitlines()[1].split() == ["cli-test", "step-functions", "CLI", "test"]
    stored = codec.from_json(WorkflowSpec, cli("spec", "cli-test", env=sfn).out)
    assert (stored.provider_type, stored.definition) == ("step-functions", PASSING)

    executions = cli("executions", "cli-test", "--state", "succeeded", "--json", env=sfn)
    assert executions.code == EXIT_OK, executions.err
    assert sorted(item["execution_id"] for item in json.loads(executions.out)) == sorted(ids)
    assert cli("executions", "cli-test", "--state", "failed", env=sfn).out == "no executions\n"

    history = cli("history", ids[0], env=sfn)
    assert history.code == EXIT_OK, history.err
    assert [line.split()[1:3] for line in history.out.splitlines()[1:]] == [
        ["ExecutionStarted"],
        ["StateEntered", "Prepare"],
        ["StateExited", "Prepare"],
        ["StateEntered", "Go"],
        ["StateExited", "Go"],
        ["ExecutionSucceeded"],
    ]


@pytest.mark.moto
def test_task_commands_answer_a_callback_on_step_functions(
    tmp_path: Path, sfn: dict[str, str], stepfunctions_engine: LocalStepFunctions
) -> None:
    """moto runs ``sqs:sendMessage.waitForTaskToken`` for real: the token arrives in an
    SQS message on the same server, and SendTask* answer it."""
    import boto3

    sqs = boto3.client(
        "sqs",
        region_name=stepfunctions_engine.region,
        endpoint_url=stepfunctions_engine.endpoint_url,
        **FAKE_CREDENTIALS,
    )
    queue_url = sqs.create_queue(QueueName="approvals")["QueueUrl"]
    definition = json.loads(json.dumps(CALLBACK).replace('"approvals"', json.dumps(queue_url)))
    assert (
        cli(
            "create", write_spec(tmp_path, definition, provider_type="step-functions"), env=sfn
        ).code
        == 0
    )

    def token_of(execution_id: str) -> str:
        for _ in range(20):
            for message in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get(
                "Messages", []
            ):
                return str(json.loads(message["Body"])["token"])
        raise AssertionError(f"no token for {execution_id}")

    approved = cli("start", "cli-test", "--name", "approved", env=sfn).out.strip()
    token = token_of(approved)
    assert cli("task-heartbeat", token, env=sfn).out == "sent: task heartbeat\n"
    sent = cli("task-success", token, "--output", '{"approved": true}', env=sfn)
    assert (sent.code, sent.out) == (EXIT_OK, "sent: task success\n"), sent.err
    done = cli("wait", approved, "--json", env=sfn)
    assert done.code == EXIT_OK
    assert codec.from_json(ExecutionStatus, done.out).output == {"approved": True}
    closed = cli("task-success", token, env=sfn)
    assert closed.code == EXIT_FAILED
    assert "TaskTokenError" in closed.err

    refused = cli("start", "cli-test", "--name", "refused", env=sfn).out.strip()
    failure = cli(
        "task-failure", token_of(refused), "--error", "Rejected", "--cause", "no", env=sfn
    )
    assert failure.code == EXIT_OK, failure.err
    ended = cli("wait", refused, env=sfn)
    assert ended.code == EXIT_FAILED
    assert "\nerror: Rejected at Approve" in ended.out  # (moto 5.2 drops the cause)


@pytest.mark.moto
def test_redrive_reports_an_engine_that_cannot_redrive_in_one_line(
    tmp_path: Path, sfn: dict[str, str]
) -> None:
    """moto 5.2 has no RedriveExecution (it answers 500): the CLI says so and exits 1.
    Redrive itself is exercised on the mock above and on Temporal."""
    assert (
        cli("create", write_spec(tmp_path, FAILING, provider_type="step-functions"), env=sfn).code
        == 0
    )
    execution_id = cli("start", "cli-test", env=sfn).out.strip()
    assert cli("wait", execution_id, env=sfn).code == EXIT_FAILED

    result = cli("redrive", execution_id, env={**sfn, "WORKFLOW_CALL_MAX_ATTEMPTS": "1"})

    assert result.code == EXIT_FAILED
    assert result.err.startswith("landlord-workflow: ")
    assert result.err.count("\n") == 1
    assert "Traceback" not in result.err
