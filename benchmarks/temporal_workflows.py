"""The hand-written native Temporal workflow the ASL benchmark compares against.

It does what the 5-state ASL definition (``_common.five_state_definition``)
does, in code: Prepare (data), Notify (an activity), Shape (data), Announce
(an activity), Done. Its activity calls the same task handler the ASL
worker calls. It lives in an importable module because Temporal's sandbox
re-imports the module of every workflow it runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

NATIVE_TYPE = "BenchFiveStates"
ONCE = RetryPolicy(maximum_attempts=1)
STEP_TIMEOUT = timedelta(minutes=5)


async def send_message(task_input: Any) -> Any:
    """The Tasks' handler (an SQS SendMessage stand-in), on both sides."""
    return {"MessageId": "00000000-0000-4000-8000-000000000000", "MD5OfMessageBody": "x"}


@activity.defn(name="bench-send-message")
async def send(task_input: Any) -> Any:
    return await send_message(task_input)


@workflow.defn(name=NATIVE_TYPE)
class FiveStates:
    """Prepare, Notify, Shape, Announce, Done."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        prepared = {"plan": "small", "region": "eu-west-1"}
        data = {**payload, "prepared": prepared}
        await workflow.execute_activity(
            "bench-send-message",
            {"QueueUrl": "q", "MessageBody": prepared},
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=ONCE,
        )
        shaped = {"tenant": data["tenant"], "plan": prepared["plan"]}
        await workflow.execute_activity(
            "bench-send-message",
            {"QueueUrl": "q", "MessageBody": shaped["tenant"]},
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=ONCE,
        )
        return shaped


@workflow.defn(name="BenchIdle")
class Idle:
    """Started by the start-latency figures on a task queue no worker polls."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> None:
        return None
