"""Task handlers of the ASL tests on Temporal, and what they record.

The session's ASL worker (``asl_worker`` in conftest) runs them in its own
thread and event loop; they record per execution name, so tests can see how
often each Task ran (``CALLS``), make a Task fail a few times
(``FAILURES_LEFT``) and collect callback tokens (``TOKENS``). The same
handlers work on the mock engine, unchanged.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

from landlord_workflow._asl import TaskContext
from landlord_workflow.providers.mock import TaskFailure

ASL_TASK_QUEUE = "landlord-tests-asl"
"""The task queue of the session's ASL worker."""

_LOCK = threading.Lock()
CALLS: Counter[tuple[str, str]] = Counter()
"""(handler, execution name) -> times it ran."""
FAILURES_LEFT: dict[str, int] = {}
"""Execution name -> how many more times ``flaky`` fails for it."""
TOKENS: dict[str, list[str]] = {}
"""Execution name -> the task tokens ``notify`` was given, in order."""
ARRIVALS: dict[str, int] = {}


def _count(handler: str, context: TaskContext) -> None:
    with _LOCK:
        CALLS[(handler, context.execution_name)] += 1


async def prepare(payload: Any, context: TaskContext) -> Any:
    _count("prepare", context)
    return {**payload, "prepared": True} if isinstance(payload, dict) else payload


async def finish(payload: Any, context: TaskContext) -> Any:
    _count("finish", context)
    return {"ok": True}


async def flaky(payload: Any, context: TaskContext) -> str:
    _count("flaky", context)
    with _LOCK:
        left = FAILURES_LEFT.get(context.execution_name, 0)
        if left > 0:
            FAILURES_LEFT[context.execution_name] = left - 1
    if left > 0:
        raise TaskFailure("Tenant.NotReady", "not yet")
    return "done"


async def explode(payload: Any, context: TaskContext) -> None:
    _count("explode", context)
    raise TaskFailure("Tenant.Broken", "conformance")


async def notify(payload: Any, context: TaskContext) -> Any:
    """A callback Task's sender: keeps the token for the test to answer."""
    _count("notify", context)
    assert context.task_token is not None
    with _LOCK:
        TOKENS.setdefault(context.execution_name, []).append(context.task_token)
    return {"sent": True}


async def hang(payload: Any, context: TaskContext) -> None:
    """Runs until cancelled."""
    _count("hang", context)
    await asyncio.Event().wait()


async def rendezvous(payload: Any, context: TaskContext) -> int:
    """Returns once ``payload["parties"]`` calls of this execution are running at once."""
    _count("rendezvous", context)
    key = context.execution_name
    with _LOCK:
        ARRIVALS[key] = ARRIVALS.get(key, 0) + 1
    async with asyncio.timeout(20):
        while ARRIVALS[key] < payload["parties"]:
            await asyncio.sleep(0.01)
    return int(payload["index"])


HANDLERS = {
    "prepare": prepare,
    "finish": finish,
    "flaky": flaky,
    "explode": explode,
    "notify": notify,
    "hang": hang,
    "rendezvous": rendezvous,
    "sqs:sendMessage.waitForTaskToken": notify,
}

APPROVAL = {
    "StartAt": "Approve",
    "States": {
        "Approve": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "approvals", "MessageBody": {"token.$": "$$.Task.Token"}},
            "HeartbeatSeconds": 60,
            "End": True,
        }
    },
}
"""An approval step: ``notify`` keeps its task token (read it with `tokens_of`)."""


async def tokens_of(execution_name: str, count: int = 1, timeout: float = 15.0) -> list[str]:
    """The first ``count`` tokens ``notify`` got for ``execution_name`` (waits for them)."""
    async with asyncio.timeout(timeout):
        while len(TOKENS.get(execution_name, ())) < count:
            await asyncio.sleep(0.01)
    return TOKENS[execution_name][:count]
