"""Shared by the examples: the tenant-provisioning spec, its Python task handlers,
and printing progress and a timeline from an execution's history.

Not an example of its own (``nox -s examples`` skips files starting with ``_``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from landlord_workflow import ExecutionEvent, ExecutionStatus, Manager, WorkflowSpec, codec
from landlord_workflow.providers.mock import TaskFailure, TaskHandler

DEFINITIONS = Path(__file__).parent / "definitions"
SPEC_FILE = DEFINITIONS / "tenant_provisioning.json"


def load_spec(provider_type: str = "mock") -> WorkflowSpec:
    """The tenant-provisioning spec from its JSON file, for ``provider_type``."""
    spec = codec.from_json(WorkflowSpec, SPEC_FILE.read_text(encoding="utf-8"))
    return attrs.evolve(spec, provider_type=provider_type)


class TenantHandlers:
    """Python stand-ins for the four Lambda functions, for the mock engine.

    ``calls`` counts invocations per function name. ``configure-networking``
    fails with ``Network.Transient`` on its first ``flaky_network`` calls (the
    definition's Retry rule recovers); ``run-migrations`` fails with
    ``Migration.Failed`` on its first ``failing_migrations`` calls, and for
    every tenant ``broken(tenant_id)`` says is broken (no Retry rule for that).
    """

    def __init__(
        self,
        *,
        step_seconds: float = 0.15,
        flaky_network: int = 1,
        failing_migrations: int = 0,
        broken: Callable[[str], bool] = lambda tenant_id: False,
    ) -> None:
        self.step_seconds = step_seconds
        self.flaky_network = flaky_network
        self.failing_migrations = failing_migrations
        self.broken = broken
        self.calls: Counter[str] = Counter()

    def for_spec(self, spec: WorkflowSpec) -> dict[str, TaskHandler]:
        """Map every Task ``Resource`` of the definition (a Lambda ARN) to its handler."""
        by_function: dict[str, TaskHandler] = {
            "provision-compute": self.provision_compute,
            "configure-networking": self.configure_networking,
            "initialize-database": self.initialize_database,
            "run-migrations": self.run_migrations,
        }
        handlers = {}
        for state in spec.definition["States"].values():
            resource = state.get("Resource")
            if resource:
                handlers[resource] = by_function[resource.rsplit(":", 1)[-1]]
        return handlers

    async def _work(self, function: str) -> int:
        self.calls[function] += 1
        await asyncio.sleep(self.step_seconds)
        return self.calls[function]

    async def provision_compute(self, task: Mapping[str, Any]) -> dict[str, Any]:
        await self._work("provision-compute")
        return {"instance_id": f"vm-{task['tenant_id']}", "size": "m7g.large"}

    async def configure_networking(self, task: Mapping[str, Any]) -> dict[str, Any]:
        call = await self._work("configure-networking")
        if call <= self.flaky_network:
            raise TaskFailure("Network.Transient", "VPC API rate limit; try again")
        return {"vpc_id": f"vpc-{task['tenant_id']}", "subnets": 3}

    async def initialize_database(self, task: Mapping[str, Any]) -> dict[str, Any]:
        await self._work("initialize-database")
        return {"database": f"tenant_{task['tenant_id'].replace('-', '_')}"}

    async def run_migrations(self, task: Mapping[str, Any]) -> dict[str, Any]:
        call = await self._work("run-migrations")
        if call <= self.failing_migrations or self.broken(task["tenant_id"]):
            raise TaskFailure("Migration.Failed", "lock timeout on schema_migrations")
        return {"applied": 42}


# -- progress and timeline, from the public history -------------------------------------

_VERBS = {
    "StateEntered": "started",
    "StateExited": "done",
    "TaskFailed": "failed",
    "TaskRetried": "retrying",
}


def progress_line(event: ExecutionEvent, origin: datetime) -> str | None:
    """One line for a history event about a state (``None`` for other events)."""
    offset = f"+{(event.timestamp - origin).total_seconds():.3f}s"
    if event.type == "ExecutionRedriven":
        return f"  {offset:>9}  (execution redriven)"
    state = event.details.get("state")
    verb = _VERBS.get(event.type)
    if state is None or verb is None:
        return None
    if event.type == "TaskFailed":
        verb += f": {event.details.get('error')}"
    return f"  {offset:>9}  {state:<20} {verb}"


async def follow(
    manager: Manager,
    execution_id: str,
    *,
    since: int = 0,
    interval: float = 0.05,
    max_interval: float = 2.0,
) -> ExecutionStatus:
    """Print each state's progress as it happens; return the final status (with history).

    Polls ``get_execution_status(include_history=True)`` and prints the events
    after the first ``since`` (pass the previous history's length after a
    redrive to print only what is new). Reading history costs an API call per
    page on Step Functions, so the interval grows by half each poll up to
    ``max_interval``; a service that only needs the outcome should use
    ``Manager.wait_for_completion``, which never reads history.
    """
    seen = since
    while True:
        status = await manager.get_execution_status(execution_id, include_history=True)
        for event in status.history[seen:]:
            line = progress_line(event, status.start_time)
            if line:
                print(line, flush=True)
        seen = len(status.history)
        if status.state.is_terminal:
            return status
        await asyncio.sleep(interval)
        interval = min(interval * 1.5, max_interval)


def timeline(status: ExecutionStatus) -> list[tuple[str, float, float | None, int, str]]:
    """``(state, start offset s, duration s, attempts, outcome)`` per state visit, in order.

    Offsets count from the execution's start. A state entered again (after a
    redrive, or in a loop) gets a row per visit.
    """
    rows: list[list[Any]] = []
    open_rows: dict[str, list[Any]] = {}
    for event in status.history:
        state = event.details.get("state")
        if state is None:
            continue
        if event.type == "StateEntered":
            offset = (event.timestamp - status.start_time).total_seconds()
            open_rows[state] = [state, offset, None, 1, "running", event.timestamp]
            rows.append(open_rows[state])
        elif state in open_rows:
            row = open_rows[state]
            if event.type == "TaskRetried":
                row[3] += 1
            elif event.type == "TaskFailed":
                row[4] = f"failed: {event.details.get('error')}"
            elif event.type == "StateExited":
                row[2] = (event.timestamp - row[5]).total_seconds()
                row[4] = "done"
                del open_rows[state]
    return [(row[0], row[1], row[2], row[3], row[4]) for row in rows]


def print_outcome(status: ExecutionStatus) -> None:
    """The outcome line, the failed step if any, and the timeline table."""
    elapsed = (status.stop_time - status.start_time).total_seconds() if status.stop_time else 0
    print(f"outcome: {status.state.value} in {elapsed:.3f}s ({status.execution_id})")
    if status.error is not None:
        print(f"failed step: {status.error.failed_at} ({status.error.code}: {status.error.cause})")
    print("timeline:")
    print(f"  {'state':<20} {'start':>9} {'duration':>9}  attempts  outcome")
    for state, offset, duration, attempts, outcome in timeline(status):
        shown = "-" if duration is None else f"{duration:.3f}s"
        print(f"  {state:<20} {f'+{offset:.3f}s':>9} {shown:>9}  {attempts:>8}  {outcome}")
