"""A small asyncio runtime with simulated time for testing the ASL core.

``run(definition, input, handlers=...)`` compiles a definition, runs it on a
`KitRuntime` (asyncio + ``VirtualClock``: hours pass in
milliseconds) and returns the `Result` (outcome and recorded
events). Callbacks (``.waitForTaskToken``) are answered with
``runtime.send_success(token, output)`` / ``send_failure`` /
``send_heartbeat``; child executions run on the same runtime.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid as uuid_module
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from landlord_workflow._asl import (
    ChildExecution,
    Execution,
    ExecutionInfo,
    Outcome,
    StatesError,
    TaskRequest,
    call_handler,
    compile_definition,
    find_handler,
    missing_handler_error,
    parse_resource,
)
from landlord_workflow._asl._errors import HEARTBEAT_TIMEOUT, TIMEOUT
from landlord_workflow._jobs import run_all
from landlord_workflow.providers.mock import VirtualClock

START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Event:
    id: int
    type: str
    state: str | None
    details: Mapping[str, Any] | None


@dataclass
class ListRecorder:
    events: list[Event] = field(default_factory=list)

    def record(
        self, event_id: int, event_type: str, state: str | None, details: Mapping[str, Any] | None
    ) -> None:
        self.events.append(Event(event_id, event_type, state, details))


@dataclass
class Result:
    outcome: Outcome
    events: list[Event]
    runtime: KitRuntime
    execution: Execution

    @property
    def output(self) -> Any:
        assert self.outcome.succeeded, self.outcome
        return self.outcome.output

    @property
    def error(self) -> tuple[str | None, str | None]:
        assert not self.outcome.succeeded, self.outcome
        return self.outcome.error, self.outcome.cause

    def types(self, *, counted: bool = True) -> list[str]:
        return [e.type for e in self.events if (e.id > 0) == counted]

    def of_type(self, event_type: str) -> list[Event]:
        return [e for e in self.events if e.type == event_type]


class _Callback:
    def __init__(self) -> None:
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.heartbeat = asyncio.Event()


class KitRuntime:
    """The asyncio runtime of the tests (simulated time, seeded randomness)."""

    def __init__(
        self,
        *,
        handlers: Mapping[str, Callable[..., Awaitable[Any]]] | None = None,
        clock: VirtualClock | None = None,
        seed: int = 7,
        echo: bool = False,
        machines: Mapping[str, Mapping[str, Any]] | None = None,
        items: Mapping[str, list[Any]] | None = None,
    ) -> None:
        self.handlers = dict(handlers or {})
        self.clock = clock or VirtualClock(START)
        self._random = random.Random(seed)  # noqa: S311 - reproducible, not secret
        self.echo = echo
        self.machines = dict(machines or {})
        self.items = dict(items or {})
        self.callbacks: dict[str, _Callback] = {}
        self.tokens: list[str] = []
        self.children: list[Result] = []
        self._counter = itertools.count(1)
        self.requests: list[TaskRequest] = []

    # Runtime protocol ------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        await self.clock.sleep(seconds)

    def random(self) -> float:
        return self._random.random()

    def uuid(self) -> str:
        return str(uuid_module.UUID(int=self._random.getrandbits(128), version=4))

    def new_task_token(self, state: str) -> str:
        token = f"token-{next(self._counter)}-{state}"
        self.tokens.append(token)
        return token

    async def run_task(self, request: TaskRequest) -> Any:
        self.requests.append(request)
        if request.task_token is not None:
            self.callbacks[request.task_token] = _Callback()
        resource = parse_resource(request.resource)
        handler = find_handler(
            self.handlers, state=request.state, resource=resource, task_input=request.input
        )
        if handler is None:
            if self.echo:
                return request.input
            self._close(request.task_token)
            raise missing_handler_error(request, resource, self.uuid())
        try:
            return await self._with_timeout(
                call_handler(handler, request, resource, request_id=self.uuid(), now=self.now()),
                request.timeout_seconds,
                TIMEOUT,
            )
        except BaseException:
            self._close(request.task_token)
            raise

    async def wait_for_callback(
        self,
        request: TaskRequest,
        *,
        timeout_seconds: float | None,
        heartbeat_seconds: float | None,
    ) -> Any:
        token = request.task_token
        assert token is not None
        callback = self.callbacks[token]
        try:
            return await self._with_timeout(
                self._await_callback(callback, heartbeat_seconds), timeout_seconds, TIMEOUT
            )
        finally:
            self._close(token)

    async def _await_callback(self, callback: _Callback, heartbeat: float | None) -> Any:
        if heartbeat is None:
            return await callback.future
        while True:
            callback.heartbeat.clear()
            beat = asyncio.ensure_future(callback.heartbeat.wait())
            try:
                done = await self._with_timeout(
                    asyncio.wait({callback.future, beat}, return_when=asyncio.FIRST_COMPLETED),
                    heartbeat,
                    HEARTBEAT_TIMEOUT,
                )
            finally:
                beat.cancel()
            if callback.future in done[0]:
                return callback.future.result()

    async def start_execution(self, request: ChildExecution) -> Any:
        definition = request.definition
        if definition is None:
            definition = self.machines.get(request.state_machine_arn or "")
            if definition is None:
                raise StatesError(
                    "StepFunctions.StateMachineDoesNotExistException",
                    f"State Machine Does Not Exist: '{request.state_machine_arn}'",
                )
        name = request.name or f"child-{next(self._counter)}"
        child = await run_machine(definition, request.input, runtime=self, name=name)
        self.children.append(child)
        if not request.wait:
            return {"ExecutionArn": child.execution.info.execution_id, "StartDate": 0}
        if not child.outcome.succeeded:
            raise StatesError(child.outcome.error, child.outcome.cause)
        return child.outcome.output

    async def run_all(
        self,
        jobs: Sequence[Callable[[], Awaitable[Any]]],
        *,
        max_concurrency: int,
        on_done: Callable[[int, Any], bool],
    ) -> None:
        await run_all(jobs, max_concurrency=max_concurrency, on_done=on_done)

    async def read_items(self, state: str, reader: Mapping[str, Any], data: Any) -> Any:
        key = str(reader.get("Resource"))
        if key not in self.items:
            raise StatesError("States.ItemReaderFailed", f"no items for {key}")
        return self.items[key]

    # Callbacks ---------------------------------------------------------------

    def send_success(self, token: str, output: Any) -> None:
        self.callbacks[token].future.set_result(output)

    def send_failure(self, token: str, error: str | None, cause: str | None = None) -> None:
        self.callbacks[token].future.set_exception(StatesError(error, cause))

    def send_heartbeat(self, token: str) -> None:
        self.callbacks[token].heartbeat.set()

    def _close(self, token: str | None) -> None:
        if token is not None:
            self.callbacks.pop(token, None)

    async def _with_timeout(self, work: Awaitable[Any], seconds: float | None, error: str) -> Any:
        if seconds is None:
            return await work
        task = asyncio.ensure_future(work)
        expired = False

        def expire() -> None:
            nonlocal expired
            if not task.done():
                expired = True
                task.cancel()

        handle = self.clock.call_later(seconds, expire)
        try:
            return await task
        except asyncio.CancelledError:
            if expired:
                raise StatesError(error, None) from None
            raise
        finally:
            handle.cancel()
            if not task.done():
                task.cancel()


async def run_machine(
    definition: Mapping[str, Any],
    input: Any = None,
    *,
    runtime: KitRuntime,
    name: str = "run",
    checkpoint: Mapping[str, Any] | None = None,
    redrive_count: int = 0,
) -> Result:
    machine = compile_definition(definition)
    recorder = ListRecorder()
    info = ExecutionInfo(
        execution_id=f"arn:aws:states:us-east-1:123456789012:execution:machine:{name}",
        name=name,
        state_machine_id="arn:aws:states:us-east-1:123456789012:stateMachine:machine",
        state_machine_name="machine",
        start_time=runtime.now(),
        redrive_count=redrive_count,
    )
    execution = Execution(
        machine,
        runtime=runtime,
        recorder=recorder,
        info=info,
        input={} if input is None else input,
        checkpoint=checkpoint,
    )
    outcome = await execution.run()
    return Result(outcome, recorder.events, runtime, execution)


async def run(
    definition: Mapping[str, Any],
    input: Any = None,
    **options: Any,
) -> Result:
    """Compile and run ``definition`` on a fresh `KitRuntime` (``options`` go to it)."""
    runtime = KitRuntime(**options)
    result = await run_machine(definition, input, runtime=runtime)
    await runtime.clock.quiesce()
    return result


def single(state: Mapping[str, Any], **top: Any) -> dict[str, Any]:
    """A definition with one state ``S`` (ending the execution)."""
    body = dict(state)
    if body.get("Type") not in ("Choice", "Succeed", "Fail") and "Next" not in body:
        body.setdefault("End", True)
    return {"StartAt": "S", "States": {"S": body}, **top}


def chain(*states: tuple[str, Mapping[str, Any]], **top: Any) -> dict[str, Any]:
    """A definition running ``states`` in order (each ``(name, state)``)."""
    result: dict[str, Any] = {}
    for index, (name, state) in enumerate(states):
        body = dict(state)
        if body.get("Type") not in ("Choice", "Succeed", "Fail"):
            if index + 1 < len(states):
                body.setdefault("Next", states[index + 1][0])
            elif "Next" not in body:
                body.setdefault("End", True)
        result[name] = body
    return {"StartAt": states[0][0], "States": result, **top}
