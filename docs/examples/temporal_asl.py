"""An Amazon States Language definition on Temporal, with the mock engine's handlers.

The worker process: a TemporalProvider given task handlers hosts the ASL
worker (the interpreter workflow and its Task activity). The control plane:
a Manager whose provider hosts nothing. ``approve_on_local_temporal()`` runs
both on a throwaway dev server: the definition provisions a tenant (a flaky
step its Retry rule recovers), waits for an approval callback, and ends.
"""

from __future__ import annotations

import asyncio
from typing import Any

from landlord_workflow import (
    ExecutionInput,
    ExecutionStatus,
    Manager,
    Registry,
    WorkflowSpec,
)
from landlord_workflow.providers.temporal import TaskContext, TaskFailure, TemporalProvider
from landlord_workflow.testing import LocalTemporal

DEFINITION = {
    "StartAt": "CreateDatabase",
    "States": {
        "CreateDatabase": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:create-database",
            "Retry": [{"ErrorEquals": ["Db.Busy"], "IntervalSeconds": 1, "MaxAttempts": 3}],
            "ResultPath": "$.database",
            "Next": "Approve",
        },
        "Approve": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {
                "QueueUrl": "approvals",
                "MessageBody": {"tenant.$": "$.tenant", "token.$": "$$.Task.Token"},
            },
            "TimeoutSeconds": 3600,
            "ResultPath": "$.approval",
            "End": True,
        },
    },
}
SPEC = WorkflowSpec(
    workflow_id="approve-tenant",
    provider_type="temporal",
    name="Provision and approve a tenant",
    definition=DEFINITION,
)

attempts: list[str] = []
approvals: asyncio.Queue[str] = asyncio.Queue()


async def create_database(task_input: dict[str, Any]) -> str:
    """The Lambda function's stand-in: busy the first time (the Retry rule runs it again)."""
    attempts.append(task_input["tenant"])
    if len(attempts) == 1:
        raise TaskFailure("Db.Busy", "try again")
    return f"db-{task_input['tenant']}"


async def send_for_approval(task_input: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """Stands in for SQS: the approver gets the task token."""
    await approvals.put(task_input["MessageBody"]["token"])
    return {"MessageId": "1"}


HANDLERS = {"create-database": create_database, "sqs:sendMessage": send_for_approval}


async def approve_on_local_temporal() -> ExecutionStatus:
    async with (
        LocalTemporal() as server,
        # The worker (normally its own process): given handlers, it hosts the ASL worker.
        TemporalProvider(target_host=server.target, task_handlers=HANDLERS),
    ):
        # The control plane: a provider given nothing to host never polls.
        registry = Registry()
        registry.register(TemporalProvider(target_host=server.target))
        async with Manager(registry, default_provider="temporal") as manager:
            await manager.create_workflow(SPEC)
            started = await manager.start_execution(
                SPEC.workflow_id,
                ExecutionInput(input={"tenant": "acme"}, execution_name="acme"),
            )
            token = await approvals.get()  # the approver answers the callback
            await manager.send_task_success(token, {"approved_by": "ops"})
            await manager.wait_for_completion(started.execution_id)
            return await manager.get_execution_status(started.execution_id, include_history=True)
