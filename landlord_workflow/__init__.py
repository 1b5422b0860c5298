"""landlord-workflow: async orchestration of tenant provisioning on pluggable engines.

This module is the public API. Engines live in ``landlord_workflow.providers.*``
(`MockProvider`, `StepFunctionsProvider`, `TemporalProvider`), errors in
`landlord_workflow.errors` (also exported here), the JSON codec in
`landlord_workflow.codec`, what your tests import in `landlord_workflow.testing`.
"""

from landlord_workflow._instrumentation import (
    CallDetails,
    CallStart,
    ExecutionOutcome,
    Hook,
    LatencySummary,
    MetricsCollector,
    ScopedHook,
)
from landlord_workflow._manager import Manager
from landlord_workflow._policies import CallPolicy, PollPolicy
from landlord_workflow._provider import (
    Provider,
    SupportsListExecutions,
    SupportsListWorkflows,
    SupportsPollPolicy,
    SupportsRedrive,
    SupportsTaskTokens,
    SupportsWatch,
)
from landlord_workflow._registry import Registry
from landlord_workflow._types import (
    CreateWorkflowResult,
    ExecutionError,
    ExecutionEvent,
    ExecutionInput,
    ExecutionResult,
    ExecutionState,
    ExecutionStatus,
    RetryPolicy,
    WorkflowSpec,
)
from landlord_workflow.cli._config import WorkflowConfig
from landlord_workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionFailedError,
    ExecutionNotFoundError,
    InvalidSpecError,
    OperationTimeoutError,
    ProviderConflictError,
    ProviderError,
    ProviderNotFoundError,
    ProviderUnavailableError,
    TaskTokenError,
    ThrottledError,
    TransientError,
    UnsupportedOperationError,
    WorkflowError,
    WorkflowNotFoundError,
)

__version__ = "0.2.0.dev0"

__all__ = [
    "CallDetails",
    "CallPolicy",
    "CallStart",
    "CreateWorkflowResult",
    "ExecutionAlreadyExistsError",
    "ExecutionError",
    "ExecutionEvent",
    "ExecutionFailedError",
    "ExecutionInput",
    "ExecutionNotFoundError",
    "ExecutionOutcome",
    "ExecutionResult",
    "ExecutionState",
    "ExecutionStatus",
    "Hook",
    "InvalidSpecError",
    "LatencySummary",
    "Manager",
    "MetricsCollector",
    "OperationTimeoutError",
    "PollPolicy",
    "Provider",
    "ProviderConflictError",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderUnavailableError",
    "Registry",
    "RetryPolicy",
    "ScopedHook",
    "SupportsListExecutions",
    "SupportsListWorkflows",
    "SupportsPollPolicy",
    "SupportsRedrive",
    "SupportsTaskTokens",
    "SupportsWatch",
    "TaskTokenError",
    "ThrottledError",
    "TransientError",
    "UnsupportedOperationError",
    "WorkflowConfig",
    "WorkflowError",
    "WorkflowNotFoundError",
    "WorkflowSpec",
    "__version__",
]
