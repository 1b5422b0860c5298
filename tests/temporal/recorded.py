"""Run the AWS-recorded corpus (tests/recorded) as ASL on Temporal.

Each case runs as the built-in ASL workflow on the dev server, with the same
identity the core's own runner gives it (``tests/asl/recorded.py``: the
execution and state machine ARNs, the role), so outputs that quote them
agree; its Tasks run as activities calling handlers built from the case's
Lambda emulations. Cases that share the same emulations share one worker
(a provider on its own task queue). The outcome is read back through
``TemporalProvider.get_execution_status`` as users read it.

The whole corpus: ``cd tests && python -m temporal.recorded`` (prints the
match rate and every miss).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from asl.recorded import ACCOUNT, REGION, _handler
from recorded.corpus import ROLE_ARN

from landlord_workflow import ExecutionState, ExecutionStatus
from landlord_workflow._asl import compile_definition
from landlord_workflow.errors import InvalidSpecError
from landlord_workflow.providers.temporal import TemporalProvider
from landlord_workflow.providers.temporal._asl_wire import WORKFLOW_TYPE, RunConfig
from landlord_workflow.testing._temporal import LocalTemporal

_STATUS = {
    ExecutionState.SUCCEEDED: "SUCCEEDED",
    ExecutionState.FAILED: "FAILED",
    ExecutionState.TIMED_OUT: "TIMED_OUT",
    ExecutionState.CANCELLED: "ABORTED",
}
_DEADLINE_SECONDS = 90.0


class _RealClock:
    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass
class _RealTime:
    """What the corpus' handler builder needs from a runtime: a clock to sleep on."""

    clock: _RealClock


def handlers_for(case: Any) -> dict[str, Any]:
    """The task handlers emulating a case's Lambda functions (real time)."""
    runtime = _RealTime(_RealClock())
    handlers: dict[str, Any] = {}
    for name, spec in case.handlers.items():
        handler = _handler(spec, runtime)  # type: ignore[arg-type]
        handlers[name] = handler
        if spec.get("function_arn"):
            handlers[spec["function_arn"]] = handler
    return handlers


def observed_from(status: ExecutionStatus) -> dict[str, Any]:
    """The corpus' view of a final status (as ``asl.recorded.observe`` reports it)."""
    states = [e.details["state"] for e in status.history if e.type == "StateEntered"]
    state = _STATUS[status.state]
    if status.state is ExecutionState.SUCCEEDED:
        return {"status": state, "output": status.output, "states": states}
    if status.state is ExecutionState.TIMED_OUT:
        return {"status": state, "error": None, "cause": None, "states": states}
    error = status.error
    return {
        "status": state,
        "error": error.code if error is not None and error.code else None,
        "cause": error.cause if error is not None else None,
        "states": states,
    }


@contextlib.asynccontextmanager
async def workers(
    server: LocalTemporal, cases: Sequence[Any]
) -> AsyncIterator[Mapping[str, TemporalProvider]]:
    """One provider (and worker) per distinct set of Lambda emulations: key -> provider."""
    async with contextlib.AsyncExitStack() as stack:
        providers: dict[str, TemporalProvider] = {}
        for case in cases:
            key = json.dumps(case.handlers, sort_keys=True)
            if key in providers:
                continue
            provider = server.provider(
                task_queue=f"recorded-{uuid.uuid4().hex[:8]}",
                task_handlers=handlers_for(case),
                run_worker=True,
                rpc_timeout=timedelta(seconds=30),
                # Timed-out emulations may still sleep: do not wait for them at the end.
                graceful_shutdown=timedelta(0),
            )
            providers[key] = await stack.enter_async_context(provider)
        yield providers


async def observe(case: Any, providers: Mapping[str, TemporalProvider]) -> dict[str, Any]:
    """Run ``case`` on Temporal; the observed outcome in the corpus' terms."""
    try:
        machine = compile_definition(case.definition)
    except InvalidSpecError as exc:
        return {"status": "INVALID", "error": "InvalidDefinition", "cause": str(exc)}
    provider = providers[json.dumps(case.handlers, sort_keys=True)]
    machine_name = "state-machine"
    execution_name = case.execution_name or "execution"
    config = RunConfig(
        definition=json.dumps(case.definition),
        execution_id=(
            f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine_name}:{execution_name}"
        ),
        name=execution_name,
        state_machine_id=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine_name}",
        state_machine_name=machine_name,
        role_arn=ROLE_ARN,
    )
    workflow_id = f"recorded-{uuid.uuid4().hex[:12]}"
    timeout = machine.timeout_seconds
    await provider.client.start_workflow(
        WORKFLOW_TYPE,
        args=[case.input, config.to_json()],
        id=f"{workflow_id}/run",
        task_queue=provider.task_queue,
        execution_timeout=None if timeout is None else timedelta(seconds=timeout),
    )
    execution_id = f"temporal:{provider.namespace}:{workflow_id}/run"
    async with asyncio.timeout(_DEADLINE_SECONDS):
        async for status in provider.watch_execution(execution_id):
            if status.state.is_terminal:
                break
    final = await provider.get_execution_status(execution_id, include_history=True)
    return observed_from(final)


async def _measure_all() -> None:
    """Run the whole corpus on a fresh dev server; print the match rate and misses."""
    import time

    from recorded.corpus import load_cases, matches

    cases = load_cases()
    limit = asyncio.Semaphore(200)
    began = time.perf_counter()
    async with LocalTemporal() as server, workers(server, cases) as providers:

        async def one(case: Any) -> list[str]:
            async with limit:
                try:
                    return list(matches(case.expected, await observe(case, providers)))
                except Exception as exc:  # report it with the case, keep going
                    return [f"error: {exc!r}"]

        differences = await asyncio.gather(*(one(case) for case in cases))
    missed = {case.id: diff for case, diff in zip(cases, differences, strict=True) if diff}
    matched = len(cases) - len(missed)
    seconds = time.perf_counter() - began
    print(f"recorded corpus on Temporal: {matched}/{len(cases)} match AWS ({seconds:.0f} s)")
    for case_id, diff in missed.items():
        print(f"  {case_id}: {diff[:3]}")


if __name__ == "__main__":
    asyncio.run(_measure_all())
