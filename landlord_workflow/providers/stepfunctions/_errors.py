"""Map botocore exceptions onto the landlord-workflow error tree.

``ClientError`` codes follow the table in the Step Functions design notes;
connection trouble, read/connect timeouts and HTTP 5xx are
[`ProviderUnavailableError`][landlord_workflow.errors.ProviderUnavailableError]; throttling is
[`ThrottledError`][landlord_workflow.errors.ThrottledError]; everything else permanent
is [`ProviderError`][landlord_workflow.errors.ProviderError]. The original exception
is always chained as ``__cause__``. Messages carry the error code and the
engine's message, never request payloads or credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from landlord_workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    InvalidSpecError,
    ProviderError,
    ProviderUnavailableError,
    TaskTokenError,
    ThrottledError,
    WorkflowError,
    WorkflowNotFoundError,
)

__all__ = [
    "ErrorContext",
    "client_error_code",
    "http_status",
    "map_botocore_error",
    "map_client_error",
    "translate_errors",
]

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        # The account's limit of open executions; it frees up as executions end.
        "ExecutionLimitExceeded",
    }
)
UNAVAILABLE_CODES = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "InternalServerException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
INVALID_CODES: dict[str, str] = {
    # code -> the field of our API the engine complained about
    "InvalidDefinition": "definition",
    "InvalidName": "name",
    "InvalidArn": "arn",
    "InvalidExecutionInput": "input",
    "ValidationException": "request",
    "MissingRequiredParameter": "request",
    "InvalidLoggingConfiguration": "provider_config",
    "InvalidTracingConfiguration": "provider_config",
    "StateMachineTypeNotSupported": "provider_config",
    "TooManyTags": "tags",
}
TASK_TOKEN_CODES = frozenset({"TaskDoesNotExist", "TaskTimedOut", "InvalidToken", "InvalidOutput"})
"""SendTask* answers about the token itself: it is unknown, closed, timed out or malformed."""

_EMPTY_CODE_INVALID_OPERATIONS = frozenset(
    {"CreateStateMachine", "UpdateStateMachine", "StartExecution"}
)
_HTTP_TOO_MANY_REQUESTS = 429
_HTTP_SERVER_ERROR = 500
_HTTP_BAD_REQUEST = 400


class ErrorContext:
    """What a failing call was about, to build precise errors."""

    __slots__ = ("execution_id", "execution_name", "operation", "task_token", "workflow_id")

    def __init__(
        self,
        operation: str,
        *,
        workflow_id: str | None = None,
        execution_id: str | None = None,
        execution_name: str | None = None,
        task_token: str | None = None,
    ) -> None:
        self.operation = operation
        self.task_token = task_token
        self.workflow_id = workflow_id
        self.execution_id = execution_id
        self.execution_name = execution_name


def client_error_code(exc: ClientError) -> str:
    """The service error code of ``exc`` (``""`` when the engine sent none)."""
    error: Any = exc.response.get("Error", {})
    code = error.get("Code", "") if isinstance(error, dict) else ""
    return str(code or "")


def http_status(exc: ClientError) -> int | None:
    """The HTTP status of the answer behind ``exc``, when known."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


def _message(exc: ClientError) -> str:
    error: Any = exc.response.get("Error", {})
    message = error.get("Message", "") if isinstance(error, dict) else ""
    return str(message or "")


def map_client_error(exc: ClientError, context: ErrorContext) -> WorkflowError:
    """The landlord-workflow error for a botocore ``ClientError``."""
    code = client_error_code(exc)
    status = http_status(exc)
    message = _message(exc)
    where = f"Step Functions {context.operation}"
    detail = f"{where} failed: {code or 'no error code'}"
    if message:
        detail += f": {message}"

    if code == "StateMachineDoesNotExist":
        return WorkflowNotFoundError(context.workflow_id or "<unknown>")
    if code == "ExecutionDoesNotExist":
        return ExecutionNotFoundError(context.execution_id or "<unknown>")
    if code == "ExecutionAlreadyExists":
        return ExecutionAlreadyExistsError(
            context.execution_name or "<unknown>",
            message,
            execution_id=context.execution_id or "<unknown>",
        )
    if code in TASK_TOKEN_CODES:
        return TaskTokenError(context.task_token or "<unknown>", f"{code}: {message}")
    if code == "StateMachineDeleting":
        if context.operation == "CreateStateMachine":
            # The old machine of that name is still being deleted; it will go.
            return ProviderUnavailableError(detail)
        return WorkflowNotFoundError(context.workflow_id or "<unknown>")
    if code == "ExecutionNotRedrivable":
        return ProviderError(
            f"execution {context.execution_id!r} cannot be redriven"
            f"{': ' + message if message else ''} (only FAILED, ABORTED or TIMED_OUT "
            "standard executions closed less than 14 days ago can be redriven)"
        )
    if code in THROTTLING_CODES or status == _HTTP_TOO_MANY_REQUESTS:
        return ThrottledError(detail)
    if code in UNAVAILABLE_CODES or (status is not None and status >= _HTTP_SERVER_ERROR):
        return ProviderUnavailableError(detail)
    if code in INVALID_CODES:
        return InvalidSpecError.single(
            INVALID_CODES[code], f"rejected by Step Functions: {code}: {message}"
        )
    if (
        not code
        and status == _HTTP_BAD_REQUEST
        and context.operation in _EMPTY_CODE_INVALID_OPERATIONS
    ):
        # moto answers invalid definitions and inputs with a bare 400.
        field = "input" if context.operation == "StartExecution" else "definition"
        return InvalidSpecError.single(field, f"rejected by Step Functions: {message or 'invalid'}")
    # AccessDenied*, KMS errors, quota errors, unknown codes: permanent.
    return ProviderError(detail)


def map_botocore_error(exc: BotoCoreError, context: ErrorContext) -> WorkflowError:
    """The landlord-workflow error for a botocore error that is not a ``ClientError``."""
    detail = f"Step Functions {context.operation} failed: {type(exc).__name__}: {exc}"
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        # EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError,
        # ReadTimeoutError, proxy trouble: the engine may come back.
        return ProviderUnavailableError(detail)
    # NoCredentialsError, NoRegionError, ParamValidationError, ...: configuration.
    return ProviderError(detail)


@contextmanager
def translate_errors(context: ErrorContext) -> Iterator[None]:
    """Re-raise botocore exceptions from the block as landlord-workflow errors."""
    try:
        yield
    except ClientError as exc:
        raise map_client_error(exc, context) from exc
    except BotoCoreError as exc:
        raise map_botocore_error(exc, context) from exc
