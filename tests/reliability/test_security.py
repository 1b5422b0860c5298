"""Security hygiene: no credentials in reprs, no payloads in logs.

Reprs and ``str()`` of providers, the Manager, the registry, configuration,
policies and metrics never show credentials, even when the provider's session
holds secret-looking ones. During full runs (create, start, retries, a lost
response, failure, retry by redrive, stop, wait, delete) with a
secret-looking input, every record is captured at DEBUG:

* INFO and above: no payload and no credential, on every client-side logger;
* ``landlord_workflow.*`` at any level, DEBUG included: none either - its
  records carry operation, provider, ids, attempt, duration and outcome;
* what DEBUG shows (:data:`DEBUG_FINDINGS`): only botocore's DEBUG records
  carry payloads and credentials; the secret access key appears nowhere.

Caveat (not a payload path the library can tell apart): error *codes* are
logged at WARNING on purpose and appear in ``ExecutionFailedError``'s
message; a definition that takes its ``Error`` from the input
(``ErrorPath``) puts that input value there. Causes are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import aioboto3
import pytest
from conftest import make_spec
from reliability.support import (
    GATED,
    PASS,
    SFN,
    BotoFault,
    Gate,
    manager_for,
    mock_provider,
    named,
)

from landlord_workflow import (
    CallPolicy,
    ExecutionFailedError,
    ExecutionInput,
    ExecutionState,
    InvalidSpecError,
    Manager,
    PollPolicy,
    RetryPolicy,
    WorkflowConfig,
)
from landlord_workflow.providers.mock import TaskFailure
from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
from landlord_workflow.testing._moto import FAKE_ROLE_ARN, LocalStepFunctions

pytestmark = pytest.mark.asyncio

# -- the numbers and findings of this module --------------------------------------------------
PAYLOAD_SECRET = "hunter2-tenant-db-password-7Qx"
ACCESS_KEY_ID = "AKIASECRETLOOKING777"
SECRET_ACCESS_KEY = "Sup3rS3cretAccessKey/DoNotLogThis+abcdefgh"
SESSION_TOKEN = "SecretSessionToken/DoNotLogThis/FwoGZXIvYXdz=="
CREDENTIALS = (ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN)
SECRETS = (PAYLOAD_SECRET, *CREDENTIALS)
TEST_ENGINE_LOGGERS = ("moto", "werkzeug")
"""The moto server runs in-process for tests only (server side, AWS in production):
its loggers are not the client's. moto logs a failing state's cause at ERROR."""
DEBUG_FINDINGS = (
    "landlord_workflow.* logs no payload and no credential at any level, DEBUG included.",
    "botocore.endpoint DEBUG: request dicts with the body (execution input, definitions) "
    "and headers: the access key id (Authorization) and the session token "
    "(X-Amz-Security-Token).",
    "botocore.auth DEBUG: the canonical request with the session token.",
    "botocore.parsers DEBUG: response bodies (execution input and output, causes).",
    "The secret access key appears in no record at any level.",
    "Enable DEBUG for botocore only where payloads and session tokens may be logged.",
)
"""What the DEBUG capture of the Step Functions run shows (verified below)."""
PAYLOAD = {"tenant": "acme", "password": PAYLOAD_SECRET}
FAIL_WITH_INPUT: dict[str, Any] = {
    "StartAt": "Check",
    "States": {
        "Check": {"Type": "Pass", "Next": "Reject"},
        # The cause is the secret itself: failures must not put causes in logs.
        "Reject": {"Type": "Fail", "Error": "Tenant.Rejected", "CausePath": "$.password"},
    },
}
WAITING: dict[str, Any] = {
    "StartAt": "Hold",
    "States": {"Hold": {"Type": "Wait", "Seconds": 30, "End": True}},
}
ONE_RETRY = RetryPolicy(
    max_attempts=2, initial_interval=timedelta(milliseconds=1), max_interval=timedelta(seconds=1)
)
ECHO: dict[str, Any] = {
    "StartAt": "Provision",
    "States": {
        "Provision": {
            "Type": "Task",
            "Resource": "echo",
            "ResultPath": "$.provisioned",
            "End": True,
        }
    },
}


def _texts(record: logging.LogRecord) -> Iterator[str]:
    """Everything a handler or formatter could print from ``record``."""
    yield record.getMessage()
    yield str(record.msg)
    yield repr(record.args)
    for value in vars(record).values():
        yield str(value)
    if record.exc_info:
        yield logging.Formatter().formatException(record.exc_info)


def leaks(
    records: Iterable[logging.LogRecord], secrets: Iterable[str]
) -> list[tuple[str, str, str]]:
    """(logger, level, secret) for every record that shows a secret."""
    secrets = tuple(secrets)
    found = []
    for record in records:
        text = "\n".join(_texts(record))
        found += [(record.name, record.levelname, s) for s in secrets if s in text]
    return found


def client_side(records: Iterable[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if not r.name.startswith(TEST_ENGINE_LOGGERS)]


def ours(records: Iterable[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.name.startswith("landlord_workflow")]


def secret_session() -> Any:
    return aioboto3.Session(
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        aws_session_token=SESSION_TOKEN,
        region_name="us-east-1",
    )


def assert_shows_no_secret(*objects: object) -> None:
    for obj in objects:
        for text in (repr(obj), str(obj)):
            for secret in SECRETS:
                assert secret not in text, f"{type(obj).__name__} shows a secret: {text}"


# -- reprs ---------------------------------------------------------------------------------------


@pytest.mark.moto
async def test_reprs_never_show_credentials(
    stepfunctions_engine: LocalStepFunctions, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = StepFunctionsProvider(
        region="us-east-1",
        endpoint_url=stepfunctions_engine.endpoint_url,
        role_arn=FAKE_ROLE_ARN,
        session=secret_session(),
    )
    manager, metrics = manager_for(provider)
    assert_shows_no_secret(provider, manager, manager.registry)  # idle
    async with manager:
        await manager.create_workflow(make_spec(PASS, workflow_id="wf", provider_type=SFN))
        assert "state='open'" in repr(provider)
        assert_shows_no_secret(provider, manager, manager.registry, metrics, metrics.snapshot())
    assert "state='closed'" in repr(provider)
    assert_shows_no_secret(provider, manager)

    # Configuration from an environment full of credentials.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    config = WorkflowConfig.from_env(
        {
            "WORKFLOW_SFN_REGION": "us-east-1",
            "WORKFLOW_SFN_ENDPOINT_URL": stepfunctions_engine.endpoint_url,
            "WORKFLOW_SFN_ROLE_ARN": FAKE_ROLE_ARN,
            "WORKFLOW_DEFAULT_PROVIDER": "step-functions",
        }
    )
    configured = Manager.from_config(config)
    async with configured:
        await configured.create_workflow(
            make_spec(PASS, workflow_id="wf", provider_type=SFN)
        )  # the env credentials are in use
        assert_shows_no_secret(
            config,
            configured,
            *configured.registry.providers(),
            config.call_policy,
            config.poll_policy,
            CallPolicy(),
            PollPolicy(),
            RetryPolicy(),
            stepfunctions_engine,
        )


async def test_validation_errors_do_not_echo_payload_values() -> None:
    provider, _, _ = mock_provider()
    manager, _ = manager_for(provider)
    bad_inputs = (
        {"password": PAYLOAD_SECRET, "bad": float("nan")},
        {"password": PAYLOAD_SECRET, "blob": "x" * 300_000},
        {"password": PAYLOAD_SECRET, "set": {1, 2}},
        [PAYLOAD_SECRET, b"bytes"],
    )
    async with manager:
        await manager.create_workflow(make_spec(GATED, workflow_id="wf"))
        for payload in bad_inputs:
            with pytest.raises(InvalidSpecError) as caught:
                await manager.start_execution("wf", ExecutionInput(input=payload))
            assert PAYLOAD_SECRET not in str(caught.value)
            assert PAYLOAD_SECRET not in repr(caught.value.problems)


# -- logs ---------------------------------------------------------------------------------------


async def test_a_full_mock_run_logs_no_payload_at_any_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    failures = {"left": 1}

    async def echo(data: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise TaskFailure("Tenant.Flaky", f"could not use {data['password']}")
        return {"echo": data}

    class BrokenHook:
        def on_call(self, details: object) -> None:
            raise RuntimeError("hook bug")

        def on_execution(self, details: object) -> None:
            raise RuntimeError("hook bug")

    gate = Gate()
    provider, _, _ = mock_provider(task_handlers={"echo": echo, "gate": gate})
    manager, metrics = manager_for(provider, hooks=(BrokenHook(),))
    async with manager:
        provider.faults.throttle("create_workflow", times=1)
        await manager.create_workflow(make_spec(ECHO, workflow_id="echo", retry_policy=ONE_RETRY))
        await manager.create_workflow(make_spec(FAIL_WITH_INPUT, workflow_id="reject"))
        await manager.create_workflow(make_spec(GATED, workflow_id="held"))
        provider.faults.throttle("start_execution", times=1)
        succeeded = await manager.run("echo", ExecutionInput(input=PAYLOAD))
        with pytest.raises(ExecutionFailedError) as failed:
            await manager.run("reject", ExecutionInput(input=PAYLOAD))
        provider.faults.drop_response("start_execution", times=1)
        held = await manager.start_execution("held", named("held-1", PAYLOAD))
        await manager.get_execution_status(held.execution_id, include_history=True)
        await manager.stop_execution(held.execution_id, "tenant removed")
        stopped = await manager.wait_for_completion(held.execution_id)
        await manager.delete_workflow("held")

    assert succeeded.output["provisioned"] == {"echo": PAYLOAD}
    assert succeeded.metadata["redrive_count"] == 1
    assert failed.value.status.error is not None
    assert failed.value.status.error.cause == PAYLOAD_SECRET  # it is in the value...
    assert PAYLOAD_SECRET not in str(failed.value)  # ...not in the message
    assert stopped.state is ExecutionState.CANCELLED
    assert metrics.total_retries() == 3

    records = caplog.records
    levels = {r.levelno for r in ours(records)}
    assert {logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR} <= levels
    assert leaks(ours(records), SECRETS) == [], "landlord_workflow logged a secret"
    loud = [r for r in client_side(records) if r.levelno >= logging.INFO]
    assert leaks(loud, SECRETS) == []


@pytest.mark.moto
async def test_a_full_step_functions_run_logs_no_payload_or_credential_at_info(
    stepfunctions_engine: LocalStepFunctions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = StepFunctionsProvider(
        region="us-east-1",
        endpoint_url=stepfunctions_engine.endpoint_url,
        role_arn=FAKE_ROLE_ARN,
        session=secret_session(),  # the account id comes from STS with these
    )
    manager, metrics = manager_for(provider)
    async with manager:
        await manager.create_workflow(make_spec(PASS, workflow_id="wf", provider_type=SFN))
        BotoFault("throttle", "CreateStateMachine", times=1).install(provider)
        await manager.create_workflow(
            make_spec(FAIL_WITH_INPUT, workflow_id="reject", provider_type=SFN)
        )
        await manager.create_workflow(make_spec(WAITING, workflow_id="held", provider_type=SFN))
        throttle = BotoFault("throttle", "StartExecution", times=1).install(provider)
        succeeded = await manager.run("wf", named("acme-1", PAYLOAD))
        with pytest.raises(ExecutionFailedError):
            await manager.run("reject", ExecutionInput(input=PAYLOAD))
        throttle.remove(provider)
        BotoFault("drop", "StartExecution", times=1).install(provider)
        held = await manager.start_execution("held", named("held-1", PAYLOAD))
        await manager.get_execution_status(held.execution_id, include_history=True)
        await manager.stop_execution(held.execution_id, "tenant removed")
        stopped = await manager.wait_for_completion(held.execution_id)
        await manager.delete_workflow("held")

    assert succeeded.output["password"] == PAYLOAD_SECRET
    assert stopped.state is ExecutionState.CANCELLED
    assert metrics.total_retries() == 3

    records = caplog.records
    assert {logging.DEBUG, logging.INFO, logging.WARNING} <= {r.levelno for r in ours(records)}
    assert leaks(ours(records), SECRETS) == [], "landlord_workflow logged a secret"
    loud = [r for r in client_side(records) if r.levelno >= logging.INFO]
    assert leaks(loud, SECRETS) == [], "a payload or credential was logged at INFO or above"
    # DEBUG_FINDINGS: only botocore's DEBUG records show payloads or credentials...
    assert any(r.name.startswith("botocore") and r.levelno == logging.DEBUG for r in records)
    shown = leaks(client_side(records), SECRETS)
    assert {(name.split(".")[0], level) for name, level, _ in shown} <= {("botocore", "DEBUG")}
    # ...and the secret access key is in no record at all.
    assert leaks(records, [SECRET_ACCESS_KEY]) == []
