"""Task routing as AWS resolves a ``Resource``, and calling a task handler.

Pure functions both runtimes use (the mock on asyncio, the Temporal
activity): `parse_resource` reads a ``Resource`` (Lambda function
ARN, activity, ``arn:aws:states:::service:action[.sync[:2]|.waitForTaskToken]``,
``aws-sdk:*``); `find_handler` picks a handler from a table keyed by
state name (an override), exact ``Resource`` string, Lambda function name or
ARN, or integration (``service:action``); `call_handler` invokes it
the way AWS invokes the target and shapes the result (``lambda:invoke``
returns ``{"ExecutedVersion", "Payload", "SdkHttpMetadata",
"SdkResponseMetadata", "StatusCode"}``); `missing_handler_error` is the
failure of a resource that does not exist.

A handler is ``async def handler(task_input)`` or ``async def
handler(task_input, context)`` (``context`` is a `TaskContext`). It
fails its task by raising `TaskFailure`; any other exception fails
it with the exception's class name, as Lambda reports a function error.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from typing import Any, Final

from landlord_workflow._asl._errors import DATA_LIMIT_EXCEEDED, RUNTIME, StatesError
from landlord_workflow._asl._runtime import TaskContext, TaskRequest
from landlord_workflow._asl._values import MAX_PAYLOAD_BYTES, compact_json, parse_compact
from landlord_workflow.errors import WorkflowError

__all__ = [
    "Resource",
    "TaskFailure",
    "TaskHandler",
    "call_handler",
    "find_handler",
    "missing_handler_error",
    "parse_resource",
]

TaskHandler = Callable[..., Awaitable[Any]]
"""``async def handler(task_input[, context]) -> result``."""


class TaskFailure(WorkflowError):  # noqa: N818 - public name fixed by the contract
    """Raised by a task handler to fail its task with Step Functions error ``error``.

    ``cause`` becomes the error's cause (what a catcher sees as ``Cause``).
    Retry and Catch rules match ``error`` like any Step Functions error name.
    """

    def __init__(self, error: str, cause: str | None = None) -> None:
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}" if cause else error)


@dataclass(frozen=True, slots=True)
class Resource:
    """A parsed ``Resource``.

    ``kind`` is ``"lambda"`` (a function ARN), ``"activity"``,
    ``"integration"`` (``arn:aws:states:::...``) or ``"plain"`` (any other
    string, a handler key of the mock); ``service``/``action`` name an
    integration (``"sqs"``/``"sendMessage"``, ``"aws-sdk:s3"``/
    ``"listBuckets"``); ``pattern`` is ``""``, ``"sync"``, ``"sync:2"`` or
    ``"waitForTaskToken"``. ``event_prefix`` is how AWS names its history
    events (``LambdaFunction``, ``Activity`` or ``Task``), ``resource_type``
    and ``resource_name`` what those events say.
    """

    text: str
    kind: str
    service: str
    action: str
    pattern: str
    function: str | None

    @property
    def event_prefix(self) -> str:
        if self.kind == "lambda":
            return "LambdaFunction"
        if self.kind == "activity":
            return "Activity"
        return "Task"

    @property
    def resource_type(self) -> str:
        return self.service if self.kind == "integration" else self.kind

    @property
    def resource_name(self) -> str:
        if self.kind != "integration":
            return self.text
        return f"{self.action}.{self.pattern}" if self.pattern else self.action

    @property
    def limit_name(self) -> str:
        """How AWS names the task in a data-limit cause ('lambda', or the ARN)."""
        if self.kind == "integration":
            return self.service.split(":")[-1]
        return self.text

    @property
    def is_start_execution(self) -> bool:
        return (
            self.kind == "integration"
            and self.service == "states"
            and self.action in ("startExecution",)
        )


_LAMBDA_ARN: Final = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)(?::[A-Za-z0-9$_-]+)?"
)
_ACTIVITY_ARN: Final = re.compile(r"arn:aws[a-zA-Z-]*:states:[a-z0-9-]+:\d{12}:activity:.+")
_INTEGRATION: Final = re.compile(r"arn:aws[a-zA-Z-]*:states:[a-z0-9-]*:\d{0,12}:(.+)")
_PATTERNS: Final = ("waitForTaskToken", "sync:2", "sync")


@lru_cache(maxsize=1024)
def parse_resource(text: str) -> Resource:
    """Parse a ``Resource`` string (never fails: unknown forms are ``"plain"``)."""
    match = _LAMBDA_ARN.fullmatch(text)
    if match is not None:
        return Resource(text, "lambda", "lambda", "invoke", "", match.group(1))
    if _ACTIVITY_ARN.fullmatch(text):
        return Resource(text, "activity", "activity", "", "", None)
    match = _INTEGRATION.fullmatch(text)
    if match is not None:
        rest = match.group(1)
        pattern = ""
        for candidate in _PATTERNS:
            if rest.endswith("." + candidate):
                pattern = candidate
                rest = rest[: -len(candidate) - 1]
                break
        if rest.startswith("aws-sdk:"):
            parts = rest.split(":")
            service = ":".join(parts[:2])
            action = ":".join(parts[2:])
        else:
            service, _, action = rest.partition(":")
        return Resource(text, "integration", service, action, pattern, None)
    return Resource(text, "plain", "", "", "", None)


def _function_key(name: str) -> str:
    """The bare function name of a FunctionName (name, partial or full ARN, qualifier)."""
    match = _LAMBDA_ARN.fullmatch(name)
    if match is not None:
        return match.group(1)
    if ":function:" in name:
        return name.split(":function:", 1)[1].split(":", 1)[0]
    return name.split(":", 1)[0]


def find_handler(
    handlers: Mapping[str, TaskHandler], *, state: str, resource: Resource, task_input: Any
) -> TaskHandler | None:
    """The handler for a Task, as AWS would resolve its ``Resource``.

    Looked up, in order: the state name (an override for states that share
    a resource), the exact ``Resource`` string, the Lambda function (its
    full ARN, then its name, for a function ARN ``Resource`` or
    ``lambda:invoke`` with ``FunctionName``), the integration with its
    pattern (``"sqs:sendMessage.waitForTaskToken"``), then without it
    (``"sqs:sendMessage"``, ``"aws-sdk:s3:listBuckets"``).
    """
    handler = handlers.get(state) or handlers.get(resource.text)
    if handler is not None:
        return handler
    function: str | None = resource.function
    if resource.kind == "integration" and resource.service == "lambda":
        name = task_input.get("FunctionName") if isinstance(task_input, Mapping) else None
        if isinstance(name, str):
            handler = handlers.get(name)
            if handler is not None:
                return handler
            function = _function_key(name)
    if function is not None:
        handler = handlers.get(function)
        if handler is not None:
            return handler
    if resource.kind == "integration":
        key = f"{resource.service}:{resource.action}"
        if resource.pattern:
            handler = handlers.get(f"{key}.{resource.pattern}")
            if handler is not None:
                return handler
        return handlers.get(key)
    return None


def missing_handler_error(
    request: TaskRequest,
    resource: Resource,
    request_id: str,
) -> StatesError:
    """How AWS fails a Task whose resource does not exist.

    A bare function name is completed into the ARN AWS prints with the
    region and account of the execution (when its id is an ARN).
    """
    parts = request.context.execution_id.split(":")
    region, account = "us-east-1", "123456789012"
    if len(parts) > 5 and parts[0] == "arn":
        region, account = parts[3] or region, parts[4] or account
    if resource.kind == "lambda" or (
        resource.kind == "integration" and resource.service == "lambda"
    ):
        name = resource.text
        if resource.kind == "integration" and isinstance(request.input, Mapping):
            name = str(request.input.get("FunctionName", ""))
        if _LAMBDA_ARN.fullmatch(name) is None:
            name = f"arn:aws:lambda:{region}:{account}:function:{_function_key(name)}"
        if name.count(":") == 6:
            name += ":$LATEST"
        return StatesError(
            "Lambda.ResourceNotFoundException",
            f"Function not found: {name} (Service: AWSLambda; Status Code: 404; Error Code: "
            f"ResourceNotFoundException; Request ID: {request_id}; Proxy: null)",
        )
    if resource.kind == "activity":
        return StatesError(RUNTIME, f"The activity {resource.text} does not exist.")
    return StatesError(
        "States.TaskFailed",
        f"No task handler for the resource '{resource.text}' (state '{request.state}'): "
        "nothing would run it.",
    )


@lru_cache(maxsize=1024)
def _accepts_context(handler: TaskHandler) -> bool:
    try:
        parameters = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return True
    return len(positional) >= 2


async def call_handler(
    handler: TaskHandler,
    request: TaskRequest,
    resource: Resource,
    *,
    request_id: str,
    now: datetime | None = None,
    max_payload_bytes: int = MAX_PAYLOAD_BYTES,
) -> Any:
    """Invoke ``handler`` for ``request``; the task's result, or `StatesError`.

    The handler receives a private copy of the input (it may modify it);
    for ``lambda:invoke`` the function receives ``Payload`` as Lambda does
    (absent or null: ``{}``; a string holding JSON: that JSON). ``now``
    dates the integration's HTTP metadata.
    A Lambda target's error is reported as Lambda reports it (error = the
    exception's class name, cause = ``{"errorMessage", "errorType"}`` JSON);
    a result that is not JSON (NaN, Infinity, objects) fails with
    ``States.Runtime``; a result over the payload limit fails with
    ``States.DataLimitExceeded`` (a task failure: Catch can handle it).
    """
    task_input = parse_compact(compact_json(request.input))
    lambda_target = resource.kind == "lambda" or (
        resource.kind == "integration" and resource.service == "lambda"
    )
    if lambda_target and resource.kind == "integration" and isinstance(task_input, Mapping):
        payload = _invoke_payload(task_input.get("Payload"))
    else:
        payload = task_input
    try:
        try:
            with_context = _accepts_context(handler)
        except TypeError:  # an unhashable callable object
            with_context = _accepts_context.__wrapped__(handler)
        if with_context:
            result = await handler(payload, request.context)
        else:
            result = await handler(payload)
    except TaskFailure as failure:
        raise StatesError(failure.error, failure.cause) from None
    except StatesError:
        raise
    except Exception as exc:  # a handler error is a task error, as Lambda reports it
        name = type(exc).__name__
        if lambda_target:
            trace = getattr(exc, "stack_trace", None)
            if not isinstance(trace, list):
                trace = traceback.format_tb(exc.__traceback__)
            error = {
                "errorMessage": str(exc),
                "errorType": name,
                "requestId": request_id,
                "stackTrace": trace,
            }
            # The legacy Lambda task shows the function's error as the Python runtime
            # printed it; the lambda:invoke integration re-serialises it compactly.
            cause = json.dumps(error) if resource.kind == "lambda" else compact_json(error)
        else:
            cause = str(exc)
        raise StatesError(name, cause) from None
    try:
        text = compact_json(result)
    except (TypeError, ValueError) as exc:
        raise StatesError(
            RUNTIME,
            f"The task handler for the resource '{resource.text}' returned a value that is "
            f"not JSON: {exc}",
        ) from None
    if resource.kind == "integration" and resource.service == "lambda":
        shape = _lambda_invoke_shape(json.loads(text), request_id, now)
        if isinstance(task_input, Mapping) and task_input.get("LogType") == "Tail":
            shape = _with_log_tail(shape, request_id)
        text = compact_json(shape)
    size = len(text) if text.isascii() else len(text.encode())
    if size > max_payload_bytes:
        raise StatesError(
            DATA_LIMIT_EXCEEDED,
            f"The state/task '{resource.limit_name}' returned a result with a size exceeding "
            "the maximum number of bytes service limit.",
        )
    return parse_compact(text)


def _with_log_tail(shape: dict[str, Any], request_id: str) -> dict[str, Any]:
    """``LogType: Tail``: the end of the (simulated) function log, base64, as Lambda adds it."""
    log = (
        f"START RequestId: {request_id} Version: $LATEST\n"
        f"END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: 1.00 ms\n"
    )
    tail = base64.b64encode(log.encode()).decode("ascii")
    metadata = shape["SdkHttpMetadata"]
    metadata["AllHttpHeaders"] = {"X-Amz-Log-Result": [tail], **metadata["AllHttpHeaders"]}
    metadata["HttpHeaders"] = {**metadata["HttpHeaders"], "X-Amz-Log-Result": tail}
    return {"ExecutedVersion": shape["ExecutedVersion"], "LogResult": tail, **shape}


def _invoke_payload(payload: Any) -> Any:
    if payload is None:
        return {}
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            return payload
    return payload


def _lambda_invoke_shape(payload: Any, request_id: str, now: datetime | None) -> dict[str, Any]:
    # The body as the function's runtime wrote it (Python's json.dumps).
    length = str(len(json.dumps(payload)))
    date = format_datetime(now or datetime(1970, 1, 1, tzinfo=UTC), usegmt=True)
    trace = f"Root=1-{request_id.replace('-', '')[:8]}-{request_id.replace('-', '')[8:32]}"
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": ["$LATEST"],
                "x-amzn-Remapped-Content-Length": ["0"],
                "Connection": ["keep-alive"],
                "x-amzn-RequestId": [request_id],
                "Content-Length": [length],
                "Date": [date],
                "X-Amzn-Trace-Id": [trace],
                "Content-Type": ["application/json"],
            },
            "HttpHeaders": {
                "Connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/json",
                "Date": date,
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-Remapped-Content-Length": "0",
                "x-amzn-RequestId": request_id,
                "X-Amzn-Trace-Id": trace,
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


def task_context(
    *,
    execution_id: str,
    execution_name: str,
    state: str,
    retry_count: int,
    task_token: str | None,
    context_object: Mapping[str, Any],
) -> TaskContext:
    """Build the context a handler may receive."""
    return TaskContext(
        execution_id=execution_id,
        execution_name=execution_name,
        state_name=state,
        retry_count=retry_count,
        task_token=task_token,
        context_object=context_object,
    )
