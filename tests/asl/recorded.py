"""Run the AWS-recorded corpus (tests/recorded) on the ASL core and compare.

``run_case(case)`` executes one recorded case on the test kit's runtime
(simulated time, handlers built from the case's Lambda emulations) and
returns the differences from what AWS recorded ([] when they agree).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from asl.kit import KitRuntime, ListRecorder

from landlord_workflow._asl import Execution, ExecutionInfo, compile_definition
from landlord_workflow.errors import InvalidSpecError

ACCOUNT = "111111111111"
REGION = "us-east-1"


def _handler(spec: Mapping[str, Any], runtime: KitRuntime) -> Any:
    kind = spec["kind"]
    if kind == "echo":

        async def echo(payload: Any) -> Any:
            return payload

        return echo
    if kind == "constant":
        value = spec["value"]

        async def constant(payload: Any) -> Any:
            return value

        return constant
    if kind == "oversized_result":
        size = int(spec["bytes"])

        async def oversized(payload: Any) -> Any:
            return "a" * size

        return oversized
    if kind == "sleep_echo":
        seconds = float(spec["seconds"])

        async def sleepy(payload: Any) -> Any:
            await runtime.clock.sleep(seconds)
            return payload

        return sleepy
    if kind == "raise":
        error_type = spec["error_type"]
        message = spec.get("error_message", "")
        trace = spec.get("stack_trace", [])

        error_class = type(error_type, (Exception,), {})

        async def failing(payload: Any) -> Any:
            error = error_class(message)
            error.stack_trace = trace  # type: ignore[attr-defined]
            raise error

        return failing
    raise ValueError(f"unknown handler kind {kind!r}")


async def observe(case: Any) -> dict[str, Any]:
    """Run ``case``; the observed outcome in the corpus' terms."""
    try:
        machine = compile_definition(case.definition)
    except InvalidSpecError as exc:
        return {"status": "INVALID", "error": "InvalidDefinition", "cause": str(exc)}
    runtime = KitRuntime()
    for name, spec in case.handlers.items():
        handler = _handler(spec, runtime)
        runtime.handlers[name] = handler
        if spec.get("function_arn"):
            runtime.handlers[spec["function_arn"]] = handler
    recorder = ListRecorder()
    machine_name = "state-machine"
    execution_name = case.execution_name or "execution"
    info = ExecutionInfo(
        execution_id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine_name}:{execution_name}",
        name=execution_name,
        state_machine_id=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine_name}",
        state_machine_name=machine_name,
        start_time=runtime.now(),
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/sfn-role",
    )
    execution = Execution(machine, runtime=runtime, recorder=recorder, info=info, input=case.input)
    timed_out = False
    task = asyncio.ensure_future(execution.run())
    handle = None
    if machine.timeout_seconds is not None:

        def expire() -> None:
            nonlocal timed_out
            timed_out = True
            task.cancel()

        handle = runtime.clock.call_later(machine.timeout_seconds, expire)
    try:
        outcome = await task
    except asyncio.CancelledError:
        if not timed_out:
            raise
        outcome = None
    finally:
        if handle is not None:
            handle.cancel()
        await runtime.clock.quiesce()
    states = [e.state for e in recorder.events if e.type.endswith("StateEntered")]
    events = [
        [e.type, e.state if e.type.endswith(("StateEntered", "StateExited")) else None]
        for e in recorder.events
        if e.id > 0
    ]
    if outcome is None:
        events.append(["ExecutionTimedOut", None])
        return {
            "status": "TIMED_OUT",
            "error": None,
            "cause": None,
            "states": states,
            "events": events,
        }
    if outcome.succeeded:
        return {"status": "SUCCEEDED", "output": outcome.output, "states": states, "events": events}
    return {
        "status": "FAILED",
        "error": outcome.error,
        "cause": outcome.cause,
        "states": states,
        "events": events,
    }


async def run_case(case: Any, matches: Any) -> list[str]:
    observed = await observe(case)
    return list(matches(case.expected, observed))


def describe(observed: Mapping[str, Any]) -> str:
    return json.dumps(observed, default=str)[:400]
