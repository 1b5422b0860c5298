"""The activities of the ASL workflow: run one Task with the task handlers, resolve a
nested execution's definition.

`AslActivities` is bound to the provider that hosts the worker (its
``task_handlers``, its echo setting and its client). ``run_task``
(``landlord-workflow-asl-task``) routes the Task with the core's routing
helpers and calls the handler exactly as the mock engine does
(`landlord_workflow._asl.call_handler`), so the same handlers give the same
results, errors and causes on both engines. An ASL error leaves the
activity as a non-retryable ``ApplicationError`` whose details carry the
error, the cause and whether it is terminal; the workflow turns it back
into the same `StatesError`. While the handler runs, the activity
heartbeats, so only a worker that stopped misses the heartbeat timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from landlord_workflow._asl import (
    MAX_PAYLOAD_BYTES,
    StatesError,
    TaskContext,
    TaskHandler,
    TaskRequest,
    call_handler,
    find_handler,
    missing_handler_error,
    parse_resource,
)
from landlord_workflow._asl._errors import TASK_FAILED
from landlord_workflow.providers.temporal._asl_wire import (
    RESOLVE_ACTIVITY,
    STATES_ERROR_KEY,
    TASK_ACTIVITY,
    WORKER_SHUTDOWN_CAUSE,
    YIELD_ACTIVITY,
)

__all__ = ["AslActivities", "states_failure"]

Resolver = Callable[[str, str], Awaitable[Mapping[str, Any]]]
"""``async def resolve(workflow_id, state_machine_arn) -> {"kind", ...}`` (raises StatesError)."""

_MAX_BEAT_SECONDS = 10.0
_MIN_BEAT_SECONDS = 0.05


def states_failure(err: StatesError) -> ApplicationError:
    """The activity failure carrying ``err`` (never retried by Temporal).

    Benign: a Task that fails is an outcome of the workflow, not a fault of
    the worker, so temporalio logs it at DEBUG only.
    """
    details = {
        STATES_ERROR_KEY: True,
        "error": err.error,
        "cause": err.cause,
        "terminal": err.terminal,
    }
    return ApplicationError(
        str(err),
        details,
        type=err.error or "",
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,
    )


class AslActivities:
    """The activities one worker runs for ASL workflows."""

    def __init__(
        self,
        *,
        task_handlers: Mapping[str, TaskHandler],
        resolve: Resolver,
        echo_unknown_tasks: bool = False,
        default_task_seconds: float = 0.0,
    ) -> None:
        self._handlers = task_handlers
        self._resolve = resolve
        self._echo = echo_unknown_tasks
        self._default_task_seconds = default_task_seconds

    @property
    def definitions(self) -> list[Callable[..., Any]]:
        """The activity functions to register on a worker."""
        return [self.run_task, self.resolve, pause]

    @activity.defn(name=TASK_ACTIVITY)
    async def run_task(self, payload: dict[str, Any]) -> Any:
        """Run one Task state: its handler's (shaped) result, or its ASL error."""
        context = payload["context"]
        request = TaskRequest(
            resource=payload["resource"],
            state=payload["state"],
            input=payload["input"],
            context=TaskContext(
                execution_id=context["execution_id"],
                execution_name=context["execution_name"],
                state_name=context["state_name"],
                retry_count=context["retry_count"],
                task_token=context.get("task_token"),
                context_object=context.get("context_object") or {},
            ),
            timeout_seconds=payload.get("timeout_seconds"),
            heartbeat_seconds=payload.get("heartbeat_seconds"),
            task_token=payload.get("task_token"),
            credentials=payload.get("credentials"),
        )
        beating = asyncio.get_running_loop().create_task(_heartbeat())
        try:
            return await self._invoke(request, payload)
        except StatesError as err:
            raise states_failure(err) from None
        except asyncio.CancelledError:
            raise _cancelled() from None
        finally:
            beating.cancel()
            await asyncio.gather(beating, return_exceptions=True)

    async def _invoke(self, request: TaskRequest, payload: Mapping[str, Any]) -> Any:
        resource = parse_resource(request.resource)
        handler = find_handler(
            self._handlers, state=request.state, resource=resource, task_input=request.input
        )
        request_id = str(payload.get("request_id", ""))
        if handler is None:
            if not self._echo:
                raise missing_handler_error(request, resource, request_id)
            if self._default_task_seconds > 0:
                await asyncio.sleep(self._default_task_seconds)
            return request.input
        now = payload.get("now")
        return await call_handler(
            handler,
            request,
            resource,
            request_id=request_id,
            now=datetime.fromisoformat(now) if isinstance(now, str) else None,
            max_payload_bytes=int(payload.get("max_payload_bytes", MAX_PAYLOAD_BYTES)),
        )

    @activity.defn(name=RESOLVE_ACTIVITY)
    async def resolve(self, payload: dict[str, Any]) -> Mapping[str, Any]:
        """What a nested ``startExecution`` starts: the target workflow's definition."""
        try:
            return await self._resolve(
                str(payload["workflow_id"]), str(payload.get("state_machine_arn", ""))
            )
        except StatesError as err:
            raise states_failure(err) from None


@activity.defn(name=YIELD_ACTIVITY)
async def pause() -> None:
    """Nothing (run as a local activity: the workflow's way to end a long activation)."""


def _cancelled() -> BaseException:
    """What a cancelled Task reports, by why it was cancelled.

    Cancelled at the workflow's request (a stop): cancelled. The worker
    shutting down: the Task fails (its Retry rules decide what next). Timed
    out, or its execution gone: nobody waits for the answer any more, so it
    ends quietly (a benign failure, not a warning with a traceback).
    """
    details = activity.cancellation_details()
    if details is not None and details.worker_shutdown and not details.cancel_requested:
        return states_failure(StatesError(TASK_FAILED, WORKER_SHUTDOWN_CAUSE))
    if details is not None and (details.timed_out or details.not_found):
        return ApplicationError(
            "the task is no longer awaited (it timed out, or its execution ended)",
            type="Abandoned",
            non_retryable=True,
            category=ApplicationErrorCategory.BENIGN,
        )
    return asyncio.CancelledError()


async def _heartbeat() -> None:
    """Heartbeat while the handler runs (temporalio batches what it sends)."""
    timeout = activity.info().heartbeat_timeout
    if timeout is None:
        return
    interval = min(max(timeout.total_seconds() / 4, _MIN_BEAT_SECONDS), _MAX_BEAT_SECONDS)
    while True:
        activity.heartbeat()
        await asyncio.sleep(interval)
