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
import pkgutil
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import anyio
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import landlord_workflow

__all__ = ["HostedWorker", "asl_sandbox_runner"]

_WORKFLOW_MODULE = "landlord_workflow.providers.temporal._asl_workflow"


@cache
def _library_modules() -> frozenset[str]:
    """Every module of this package, by name, found on disk (nothing is imported)."""
    names: set[str] = set()

    def walk(path: Path, prefix: str) -> None:
        for module in pkgutil.iter_modules([str(path)]):
            name = f"{prefix}.{module.name}"
            names.add(name)
            if module.ispkg:
                walk(path / module.name, name)

    walk(Path(landlord_workflow.__file__).parent, "landlord_workflow")
    return frozenset(names)


def asl_sandbox_runner() -> SandboxedWorkflowRunner:
    """The sandbox for the ASL workflow: its module re-imported per run, the rest passed through.

    Temporal's sandbox re-imports a workflow's module (and everything that
    module imports, unless passed through) for every workflow run. The ASL
    workflow module is re-imported, so the sandbox checks its code. Passed
    through: ``jlens`` and every other module of this package, except the
    packages on the workflow module's path (their ``__init__`` re-runs, as
    cheap lookups of passed-through modules). They are deterministic: the
    interpreter core reaches time, randomness and I/O only through the
    Runtime the workflow gives it, and nothing in them keeps per-execution
    state. Passing them through saves re-importing some thirty modules for
    every run, and lets every run share one cache of compiled definitions.
    """
    parents = {_WORKFLOW_MODULE.rsplit(".", depth)[0] for depth in range(1, 4)}
    modules = sorted(_library_modules() - parents - {_WORKFLOW_MODULE, "landlord_workflow"})
    restrictions = SandboxRestrictions.default.with_passthrough_modules("jlens", *modules)
    return SandboxedWorkflowRunner(restrictions=restrictions)


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
        workflow_runner: SandboxedWorkflowRunner | None = None,
    ) -> None:
        if not workflows and not activities:
            raise ValueError("a hosted worker needs workflows or activities to run")
        self.task_queue = task_queue
        self._workflows = list(workflows)
        self._activities = list(activities)
        self._graceful_shutdown = graceful_shutdown
        self._workflow_runner = workflow_runner
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
        options: dict[str, Any] = {}
        if self._workflow_runner is not None:
            options["workflow_runner"] = self._workflow_runner
        return Worker(
            client,
            task_queue=self.task_queue,
            workflows=self._workflows,
            activities=self._activities,
            graceful_shutdown_timeout=self._graceful_shutdown,
            **options,
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
