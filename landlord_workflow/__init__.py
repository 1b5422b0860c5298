"""landlord-workflow: async orchestration of tenant provisioning on pluggable engines."""

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
    ThrottledError,
    TransientError,
    UnsupportedOperationError,
    WorkflowError,
    WorkflowNotFoundError,
)
from landlord_workflow.provider import (
    Provider,
    SupportsListExecutions,
    SupportsRedrive,
    SupportsWatch,
)
from landlord_workflow.types import (
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

__version__ = "0.1.0.dev0"

__all__ = [
    "CreateWorkflowResult",
    "ExecutionAlreadyExistsError",
    "ExecutionError",
    "ExecutionEvent",
    "ExecutionFailedError",
    "ExecutionInput",
    "ExecutionNotFoundError",
    "ExecutionResult",
    "ExecutionState",
    "ExecutionStatus",
    "InvalidSpecError",
    "OperationTimeoutError",
    "Provider",
    "ProviderConflictError",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderUnavailableError",
    "RetryPolicy",
    "SupportsListExecutions",
    "SupportsRedrive",
    "SupportsWatch",
    "ThrottledError",
    "TransientError",
    "UnsupportedOperationError",
    "WorkflowError",
    "WorkflowNotFoundError",
    "WorkflowSpec",
    "__version__",
]
