"""Map Temporal RPC errors onto the landlord-workflow error tree.

* ``RESOURCE_EXHAUSTED``: :class:`~landlord_workflow.errors.ThrottledError`;
* ``UNAVAILABLE``, ``DEADLINE_EXCEEDED``, ``ABORTED``, ``INTERNAL``,
  ``CANCELLED``, no connection, a call past its deadline:
  :class:`~landlord_workflow.errors.ProviderUnavailableError`;
* ``NOT_FOUND``: :class:`~landlord_workflow.errors.ExecutionNotFoundError` or
  :class:`~landlord_workflow.errors.WorkflowNotFoundError` (by what the call
  was about; a missing namespace is a
  :class:`~landlord_workflow.errors.ProviderError`);
* ``INVALID_ARGUMENT``: :class:`~landlord_workflow.errors.InvalidSpecError`;
* ``ALREADY_EXISTS``: :class:`~landlord_workflow.errors.ExecutionAlreadyExistsError`;
* anything else: :class:`~landlord_workflow.errors.ProviderError`.

``INTERNAL`` and ``ABORTED`` count as unavailable for the same reason HTTP
5xx does on Step Functions: the server failed, not the request. The
original exception is always chained as ``__cause__``; messages carry the
status and the server's message, never payloads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.service import RPCError, RPCStatusCode

from landlord_workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    InvalidSpecError,
    ProviderError,
    ProviderUnavailableError,
    ThrottledError,
    WorkflowError,
    WorkflowNotFoundError,
)

__all__ = ["RpcContext", "map_rpc_error", "translate_errors"]

_UNAVAILABLE = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.CANCELLED,
    }
)
_CONNECT_FAILURE = "Failed client connect"


class RpcContext:
    """What a failing call was about, to build precise errors."""

    __slots__ = ("execution_id", "execution_name", "operation", "workflow_id")

    def __init__(
        self,
        operation: str,
        *,
        workflow_id: str | None = None,
        execution_id: str | None = None,
        execution_name: str | None = None,
    ) -> None:
        self.operation = operation
        self.workflow_id = workflow_id
        self.execution_id = execution_id
        self.execution_name = execution_name


def map_rpc_error(exc: RPCError, context: RpcContext) -> WorkflowError:
    """The landlord-workflow error for a temporalio ``RPCError``."""
    status = exc.status
    detail = f"Temporal {context.operation} failed: {status.name}"
    if exc.message:
        detail += f": {exc.message}"
    if status is RPCStatusCode.RESOURCE_EXHAUSTED:
        return ThrottledError(detail)
    if status in _UNAVAILABLE:
        return ProviderUnavailableError(detail)
    if status is RPCStatusCode.NOT_FOUND:
        if _is_namespace_not_found(exc):
            return ProviderError(detail)
        if context.execution_id is not None:
            return ExecutionNotFoundError(context.execution_id)
        if context.workflow_id is not None:
            return WorkflowNotFoundError(context.workflow_id)
        return ProviderError(detail)
    if status is RPCStatusCode.INVALID_ARGUMENT:
        return InvalidSpecError.single("request", detail)
    if status is RPCStatusCode.ALREADY_EXISTS:
        return ExecutionAlreadyExistsError(
            context.execution_name or "<unknown>",
            detail,
            execution_id=context.execution_id or "<unknown>",
        )
    return ProviderError(detail)


def _is_namespace_not_found(exc: RPCError) -> bool:
    try:
        details = exc.grpc_status.details
    except Exception:  # an undecodable status: judge by the code alone
        return False
    return any(detail.type_url.endswith(".NamespaceNotFoundFailure") for detail in details)


@contextmanager
def translate_errors(context: RpcContext) -> Iterator[RpcContext]:
    """Re-raise Temporal and connection errors as landlord-workflow errors (chained)."""
    try:
        yield context
    except WorkflowError:
        raise
    except RPCError as exc:
        raise map_rpc_error(exc, context) from exc
    except RuntimeError as exc:
        if str(exc).startswith(_CONNECT_FAILURE):
            raise ProviderUnavailableError(
                f"Temporal {context.operation} failed: cannot connect: {exc}"
            ) from exc
        raise
    except TimeoutError as exc:
        raise ProviderUnavailableError(f"Temporal {context.operation} timed out") from exc
