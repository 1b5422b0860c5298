"""The mock engine's Runtime: the ASL core on asyncio and the provider's Clock.

One `MockRuntime` serves one run of one execution (its first run or a
redrive). Time, sleeping and task timeouts use the provider's clock (real or
virtual); randomness comes from a per-execution ``random.Random`` (seeded
when the provider is given a seed); tasks run the provider's handlers routed
as AWS resolves a ``Resource``; callbacks wait on the provider's task-token
table; child executions run on the same provider.
"""

from __future__ import annotations

import asyncio
import random
import uuid as uuid_module
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from landlord_workflow._asl import (
    ChildExecution,
    StatesError,
    TaskRequest,
    call_handler,
    find_handler,
    missing_handler_error,
    parse_resource,
)
from landlord_workflow._asl._errors import HEARTBEAT_TIMEOUT, TIMEOUT
from landlord_workflow._jobs import run_all

if TYPE_CHECKING:
    from landlord_workflow.providers.mock._engine import MockProvider
    from landlord_workflow.providers.mock._execution import ExecutionRecord

__all__ = ["Callback", "MockRuntime"]


class Callback:
    """An open task token: the answer (a future) and the heartbeats."""

    __slots__ = ("future", "heartbeat", "record", "token")

    def __init__(self, token: str, record: ExecutionRecord) -> None:
        self.token = token
        self.record = record
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.heartbeat = asyncio.Event()


class MockRuntime:
    """The core's `landlord_workflow._asl.Runtime` for one execution run."""

    __slots__ = ("_random", "_tokens", "at", "clock", "pause", "provider", "record", "stamp")

    def __init__(self, provider: MockProvider, record: ExecutionRecord) -> None:
        self.provider = provider
        self.record = record
        self.clock = provider._clock
        self._random = record.random or execution_random(
            provider.random_seed, record.execution_id, record.redrive_count
        )
        self._tokens = 0
        # The core's optional cheap clock reading and pause (see `Execution`).
        self.stamp = provider._stamps.stamp
        self.at = provider._stamps.at
        self.pause = provider._pause

    # ---------------------------------------------------------------- basics

    def now(self) -> datetime:
        return self.clock.now()

    def sleep(self, seconds: float) -> Coroutine[Any, Any, None]:
        return self.clock.sleep(seconds)

    def random(self) -> float:
        return self._random.random()

    def uuid(self) -> str:
        return str(uuid_module.UUID(int=self._random.getrandbits(128), version=4))

    def new_task_token(self, state: str) -> str:
        self._tokens += 1
        return (
            f"{self.record.execution_id}#{self.record.redrive_count}.{self._tokens}:{self.uuid()}"
        )

    # ----------------------------------------------------------------- tasks

    async def run_task(self, request: TaskRequest) -> Any:
        token = request.task_token
        if token is not None:
            self.provider._open_token(token, self.record)
        try:
            # (One coroutine for the whole invocation: each one a task waits
            # through is an object alive while it waits.)
            resource = parse_resource(request.resource)
            provider = self.provider
            handler = find_handler(
                provider.task_handlers,
                state=request.state,
                resource=resource,
                task_input=request.input,
            )
            seconds = request.timeout_seconds
            if handler is None:
                if not provider.echo_unknown_tasks:
                    raise missing_handler_error(request, resource, self.uuid())
                if seconds is None:
                    await self.clock.sleep(provider.default_task_seconds)
                    return request.input
                work: Awaitable[Any] = self._echo(request.input)
            else:
                work = call_handler(
                    handler,
                    request,
                    resource,
                    request_id=self.uuid(),
                    now=self.now(),
                    max_payload_bytes=provider.max_payload_bytes,
                )
                if seconds is None:
                    return await work
            return await self._with_timeout(work, seconds, TIMEOUT)
        except BaseException:
            if token is not None:
                self.provider._close_token(token)
            raise

    async def _echo(self, value: Any) -> Any:
        await self.clock.sleep(self.provider.default_task_seconds)
        return value

    async def wait_for_callback(
        self,
        request: TaskRequest,
        *,
        timeout_seconds: float | None,
        heartbeat_seconds: float | None,
    ) -> Any:
        token = request.task_token
        assert token is not None  # noqa: S101 - the core sets it for callbacks
        callback = self.provider._callbacks[token]
        try:
            return await self._with_timeout(
                self._answer(callback, heartbeat_seconds), timeout_seconds, TIMEOUT
            )
        finally:
            self.provider._close_token(token)

    async def _answer(self, callback: Callback, heartbeat: float | None) -> Any:
        if heartbeat is None:
            return await callback.future
        while True:
            callback.heartbeat.clear()
            beat = asyncio.ensure_future(callback.heartbeat.wait())
            try:
                done, _ = await self._with_timeout(
                    asyncio.wait({callback.future, beat}, return_when=asyncio.FIRST_COMPLETED),
                    heartbeat,
                    HEARTBEAT_TIMEOUT,
                )
            finally:
                beat.cancel()
            if callback.future in done:
                return callback.future.result()

    async def _with_timeout(self, work: Awaitable[Any], seconds: float | None, error: str) -> Any:
        """Await ``work``; after ``seconds`` of clock time fail with ``error`` (no cause)."""
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
            if expired and not _cancelling():
                raise StatesError(error, None) from None
            raise
        finally:
            handle.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    # ------------------------------------------------------- child executions

    async def start_execution(self, request: ChildExecution) -> Any:
        return await self.provider._start_child(self.record, request)

    async def read_items(self, state: str, reader: Mapping[str, Any], data: Any) -> Any:
        read = self.provider.item_reader
        if read is None:
            raise StatesError(
                "States.ItemReaderFailed",
                f"No item reader is configured for '{reader.get('Resource')}' on the mock engine.",
            )
        return await read(state, reader, data)

    # ------------------------------------------------------------ concurrency

    async def run_all(
        self,
        jobs: Sequence[Callable[[], Awaitable[Any]]],
        *,
        max_concurrency: int,
        on_done: Callable[[int, Any], bool],
    ) -> None:
        await run_all(jobs, max_concurrency=max_concurrency, on_done=on_done)


def _cancelling() -> bool:
    """Whether the current task itself is being cancelled (not just our timer)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def execution_random(seed: int | None, execution_id: str, redrive_count: int) -> random.Random:
    """The random source of one execution run (reproducible when ``seed`` is given)."""
    if seed is None:
        return _SHARED  # unseeded: one source for all (saves ~5 KB per execution)
    return random.Random(f"{seed}:{execution_id}:{redrive_count}")  # noqa: S311


_SHARED = random.Random()  # noqa: S311 - simulation, not secrets
