"""Shared pieces of the reliability tests: definitions, managers, fault hooks, task checks.

Imported as ``reliability.support`` (``tests`` is on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import anyio
from aiobotocore.awsrequest import AioAWSResponse
from botocore.awsrequest import HeadersDict
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from landlord_workflow import (
    CallPolicy,
    ExecutionInput,
    ExecutionStatus,
    Manager,
    MetricsCollector,
    PollPolicy,
    Registry,
)
from landlord_workflow._provider import Provider
from landlord_workflow.providers.mock import MockProvider, TaskFailure
from landlord_workflow.testing import fast_call_policy

MOCK = "mock"
SFN = "step-functions"

PASS: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Finish"},
        "Finish": {"Type": "Pass", "Result": {"ok": True}, "ResultPath": "$.result", "End": True},
    },
}
"""Succeeds at once on both engines."""

GATED: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Gate"},
        "Gate": {"Type": "Task", "Resource": "gate", "ResultPath": "$.gate", "End": True},
    },
}
"""Mock only: runs until the test opens :class:`Gate` (a Task whose handler waits)."""

FLAKY: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": "done", "ResultPath": "$.prepared", "Next": "Flaky"},
        "Flaky": {"Type": "Task", "Resource": "flaky", "ResultPath": "$.flaky", "End": True},
    },
}
"""Mock only: the ``flaky`` task fails while :class:`Flaky` has failures left."""


no_sleep_policy = fast_call_policy
"""Retries without backoff sleeps (the number of attempts is what matters here)."""


FAST_POLLS = PollPolicy(
    initial_interval=timedelta(milliseconds=5),
    max_interval=timedelta(milliseconds=50),
    jitter=False,
)


class Gate:
    """Task handler ``gate``: waits until :meth:`open`; counts how often it ran."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.calls = 0

    async def __call__(self, data: Any) -> Any:
        self.calls += 1
        await self.event.wait()
        return {"opened": True}

    def open(self) -> None:
        self.event.set()


class Flaky:
    """Task handler ``flaky``: fails ``failures`` times (``Boom``), then succeeds."""

    def __init__(self, failures: int = 1) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self, data: Any) -> Any:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise TaskFailure("Boom", "flaky task failed on purpose")
        return {"attempt": self.calls}


def mock_provider(**kwargs: Any) -> tuple[MockProvider, Gate, Flaky]:
    gate, flaky = Gate(), Flaky()
    kwargs.setdefault("task_handlers", {"gate": gate, "flaky": flaky})
    return MockProvider(**kwargs), gate, flaky


_OFFLINE_SESSION: list[Any] = []


def offline_provider(**kwargs: Any) -> Any:
    """A StepFunctionsProvider whose endpoint nobody serves: any request fails loudly.

    It opens its client lazily, so ``provider._sfn.client is None`` proves that no
    call reached the engine.
    """
    import aioboto3

    from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
    from landlord_workflow.testing._moto import FAKE_CREDENTIALS, FAKE_ROLE_ARN

    if not _OFFLINE_SESSION:  # botocore caches the parsed models per session
        _OFFLINE_SESSION.append(aioboto3.Session(region_name="us-east-1", **FAKE_CREDENTIALS))
    values: dict[str, Any] = {
        "region": "us-east-1",
        "endpoint_url": "http://127.0.0.1:9",
        "account_id": "123456789012",
        "role_arn": FAKE_ROLE_ARN,
        "session": _OFFLINE_SESSION[0],
    }
    values.update(kwargs)
    return StepFunctionsProvider(**values)


def manager_for(
    provider: Provider,
    *,
    call_policy: CallPolicy | None = None,
    poll_policy: PollPolicy = FAST_POLLS,
    hooks: tuple[Any, ...] = (),
) -> tuple[Manager, MetricsCollector]:
    registry = Registry()
    registry.register(provider)
    metrics = MetricsCollector()
    manager = Manager(
        registry,
        default_provider=provider.name,
        call_policy=call_policy or no_sleep_policy(),
        poll_policy=poll_policy,
        hooks=(metrics, *hooks),
    )
    return manager, metrics


