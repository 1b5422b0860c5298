"""The worker a provider hosts, only where it is given something to run.

A process that only starts, watches or stops executions (the CLI, a
read-only service) must never poll a task queue: it would take tasks it
cannot run. So :class:`HostedWorker` exists only when the provider is given
workflows or activities to host (or task handlers, for ASL definitions); it
starts with the provider's client and stops in ``aclose``: a graceful
shutdown (running activities may finish within ``graceful_shutdown``), then
the worker's task is awaited, so nothing is left running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import anyio
from temporalio.client import Client
from temporalio.worker import Worker

__all__ = ["HostedWorker"]

_log = logging.getLogger("landlord_workflow.providers.temporal")


class HostedWorker:
    """One temporalio ``Worker`` polling ``task_queue``, run as a background task."""

    def __init__(
        self,
        *,
        task_queue: str,
        workflows: Sequence[type],
        activities: Sequence[Callable[..., Any]],
        graceful_shutdown: timedelta,
    ) -> None:
        if not workflows and not activities:
            raise ValueError("a hosted worker needs workflows or activities to run")
        self.task_queue = task_queue
        self._workflows = list(workflows)
        self._activities = list(activities)
        self._graceful_shutdown = graceful_shutdown
        self._worker: Worker | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the worker is polling."""
        return self._task is not None and not self._task.done()

    async def start(self, client: Client) -> None:
        """Build the worker and start polling.

        temporalio builds a worker on the running event loop (it needs one)
        and validates each workflow class in its sandbox there: a one-time
        cost of a fraction of a second per workflow class, when the provider
        opens.
        """
        if self._worker is not None:
            return
        worker = self._build(client)
        self._worker = worker
        self._task = asyncio.get_running_loop().create_task(
            self._run(worker), name=f"landlord-workflow-temporal-worker:{self.task_queue}"
        )

    def _build(self, client: Client) -> Worker:
        return Worker(
            client,
            task_queue=self.task_queue,
            workflows=self._workflows,
            activities=self._activities,
            graceful_shutdown_timeout=self._graceful_shutdown,
        )

    async def _run(self, worker: Worker) -> None:
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception(
                "the Temporal worker stopped with an error",
                extra={"provider": "temporal", "task_queue": self.task_queue},
            )

    async def aclose(self) -> None:
        """Stop polling and wait for the worker to finish. Idempotent."""
        worker, self._worker = self._worker, None
        task, self._task = self._task, None
        if worker is None or task is None:
            return
        with anyio.CancelScope(shield=True):
            if not task.done():
                await worker.shutdown()
            await asyncio.gather(task, return_exceptions=True)
