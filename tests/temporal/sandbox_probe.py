"""A workflow that imports the ASL interpreter core INSIDE Temporal's sandbox.

The built-in ASL workflow passes the core through the sandbox (for speed);
this probe does not: the sandbox imports ``landlord_workflow`` and the core
itself, under its default restrictions, and runs a definition with a minimal
Runtime of workflow APIs. If the core touched the clock, randomness or I/O
at import or while running, the sandbox would refuse it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from temporalio import workflow

from landlord_workflow._asl import Execution, ExecutionInfo, compile_definition


class _Runtime:
    def __init__(self) -> None:
        self._random = workflow.random()

    def now(self) -> datetime:
        return workflow.now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def random(self) -> float:
        return self._random.random()

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def new_task_token(self, state: str) -> str:
        return f"probe-{state}"

    async def run_task(self, request: Any) -> Any:
        return request.input

    async def wait_for_callback(self, request: Any, **limits: Any) -> Any:
        raise NotImplementedError

    async def start_execution(self, request: Any) -> Any:
        raise NotImplementedError

    async def run_all(
        self,
        jobs: Sequence[Callable[[], Awaitable[Any]]],
        *,
        max_concurrency: int,
        on_done: Callable[[int, Any], bool],
    ) -> None:
        results = await asyncio.gather(*(job() for job in jobs))
        for index, result in enumerate(results):
            if on_done(index, result):
                return


class _Recorder:
    def __init__(self) -> None:
        self.entered: list[str] = []

    def record(
        self, event_id: int, event_type: str, state: str | None, details: Mapping[str, Any] | None
    ) -> None:
        if event_type.endswith("StateEntered") and state is not None:
            self.entered.append(state)


@workflow.defn(name="SandboxProbe")
class SandboxProbe:
    """Runs ``definition`` on ``value``; returns the output and the states entered."""

    @workflow.run
    async def run(self, definition: dict[str, Any], value: Any) -> dict[str, Any]:
        recorder = _Recorder()
        info = ExecutionInfo(
            execution_id="probe",
            name="probe",
            state_machine_id="probe",
            state_machine_name="probe",
            start_time=workflow.now(),
        )
        outcome = await Execution(
            compile_definition(definition),
            runtime=_Runtime(),
            recorder=recorder,
            info=info,
            input=value,
        ).run()
        return {"output": outcome.output, "error": outcome.error, "entered": recorder.entered}
