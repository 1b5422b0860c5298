"""Every example runs as a user runs it (a subprocess), exits 0, and prints what it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from landlord_workflow.testing._moto import FAKE_CREDENTIALS, LocalStepFunctions

ROOT = Path(__file__).parent.parent
STATES = ("ProvisionCompute", "ConfigureNetworking", "InitializeDatabase", "RunMigrations")

PROVISION = ["examples/provision_tenant.py"]
RESUME = ["examples/resume_after_failure.py"]
SERVICE = ["examples/service.py"]
EXAMPLE_COMMANDS = [PROVISION, RESUME, SERVICE]
"""Exactly what the README and docs tell users to run (tests/test_docs.py checks)."""


def run_example(argv: list[str], *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, *argv, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def timeline_row(output: str, state: str) -> list[str]:
    """The fields of the state's row in the printed timeline table."""
    table = output.split("timeline:", 1)[1]
    for line in table.splitlines():
        fields = line.split()
        if fields and fields[0] == state:
            return fields
    raise AssertionError(f"no timeline row for {state}:\n{output}")


def test_provision_tenant_on_the_mock_recovers_the_flaky_step_and_prints_a_timeline() -> None:
    output = run_example(PROVISION)

    assert "outcome: succeeded" in output
    # progress lines, in order, as they happened
    started = [re.search(rf"{state}\s+started", output) for state in STATES]
    assert all(started), output
    assert [m.start() for m in started if m] == sorted(m.start() for m in started if m)
    assert re.search(r"ConfigureNetworking\s+failed: Network.Transient", output)
    assert re.search(r"ConfigureNetworking\s+retrying", output)
    # the timeline: a row per state with start offset, duration and attempts
    for state in STATES:
        _, start, duration, attempts, outcome = timeline_row(output, state)
        assert start.startswith("+")
        assert start.endswith("s")
        assert duration.endswith("s")
        assert outcome == "done"
        assert attempts == ("2" if state == "ConfigureNetworking" else "1")
    assert "'instance_id': 'vm-acme'" in output


def test_resume_after_failure_reruns_only_the_failed_step() -> None:
    output = run_example(RESUME)

    assert "failed step: RunMigrations (Migration.Failed" in output
    assert "(execution redriven)" in output
    for function in ("provision-compute", "configure-networking", "initialize-database"):
        assert len(re.findall(rf"{function}\s+ran once", output)) == 2
    assert len(re.findall(r"run-migrations\s+ran 2 times", output)) == 2
    assert "result: resumed at RunMigrations; the steps before it ran once" in output


def test_service_demo_reports_state_and_failed_step() -> None:
    output = run_example(SERVICE)

    assert "POST /tenants acme -> 202" in output
    assert "'state': 'succeeded'" in output
    assert "'failed_step': 'RunMigrations'" in output
    assert "POST /tenants acme again -> 409" in output


@pytest.fixture(scope="module")
def moto_engine() -> Iterator[LocalStepFunctions]:
    """A local Step Functions engine whose Lambda tasks echo their input (no Docker)."""
    with LocalStepFunctions() as engine:
        engine.configure({"lambda": {"use_docker": False}})
        try:
            yield engine
        finally:
            engine.configure({"lambda": {"use_docker": True}})


@pytest.mark.moto
def test_provision_tenant_runs_the_same_definition_on_step_functions(
    moto_engine: LocalStepFunctions,
) -> None:
    credentials = {
        "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
        "AWS_SESSION_TOKEN": FAKE_CREDENTIALS["aws_session_token"],
    }
    output = run_example(
        PROVISION,
        "--provider",
        "step-functions",
        "--endpoint-url",
        moto_engine.endpoint_url,
        env=credentials,
    )

    assert "workflow: tenant-provisioning on step-functions" in output
    assert "arn:aws:states:us-east-1:123456789012:execution:tenant-provisioning:" in output
    assert "outcome: succeeded" in output
    for state in STATES:
        assert timeline_row(output, state)[4] == "done"


@pytest.mark.temporal
def test_provision_tenant_runs_the_same_definition_on_temporal() -> None:
    """The same definition and handlers, as ASL on a local Temporal dev server."""
    output = run_example(PROVISION, "--provider", "temporal", "--local-temporal")

    assert "workflow: tenant-provisioning on temporal" in output
    assert "temporal:default:tenant-provisioning/" in output
    assert "outcome: succeeded" in output
    assert re.search(r"ConfigureNetworking\s+failed: Network.Transient", output)
    for state in STATES:
        assert timeline_row(output, state)[4] == "done"
    assert timeline_row(output, "ConfigureNetworking")[3] == "2"
