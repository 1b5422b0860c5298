"""The engine-neutral Amazon States Language interpreter core (private).

``compile_definition(definition) -> Machine`` validates a definition as AWS
does at create time; `Execution` runs a `Machine` on any
`Runtime` (the mock's asyncio runtime, a Temporal workflow) and
reports AWS's history events to a `Recorder`. `.structure`
holds the structure checks every ASL engine shares (the Step Functions
adapter uses them before anything reaches AWS).
"""

from landlord_workflow._asl._compiler import compile_definition
from landlord_workflow._asl._errors import StatesError, error_matches
from landlord_workflow._asl._interpreter import HISTORY_LIMIT, Execution, Outcome
from landlord_workflow._asl._model import Machine, State
from landlord_workflow._asl._routing import (
    Resource,
    TaskFailure,
    TaskHandler,
    call_handler,
    find_handler,
    missing_handler_error,
    parse_resource,
)
from landlord_workflow._asl._runtime import (
    ChildExecution,
    ExecutionInfo,
    Recorder,
    Runtime,
    TaskContext,
    TaskRequest,
)
from landlord_workflow._asl._values import MAX_PAYLOAD_BYTES

__all__ = [
    "HISTORY_LIMIT",
    "MAX_PAYLOAD_BYTES",
    "ChildExecution",
    "Execution",
    "ExecutionInfo",
    "Machine",
    "Outcome",
    "Recorder",
    "Resource",
    "Runtime",
    "State",
    "StatesError",
    "TaskContext",
    "TaskFailure",
    "TaskHandler",
    "TaskRequest",
    "call_handler",
    "compile_definition",
    "error_matches",
    "find_handler",
    "missing_handler_error",
    "parse_resource",
]
