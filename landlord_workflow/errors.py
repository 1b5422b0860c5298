"""The exception tree of landlord-workflow.

Every exception the library raises derives from
[`WorkflowError`][landlord_workflow.errors.WorkflowError].
Engine exceptions (botocore, asyncio, ...) never leak: providers map them onto
this tree and chain the original as ``__cause__``.

::

    WorkflowError
    ├── ProviderNotFoundError
    ├── ProviderConflictError
    ├── InvalidSpecError            (.problems: list of (field, message))
    ├── WorkflowNotFoundError
    ├── ExecutionNotFoundError
    ├── ExecutionAlreadyExistsError (.execution_id)
    ├── ExecutionFailedError        (.status)
    ├── TaskTokenError              (.task_token)
    ├── UnsupportedOperationError
    ├── ProviderError               permanent engine error, never retried
    ├── OperationTimeoutError       also a built-in TimeoutError
    └── TransientError              retried by the Manager's CallPolicy
        ├── ThrottledError
        └── ProviderUnavailableError
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from landlord_workflow._types import ExecutionStatus

__all__ = [
    "ExecutionAlreadyExistsError",
    "ExecutionFailedError",
    "ExecutionNotFoundError",
    "InvalidSpecError",
    "OperationTimeoutError",
    "ProviderConflictError",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderUnavailableError",
    "TaskTokenError",
    "ThrottledError",
    "TransientError",
    "UnsupportedOperationError",
    "WorkflowError",
    "WorkflowNotFoundError",
]


class WorkflowError(Exception):
    """Root of every error raised by landlord-workflow."""


class ProviderNotFoundError(WorkflowError):
    """No provider is registered under the requested name."""

    def __init__(self, name: str, available: Iterable[str] = (), detail: str = "") -> None:
        self.name = name
        self.available = sorted(available)
        known = ", ".join(self.available) or "none"
        message = detail or f"no provider named {name!r} is registered"
        super().__init__(f"{message} (registered: {known})")


class ProviderConflictError(WorkflowError):
    """A provider with the same name is already registered."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"a provider named {name!r} is already registered")


class InvalidSpecError(WorkflowError, ValueError):
    """A spec, input or definition is invalid (also a built-in ``ValueError``).

    ``problems`` lists every problem found as ``(field, message)`` pairs, where
    ``field`` is a dotted path such as ``"retry_policy.backoff_rate"`` or
    ``"definition.States.Deploy.Next"``.
    """

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems: list[tuple[str, str]] = list(problems)
        if not self.problems:
            raise ValueError("InvalidSpecError needs at least one problem")
        lines = "; ".join(f"{field}: {message}" for field, message in self.problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''}: {lines}")

    @classmethod
    def single(cls, field: str, message: str) -> InvalidSpecError:
        """Build an error holding exactly one problem."""
        return cls([(field, message)])


class WorkflowNotFoundError(WorkflowError):
    """The workflow (state machine, definition) does not exist."""

    def __init__(self, workflow_id: str) -> None:
        self.workflow_id = workflow_id
        super().__init__(f"workflow {workflow_id!r} does not exist")


class ExecutionNotFoundError(WorkflowError):
    """The execution does not exist (or is no longer retained)."""

    def __init__(self, execution_id: str) -> None:
        self.execution_id = execution_id
        super().__init__(f"execution {execution_id!r} does not exist")


class ExecutionAlreadyExistsError(WorkflowError):
    """An execution with that name exists and is closed or has other input.

    ``execution_id`` names the existing execution (so a caller can look at
    it), ``execution_name`` the name that was asked for.
    """

    def __init__(self, execution_name: str, detail: str = "", *, execution_id: str) -> None:
        self.execution_name = execution_name
        self.execution_id = execution_id
        suffix = f": {detail}" if detail else ""
        super().__init__(f"execution {execution_name!r} already exists{suffix}")


class ExecutionFailedError(WorkflowError):
    """An execution ended in a state other than ``succeeded``.

    ``status`` is the final [`ExecutionStatus`][landlord_workflow.ExecutionStatus].
    """

    def __init__(self, status: ExecutionStatus) -> None:
        self.status = status
        where = ""
        if status.error is not None:
            where = f" ({status.error.code}"
            if status.error.failed_at:
                where += f" at {status.error.failed_at}"
            where += ")"
        super().__init__(f"execution {status.execution_id!r} ended {status.state.value}{where}")


class TaskTokenError(WorkflowError):
    """A task token is unknown, or its task has already closed or timed out."""

    def __init__(self, task_token: str, detail: str = "") -> None:
        self.task_token = task_token
        shown = task_token if len(task_token) <= 40 else task_token[:37] + "..."
        suffix = f": {detail}" if detail else ""
        super().__init__(f"task token {shown!r} cannot be answered{suffix}")


class UnsupportedOperationError(WorkflowError):
    """The provider lacks the optional capability the operation needs."""

    def __init__(self, provider: str, operation: str) -> None:
        self.provider = provider
        self.operation = operation
        super().__init__(f"provider {provider!r} does not support {operation}")


class ProviderError(WorkflowError):
    """A permanent error reported by the engine; retrying will not help."""


class OperationTimeoutError(WorkflowError, TimeoutError):
    """An operation did not finish in time (per-attempt timeout, deadline or wait)."""


class TransientError(WorkflowError):
    """A temporary engine error; the Manager retries these under its CallPolicy."""


class ThrottledError(TransientError):
    """The engine asked us to slow down."""


class ProviderUnavailableError(TransientError):
    """The engine could not be reached or answered with a server error."""