def named(name: str, payload: Any = None) -> ExecutionInput:
    return ExecutionInput(
        input={"tenant": "t-1"} if payload is None else payload, execution_name=name
    )


async def executions_of(provider: Any, workflow_id: str) -> list[ExecutionStatus]:
    """Every execution the engine holds for ``workflow_id`` (SupportsListExecutions)."""
    return [status async for status in provider.list_executions(workflow_id)]


def counters(metrics: MetricsCollector) -> dict[str, Counter[Any]]:
    """A copy of the counters, to compare before and after one call."""
    return {
        "calls": Counter(metrics.calls),
        "attempts": Counter(metrics.attempts),
        "retries": Counter(metrics.retries),
        "errors": Counter(metrics.errors),
    }


def delta(metrics: MetricsCollector, before: dict[str, Counter[Any]]) -> dict[str, Counter[Any]]:
    now = counters(metrics)
    return {name: now[name] - before[name] for name in now}


def other_tasks() -> set[asyncio.Task[Any]]:
    """Tasks of this loop other than the running one."""
    current = asyncio.current_task()
    return {task for task in asyncio.all_tasks() if task is not current and not task.done()}


async def settle(iterations: int = 5) -> None:
    """Let callbacks and finishing tasks run."""
    for _ in range(iterations):
        await asyncio.sleep(0)


async def cancel_after(coro: Awaitable[Any], iterations: int) -> tuple[bool, Any]:
    """Run ``coro`` as a task, cancel it after ``iterations`` loop passes.

    Returns ``(finished_before_cancel, result_or_exception)``.
    """
    task = asyncio.ensure_future(coro)
    for _ in range(iterations):
        if task.done():
            break
        await asyncio.sleep(0)
    finished = task.done()
    task.cancel()
    try:
        return finished, await task
    except asyncio.CancelledError as exc:
        return finished, exc
    except Exception as exc:
        return finished, exc


# -- botocore event hooks that inject faults on a StepFunctionsProvider's client ----------------


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    async def read(self) -> bytes:
        return self._body


def error_response(request: Any, status: int, code: str, message: str) -> AioAWSResponse:
    """An HTTP answer as the service would send it (awsJson1_0 error body)."""
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = HeadersDict(
        {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "reliability-test"}
    )
    return AioAWSResponse(request.url, status, headers, _Body(body))


class BotoFault:
    """One botocore event hook that fires ``times`` times, then lets calls through.

    ``kind``: ``"throttle"`` (400 ThrottlingException), ``"unavailable"`` (503
    ServiceUnavailable), ``"connection"`` (EndpointConnectionError before
    sending), ``"drop"`` (the request reaches moto and is performed; the
    answer is lost: ConnectionClosedError after the call), ``"latency"``
    (``delay`` seconds before sending, every time).
    """

    def __init__(self, kind: str, api: str, *, times: int = 1, delay: float = 0.0) -> None:
        self.kind = kind
        self.api = api
        self.remaining = times
        self.delay = delay
        self.fired = 0

    @property
    def event(self) -> str:
        stage = "after-call" if self.kind == "drop" else "before-send"
        return f"{stage}.sfn.{self.api}"

    def install(self, provider: Any) -> BotoFault:
        provider.client.meta.events.register(self.event, self)
        return self

    def remove(self, provider: Any) -> None:
        provider.client.meta.events.unregister(self.event, self)

    def _due(self) -> bool:
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        self.fired += 1
        return True

    async def __call__(self, **kwargs: Any) -> Any:
        if self.kind == "latency":
            self.fired += 1
            await anyio.sleep(self.delay)
            return None
        if self.kind == "drop" and kwargs["http_response"].status_code >= 300:
            return None  # only a successful answer can be lost after the fact
        if not self._due():
            return None
        if self.kind == "throttle":
            return error_response(kwargs["request"], 400, "ThrottlingException", "Rate exceeded")
        if self.kind == "unavailable":
            return error_response(kwargs["request"], 503, "ServiceUnavailable", "try again")
        if self.kind == "connection":
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1/injected")
        if self.kind == "drop":
            raise ConnectionClosedError(endpoint_url="http://127.0.0.1/injected")
        raise AssertionError(f"unknown fault kind {self.kind!r}")
