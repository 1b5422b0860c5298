"""Your own Temporal workflow, started and watched through landlord-workflow.

The workflow and its activities live in an importable module (this one):
Temporal's workflow sandbox re-imports the module of every workflow it runs.
``provision_on_local_temporal()`` runs the whole thing on a throwaway dev
server: your worker, a Manager with only the provider, one execution.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from landlord_workflow import (
    ExecutionInput,
    ExecutionStatus,
    Manager,
    Registry,
    RetryPolicy,
    WorkflowSpec,
)
from landlord_workflow.providers.temporal import TemporalProvider
from landlord_workflow.testing import LocalTemporal

TASK_QUEUE = "provisioning"


@activity.defn(name="CreateDatabase")
async def create_database(tenant: str) -> str:
    return f"db-{tenant}"


@workflow.defn(name="ProvisionTenant")
class ProvisionTenant:
    @workflow.run
    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        database = await workflow.execute_activity(
            create_database, request["tenant"], start_to_close_timeout=timedelta(minutes=5)
        )
        return {**request, "database": database}


SPEC = WorkflowSpec(
    workflow_id="provision-tenant",
    provider_type="temporal",
    name="Provision a tenant",
    definition={"workflow_type": "ProvisionTenant", "task_queue": TASK_QUEUE},
    timeout=timedelta(hours=1),
    retry_policy=RetryPolicy(max_attempts=3),
)


async def provision_on_local_temporal() -> ExecutionStatus:
    async with LocalTemporal() as server:
        # Your worker (normally its own process or deployment).
        client = await Client.connect(server.target)
        worker = Worker(
            client,
            task_queue=TASK_QUEUE,
            workflows=[ProvisionTenant],
            activities=[create_database],
        )
        async with worker:
            # The control plane: a provider given nothing to host never polls.
            registry = Registry()
            registry.register(TemporalProvider(target_host=server.target))
            async with Manager(registry, default_provider="temporal") as manager:
                await manager.create_workflow(SPEC)
                return await manager.run(
                    SPEC.workflow_id,
                    ExecutionInput(input={"tenant": "acme"}, execution_name="acme"),
                    provider_type="temporal",
                )
