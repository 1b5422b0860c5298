"""The mock engine: Amazon States Language workflows simulated on asyncio.

`MockProvider` runs each execution as an asyncio task on the
engine-neutral ASL interpreter core (the same core a Temporal workflow runs),
so the same definition behaves the same on the mock, on Step Functions and
on Temporal: every state type (Pass, Task, Choice, Wait, Succeed, Fail,
Parallel, Map inline and distributed), JSONPath and JSONata, variables,
every intrinsic function, Retry/Catch, timeouts and heartbeats,
``.waitForTaskToken`` callbacks (`MockProvider.send_task_success`...),
nested executions, with AWS's error names, causes and limits. Only what
needs real AWS resources (an S3 ``ItemReader`` without an ``item_reader``)
cannot run.

Task handlers are routed as AWS resolves a ``Resource`` (see
`MockProvider`); a handler fails its task by raising
`TaskFailure`, and may take a second argument, the
`TaskContext` (state name, task token, retry count, execution id).
"""

from landlord_workflow._asl import TaskContext, TaskFailure, TaskHandler
from landlord_workflow._limits import MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES
from landlord_workflow.providers.mock._clock import Clock, RealClock, VirtualClock
from landlord_workflow.providers.mock._engine import NO_ERROR_CODE, MockProvider
from landlord_workflow.providers.mock._faults import Faults

__all__ = [
    "MAX_HISTORY_EVENTS",
    "MAX_PAYLOAD_BYTES",
    "NO_ERROR_CODE",
    "Clock",
    "Faults",
    "MockProvider",
    "RealClock",
    "TaskContext",
    "TaskFailure",
    "TaskHandler",
    "VirtualClock",
]
