"""What the Temporal tests share: specs of the native test workflows, the
user's own worker, and the provider hosting the ASL worker.

Each runs on its own event loop in a daemon thread, so each test's event loop
only drives the provider (as a control plane does); the session fixtures
``native_worker`` and ``asl_worker`` (``tests/conftest.py``) run one for the
workflows in ``temporal/workflows.py`` and one for the ASL handlers of
``temporal/asl_handlers.py``.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import Future
from typing import Any

from conftest import make_spec
from temporal.workflows import NATIVE_TASK_QUEUE
from temporalio.client import Client
from temporalio.worker import Worker

from landlord_workflow import WorkflowSpec
from landlord_workflow.testing._temporal import LocalTemporal


def native(workflow_type: str, task_queue: str = NATIVE_TASK_QUEUE) -> dict[str, str]:
    """A definition that starts the native workflow ``workflow_type``."""
    return {"workflow_type": workflow_type, "task_queue": task_queue}


def native_spec(workflow_type: str = "ConformanceSucceed", **fields: Any) -> WorkflowSpec:
    """The suite's spec factory for a native workflow, under a fresh workflow id
    (the dev server is shared by the whole session)."""
    fields.setdefault("workflow_id", f"wf-{uuid.uuid4().hex[:12]}")
    fields.setdefault("name", "Provision tenant")
    return make_spec(native(workflow_type), provider_type="temporal", **fields)


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
