"""Resume a failed provisioning at the failed step, without re-running what succeeded.

The migrations step fails (``Migration.Failed``; the definition has no Retry
rule for it), so the execution ends ``failed`` at ``RunMigrations``. Then:

1. ``Manager.redrive_execution`` resumes that same execution at
   ``RunMigrations``; compute, networking and database are not run again.
2. ``Manager.run`` does the same by itself: the spec's ``RetryPolicy``
   (``max_attempts: 2``) redrives the failed execution after its backoff.

The handler-call counts prove which steps ran once. Runs on the mock engine
(moto does not implement RedriveExecution; AWS does).

    python examples/resume_after_failure.py

Exits 0 when both runs resumed at the failed step and every other step ran once.
"""

from __future__ import annotations

import asyncio
import sys

from _tenants import TenantHandlers, follow, load_spec, print_outcome

from landlord_workflow import ExecutionInput, ExecutionState, Manager, Registry, codec
from landlord_workflow.providers.mock import MockProvider

EXPECTED = {
    "provision-compute": 1,
    "configure-networking": 1,
    "initialize-database": 1,
    "run-migrations": 2,
}


def report(title: str, handlers: TenantHandlers) -> bool:
    """Print the handler calls; True when only the failed step ran twice."""
    print(f"{title}: handler calls")
    for function, count in handlers.calls.items():
        note = "ran once" if count == 1 else f"ran {count} times"
        print(f"  {function:<22} {note}")
    return dict(handlers.calls) == EXPECTED


async def explicit_redrive() -> bool:
    spec = load_spec()
    handlers = TenantHandlers(flaky_network=0, failing_migrations=1)
    registry = Registry()
    registry.register(MockProvider(task_handlers=handlers.for_spec(spec)))
    async with Manager(registry) as manager:
        await manager.create_workflow(spec)
        started = await manager.start_execution(
            spec.workflow_id, ExecutionInput(input={"tenant_id": "initech"})
        )
        print(f"1. start {started.execution_id}")
        failed = await follow(manager, started.execution_id)
        print_outcome(failed)

        print("redrive: resume at the failed step")
        await manager.redrive_execution(started.execution_id)
        status = await follow(manager, started.execution_id, since=len(failed.history))
        print_outcome(status)
        print(f"redrive count: {status.metadata.get('redrive_count')}")
    return status.state is ExecutionState.SUCCEEDED and report("explicit redrive", handlers)


async def run_with_retry_policy() -> bool:
    spec = load_spec()
    handlers = TenantHandlers(flaky_network=0, failing_migrations=1)
    registry = Registry()
    registry.register(MockProvider(task_handlers=handlers.for_spec(spec)))
    async with Manager(registry) as manager:
        await manager.create_workflow(spec)
        policy = codec.to_dict(spec.retry_policy)
        print(f"2. Manager.run with the spec's retry_policy {policy}")
        status = await manager.run(spec.workflow_id, ExecutionInput(input={"tenant_id": "hooli"}))
        status = await manager.get_execution_status(status.execution_id, include_history=True)
        print_outcome(status)
    return status.state is ExecutionState.SUCCEEDED and report("Manager.run", handlers)


async def main() -> int:
    ok = await explicit_redrive()
    print()
    ok = await run_with_retry_policy() and ok
    print("result: resumed at RunMigrations; the steps before it ran once" if ok else "UNEXPECTED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
