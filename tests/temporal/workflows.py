"""Native Temporal workflows and activities the tests run with their own worker.

They live in an importable module because temporalio's workflow sandbox
re-imports the module of every workflow it runs. Each workflow takes the
execution input (a JSON object) as its single argument.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

NATIVE_TASK_QUEUE = "landlord-tests-native"
"""The task queue the tests' own worker polls."""
STEP_TIMEOUT = timedelta(seconds=30)
NO_RETRIES = RetryPolicy(maximum_attempts=1)

CALLS: Counter[tuple[str, str]] = Counter()
"""(activity type, Temporal workflow id) -> times the activity ran (in this process)."""
FLAKY_FAILURES_LEFT: dict[str, int] = {}
"""Temporal workflow id -> how many more times ``Flaky`` fails for it."""


def _count() -> None:
    info = activity.info()
    CALLS[(info.activity_type, info.workflow_id or "")] += 1


@activity.defn(name="Prepare")
async def prepare(payload: dict[str, Any]) -> dict[str, Any]:
    _count()
    return payload


@activity.defn(name="Finish")
async def finish(payload: dict[str, Any]) -> dict[str, Any]:
    _count()
    return {"ok": True}


@activity.defn(name="Explode")
async def explode(payload: dict[str, Any]) -> None:
    _count()
    raise ApplicationError("conformance", type="Tenant.Broken", non_retryable=True)


@activity.defn(name="Flaky")
async def flaky(payload: dict[str, Any]) -> str:
    _count()
    workflow_id = activity.info().workflow_id or ""
    left = FLAKY_FAILURES_LEFT.get(workflow_id, 0)
    if left > 0:
        FLAKY_FAILURES_LEFT[workflow_id] = left - 1
        raise ApplicationError("not yet", type="Tenant.NotReady", non_retryable=True)
    return "done"


ACTIVITIES = [prepare, finish, explode, flaky]


@workflow.defn(name="ConformanceSucceed")
class Succeed:
    """Prepare, then Finish; the output is the input plus ``result``."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        await workflow.execute_activity(
            "Prepare", payload, start_to_close_timeout=STEP_TIMEOUT, retry_policy=NO_RETRIES
        )
        result = await workflow.execute_activity(
            "Finish", payload, start_to_close_timeout=STEP_TIMEOUT, retry_policy=NO_RETRIES
        )
        return {**payload, "result": result}


@workflow.defn(name="ConformanceFail")
class Fail:
    """Prepare, then Explode (fails with ``Tenant.Broken``)."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> None:
        await workflow.execute_activity(
            "Prepare", payload, start_to_close_timeout=STEP_TIMEOUT, retry_policy=NO_RETRIES
        )
        await workflow.execute_activity(
            "Explode", payload, start_to_close_timeout=STEP_TIMEOUT, retry_policy=NO_RETRIES
        )


@workflow.defn(name="ConformanceSlow")
class Slow:
    """Sleeps a minute (a durable timer), then returns its input."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        await workflow.sleep(60)
        return payload


@workflow.defn(name="PrepareThenFlaky")
class PrepareThenFlaky:
    """Prepare, then Flaky (which fails as often as the test says), then Finish."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        await workflow.execute_activity(
            "Prepare", payload, start_to_close_timeout=STEP_TIMEOUT, retry_policy=NO_RETRIES
        )
        flaky_result = await workflow.execute_activity(
            "Flaky", payload, start_to_close_timeout=STEP_TIMEOUT, retry_policy=NO_RETRIES
        )
        await workflow.execute_activity(
            "Finish", payload, start_to_close_timeout=STEP_TIMEOUT, retry_policy=NO_RETRIES
        )
        return {**payload, "flaky": flaky_result}


WORKFLOWS = [Succeed, Fail, Slow, PrepareThenFlaky]
