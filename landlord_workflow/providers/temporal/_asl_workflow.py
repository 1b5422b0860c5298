"""Amazon States Language on Temporal: the built-in interpreter workflow.

`AslWorkflow` (type ``landlord-workflow-asl``) runs one execution of an ASL
definition with the engine-neutral interpreter core, through
`TemporalRuntime`, a `landlord_workflow._asl.Runtime` made of Temporal's
deterministic workflow APIs:

* time is workflow time (``workflow.now()``); Wait states and retry
  intervals are durable timers; ``sleep(0)`` between two states is a plain
  yield to the workflow's event loop (no timer, no history event);
* randomness (``States.UUID``, ``States.MathRandom``, JSONata ``$random``/
  ``$uuid``, retry jitter, task tokens) comes from the workflow's
  deterministic random source, or from a seeded one when the provider was
  given ``random_seed``;
* each Task is one activity (``landlord-workflow-asl-task``) that calls the
  same task handlers the mock engine uses, routed by the core's routing
  helpers; the activity is tried once (Retry rules are the core's), with a
  start-to-close timeout of the state's ``TimeoutSeconds`` and a heartbeat
  timeout of its ``HeartbeatSeconds`` (or a liveness timeout), so a worker
  that dies mid-task is noticed and the Task fails with ``States.Timeout``
  (a missed heartbeat, which ``States.HeartbeatTimeout`` catchers match) as
  on the mock;
* ``.waitForTaskToken`` waits for the signal ``landlord-workflow-asl-callback``;
  open tokens are listed in the run's memo so the provider can refuse an
  unknown or closed token at once;
* Parallel branches and Map iterations run as concurrent asyncio tasks of
  the workflow; a nested ``states:startExecution`` and each item of a
  distributed Map run as child workflows;
* the state-level history the core records (normalised to the contract's
  event types) is read with the query ``landlord-workflow-asl-history``, the
  checkpoint a redrive resumes from with ``landlord-workflow-asl-checkpoint``
  (a failed run also carries it in its failure details).

This module is imported fresh by Temporal's workflow sandbox for each run;
the interpreter core, jlens and the wire module are passed through (they are
deterministic and import once per process).
"""

from __future__ import annotations

import asyncio
import json
import uuid as uuid_module
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ApplicationErrorCategory,
    ChildWorkflowError,
    FailureError,
    TemporalError,
    TimeoutType,
    WorkflowAlreadyStartedError,
)
from temporalio.exceptions import CancelledError as TemporalCancelledError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from landlord_workflow._asl import (
        ChildExecution,
        Execution,
        ExecutionInfo,
        StatesError,
        TaskRequest,
    )
    from landlord_workflow._asl._errors import HEARTBEAT_TIMEOUT, RUNTIME, TASK_FAILED, TIMEOUT
    from landlord_workflow._asl._history import contract_event
    from landlord_workflow._asl._values import compact_json, payload_size
    from landlord_workflow._jobs import run_all
    from landlord_workflow.providers.temporal._asl_wire import (
        CALLBACK_SIGNAL,
        CHECKPOINT_QUERY,
        DEFAULT_TASK_TIMEOUT_SECONDS,
        FAILURE_KEY,
        HISTORY_QUERY,
        LIVENESS_CAUSE,
        RESOLVE_ACTIVITY,
        STATES_ERROR_KEY,
        TASK_ACTIVITY,
        TOKENS_MEMO_KEY,
        WORKFLOW_TYPE,
        YIELD_ACTIVITY,
        RunConfig,
        TaskToken,
        machine_for,
        seeded_random,
    )
    from landlord_workflow.providers.temporal._ids import EXECUTION_ID_PREFIX

__all__ = ["AslWorkflow", "TemporalRuntime"]

_ONCE = RetryPolicy(maximum_attempts=1)
_STATES_PER_ACTIVATION = 1000
"""Most state transitions one workflow activation runs without waiting on anything."""
_BREATHER_TIMEOUT = timedelta(seconds=30)
_HISTORY_PAGE_CHARS = 512 * 1024
_MAX_CHECKPOINT_CHARS = 512 * 1024


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _states_error(failure: BaseException | None, *, fallback: str = TASK_FAILED) -> StatesError:
    """The ASL error a failure from an activity or child workflow stands for.

    A cancellation this workflow asked for (it is being stopped) is not an
    ASL error: it is raised as ``asyncio.CancelledError``, so the stop ends
    the execution ``cancelled``.
    """
    if isinstance(failure, TemporalCancelledError) and _cancelling():
        raise asyncio.CancelledError
    if isinstance(failure, ApplicationError):
        details = failure.details[0] if failure.details else None
        if isinstance(details, Mapping) and details.get(STATES_ERROR_KEY):
            return StatesError(
                details.get("error"), details.get("cause"), terminal=bool(details.get("terminal"))
            )
        if isinstance(details, Mapping) and details.get(FAILURE_KEY):
            return StatesError(details.get("error"), details.get("cause"))
        return StatesError(failure.type or fallback, failure.message or None)
    if isinstance(failure, FailureError):
        return StatesError(fallback, failure.message or None)
    return StatesError(fallback, str(failure) if failure is not None else None)


def _token_key(token: str) -> str:
    """The part of a task token that names the task within its run."""
    return token.rsplit("#", 1)[-1]


def _cancelling() -> bool:
    """Whether the current task is being cancelled (the workflow is stopping)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class _Callback:
    """One open task token: its answer once it came, and whether a heartbeat arrived."""

    __slots__ = ("answer", "beat")

    def __init__(self) -> None:
        self.answer: tuple[bool, Any, Any] | None = None  # (succeeded, output or error, cause)
        self.beat = False


class TemporalRuntime:
    """The core's Runtime for one workflow run (see the module docstring)."""

    def __init__(self, owner: AslWorkflow, config: RunConfig) -> None:
        self._owner = owner
        self._config = config
        info = workflow.info()
        self._namespace = info.namespace
        self._workflow_id = info.workflow_id
        self._run_id = info.run_id
        self._task_queue = info.task_queue
        if config.seed is not None:
            key = config.random_key or f"{config.execution_id}:{config.redrive_count}"
            self._random = seeded_random(config.seed, key)
        else:
            self._random = workflow.random()
        self._tokens = 0
        self._unbroken = 0

    # -- basics ------------------------------------------------------------------------

    def now(self) -> datetime:
        return workflow.now()

    async def sleep(self, seconds: float) -> None:
        """A durable timer; ``sleep(0)`` between states is a plain yield.

        After :data:`_STATES_PER_ACTIVATION` yields in a row with nothing
        awaited from Temporal (a long loop of Pass and Choice states), one
        local activity that does nothing ends the workflow activation, so no
        activation runs long enough for temporalio's deadlock detector (2 s).
        It costs no server round trip (a marker in the history). The count
        is deterministic: a replay runs the same ones.
        """
        if seconds > 0:
            self._unbroken = 0
            await asyncio.sleep(seconds)
            return
        self._unbroken += 1
        if self._unbroken < _STATES_PER_ACTIVATION:
            await asyncio.sleep(0)  # a plain yield: no timer, nothing in the history
            return
        self._unbroken = 0
        await workflow.execute_local_activity(
            YIELD_ACTIVITY, start_to_close_timeout=_BREATHER_TIMEOUT
        )

    def waited(self) -> None:
        """Something was awaited from Temporal: a new workflow task comes after it."""
        self._unbroken = 0

    def random(self) -> float:
        return self._random.random()

    def uuid(self) -> str:
        return str(uuid_module.UUID(int=self._random.getrandbits(128), version=4))

    def new_task_token(self, state: str) -> str:
        self._tokens += 1
        token = TaskToken(
            namespace=self._namespace,
            workflow_id=self._workflow_id,
            run_id=self._run_id,
            key=f"{self._tokens}.{self.uuid()}",
        )
        return str(token)

    # -- tasks -------------------------------------------------------------------------

    async def run_task(self, request: TaskRequest) -> Any:
        self.waited()
        token = request.task_token
        if token is not None:
            self._owner.open_token(token)
        try:
            return await self._activity(request)
        except BaseException:
            if token is not None:
                self._owner.close_token(token)
            raise

    async def _activity(self, request: TaskRequest) -> Any:
        context = request.context
        payload = {
            "resource": request.resource,
            "state": request.state,
            "input": request.input,
            "context": {
                "execution_id": context.execution_id,
                "execution_name": context.execution_name,
                "state_name": context.state_name,
                "retry_count": context.retry_count,
                "task_token": context.task_token,
                "context_object": context.context_object,
            },
            "timeout_seconds": request.timeout_seconds,
            "heartbeat_seconds": request.heartbeat_seconds,
            "task_token": request.task_token,
            "credentials": request.credentials,
            "request_id": self.uuid(),
            "now": _iso(self.now()),
            "max_payload_bytes": self._config.max_payload_bytes,
        }
        timeout = request.timeout_seconds or DEFAULT_TASK_TIMEOUT_SECONDS
        heartbeat = request.heartbeat_seconds or self._config.liveness_seconds
        try:
            return await workflow.execute_activity(
                TASK_ACTIVITY,
                payload,
                start_to_close_timeout=timedelta(seconds=timeout),
                heartbeat_timeout=timedelta(seconds=heartbeat) if heartbeat < timeout else None,
                retry_policy=_ONCE,
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, TemporalTimeoutError):
                if cause.type is not TimeoutType.HEARTBEAT:
                    raise StatesError(TIMEOUT, None) from None
                if request.heartbeat_seconds is None:
                    # No HeartbeatSeconds: only a worker that died misses the beats.
                    raise StatesError(HEARTBEAT_TIMEOUT, LIVENESS_CAUSE) from None
                raise StatesError(HEARTBEAT_TIMEOUT, None) from None
            raise _states_error(cause) from None

    async def wait_for_callback(
        self,
        request: TaskRequest,
        *,
        timeout_seconds: float | None,
        heartbeat_seconds: float | None,
    ) -> Any:
        self.waited()
        token = request.task_token
        assert token is not None  # noqa: S101 - the core sets it for callbacks
        callback = self._owner.callback(token)
        started = workflow.now()
        try:
            while True:
                callback.beat = False
                limits = []
                if timeout_seconds is not None:
                    elapsed = (workflow.now() - started).total_seconds()
                    limits.append((max(timeout_seconds - elapsed, 0.0), TIMEOUT))
                if heartbeat_seconds is not None:
                    limits.append((heartbeat_seconds, HEARTBEAT_TIMEOUT))
                limit = min(limits) if limits else None
                try:
                    await workflow.wait_condition(
                        lambda: callback.answer is not None or callback.beat,
                        timeout=None if limit is None else limit[0],
                    )
                except TimeoutError:
                    assert limit is not None  # noqa: S101 - no limit, no time-out
                    raise StatesError(limit[1], None) from None
                if callback.answer is not None:
                    succeeded, value, cause = callback.answer
                    if succeeded:
                        return value
                    raise StatesError(value, cause)
        finally:
            self._owner.close_token(token)

    # -- child executions --------------------------------------------------------------

    async def start_execution(self, request: ChildExecution) -> Any:
        self.waited()
        if request.definition is not None:
            return await self._map_item(request)
        return await self._nested(request)

    async def _map_item(self, request: ChildExecution) -> Any:
        """A distributed Map item: a child workflow running the item processor."""
        item = uuid_module.UUID(int=self._random.getrandbits(128))
        parent = self._config
        config = RunConfig(
            definition=json.dumps(request.definition),
            execution_id=f"{parent.execution_id}/{item}",
            name="map-item",
            state_machine_id=parent.state_machine_id,
            state_machine_name=parent.state_machine_name,
            role_arn=parent.role_arn,
            seed=parent.seed,
            random_key=f"{parent.execution_id}:0",
            liveness_seconds=parent.liveness_seconds,
            max_payload_bytes=parent.max_payload_bytes,
            history_limit=parent.history_limit,
        )
        try:
            return await workflow.execute_child_workflow(
                WORKFLOW_TYPE,
                args=[request.input, config.to_json()],
                id=f"{self._workflow_id}/map/{item}",
                task_queue=self._task_queue,
                retry_policy=_ONCE,
            )
        except ChildWorkflowError as err:
            raise _states_error(err.cause) from None

    async def _nested(self, request: ChildExecution) -> Any:
        """``states:startExecution[.sync[:2]]``: a child workflow that is an execution itself."""
        arn = request.state_machine_arn or ""
        target = arn.rsplit(":stateMachine:", 1)[-1].split(":", 1)[0]
        if target.startswith(EXECUTION_ID_PREFIX):
            target = target.rsplit(":", 1)[-1]
        name = request.name or str(uuid_module.UUID(int=self._random.getrandbits(128), version=4))
        try:
            input_text = compact_json(request.input)
        except (TypeError, ValueError) as exc:
            raise StatesError("StepFunctions.InvalidExecutionInputException", str(exc)) from None
        if payload_size(request.input) > self._config.max_payload_bytes:
            raise StatesError(
                "StepFunctions.InvalidExecutionInputException",
                f"the input is larger than {self._config.max_payload_bytes} bytes",
            )
        try:
            resolved = await workflow.execute_activity(
                RESOLVE_ACTIVITY,
                {"workflow_id": target, "state_machine_arn": arn},
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
        except ActivityError as err:
            raise _states_error(err.cause) from None
        temporal_id = f"{target}/{name}"
        execution_id = f"{EXECUTION_ID_PREFIX}{self._namespace}:{temporal_id}"
        timeout = resolved.get("timeout_seconds")
        options: dict[str, Any] = {
            "id": temporal_id,
            "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
            "parent_close_policy": workflow.ParentClosePolicy.ABANDON,
            "cancellation_type": workflow.ChildWorkflowCancellationType.ABANDON,
            "retry_policy": _ONCE,
            "execution_timeout": None if timeout is None else timedelta(seconds=timeout),
        }
        if resolved["kind"] == "asl":
            config = RunConfig(
                definition=resolved["definition"],
                execution_id=execution_id,
                name=name,
                state_machine_id=f"{EXECUTION_ID_PREFIX}{self._namespace}:{target}",
                state_machine_name=target,
                seed=self._config.seed,
                liveness_seconds=self._config.liveness_seconds,
            )
            workflow_type, args = WORKFLOW_TYPE, [request.input, config.to_json()]
            options["task_queue"] = self._task_queue
        else:
            workflow_type, args = resolved["workflow_type"], [request.input]
            options["task_queue"] = resolved["task_queue"]
        try:
            handle: Any = await workflow.start_child_workflow(workflow_type, args=args, **options)
        except WorkflowAlreadyStartedError:
            raise StatesError(
                "StepFunctions.ExecutionAlreadyExistsException",
                f"Execution Already Exists: '{execution_id}'",
            ) from None
        started = {"ExecutionArn": execution_id, "StartDate": _millis(workflow.now())}
        if not request.wait:
            return started
        try:
            output = await handle
        except ChildWorkflowError as err:
            error = _states_error(err.cause)
            if error.error is None or error.error == "":
                error = StatesError(TASK_FAILED, error.cause)
            raise error from None
        output_text = json.dumps(output, separators=(",", ":"), ensure_ascii=False)
        return {
            **started,
            "Input": request.input if request.output_as_json else input_text,
            "Name": name,
            "Output": output if request.output_as_json else output_text,
            "StateMachineArn": f"{EXECUTION_ID_PREFIX}{self._namespace}:{target}",
            "Status": "SUCCEEDED",
            "StopDate": _millis(workflow.now()),
        }

    # -- concurrency -------------------------------------------------------------------

    async def run_all(
        self,
        jobs: Sequence[Callable[[], Awaitable[Any]]],
        *,
        max_concurrency: int,
        on_done: Callable[[int, Any], bool],
    ) -> None:
        await run_all(jobs, max_concurrency=max_concurrency, on_done=on_done)


@workflow.defn(name=WORKFLOW_TYPE)
class AslWorkflow:
    """One execution of an ASL definition (arguments: the input, the run config)."""

    def __init__(self) -> None:
        self._events: list[list[Any]] = []
        self._callbacks: dict[str, _Callback] = {}
        self._tokens_dirty = False
        self._execution: Execution | None = None
        self._checkpoint: Mapping[str, Any] | None = None

    # -- the Recorder protocol -----------------------------------------------------------

    def record(
        self,
        event_id: int,
        event_type: str,
        state: str | None,
        details: Mapping[str, Any] | None,
    ) -> None:
        """Keep the contract's events (the core counts every event)."""
        kept = contract_event(event_type, state, details)
        if kept is not None:
            self._events.append([_iso(workflow.now()), kept[0], kept[1]])

    # -- task tokens ---------------------------------------------------------------------

    # Callbacks are keyed by the token's key (``<n>.<uuid>``, drawn from the run's
    # deterministic randomness): the same in every replay of the run.

    def open_token(self, token: str) -> None:
        self._callbacks[_token_key(token)] = _Callback()
        self._tokens_dirty = True

    def close_token(self, token: str) -> None:
        if self._callbacks.pop(_token_key(token), None) is not None:
            self._tokens_dirty = True

    def callback(self, token: str) -> _Callback:
        return self._callbacks[_token_key(token)]

    async def _publish_tokens(self) -> None:
        """Keep the memo's list of open tokens current, once per workflow task."""
        while True:
            await workflow.wait_condition(lambda: self._tokens_dirty)
            self._tokens_dirty = False
            workflow.upsert_memo({TOKENS_MEMO_KEY: list(self._callbacks)})

    @workflow.signal(name=CALLBACK_SIGNAL)
    def answer(self, message: Mapping[str, Any]) -> None:
        """``{"token", "kind": "success"|"failure"|"heartbeat", "output"|"error", "cause"}``."""
        callback = self._callbacks.get(_token_key(str(message.get("token"))))
        if callback is None or callback.answer is not None:
            return  # unknown or already answered: the provider refused it if it could
        kind = message.get("kind")
        if kind == "success":
            callback.answer = (True, message.get("output"), None)
        elif kind == "failure":
            callback.answer = (False, message.get("error"), message.get("cause"))
        elif kind == "heartbeat":
            callback.beat = True

    # -- queries -------------------------------------------------------------------------

    @workflow.query(name=HISTORY_QUERY)
    def history(self, start: int = 0) -> dict[str, Any]:
        """The contract events from index ``start``: ``{"events", "next"}`` (``next``:
        where the next page starts, ``None`` at the end)."""
        events: list[list[Any]] = []
        size = 0
        index = max(int(start), 0)
        while index < len(self._events):
            event = self._events[index]
            size += len(compact_json(event))
            if events and size > _HISTORY_PAGE_CHARS:
                break
            events.append(event)
            index += 1
        return {"events": events, "next": index if index < len(self._events) else None}

    @workflow.query(name=CHECKPOINT_QUERY)
    def checkpoint(self) -> Mapping[str, Any] | None:
        """Where a redrive of this run resumes (``None`` before the run began)."""
        if self._checkpoint is not None:
            return self._checkpoint
        return self._execution.checkpoint() if self._execution is not None else None

    # -- the run -------------------------------------------------------------------------

    @workflow.run
    async def run(self, execution_input: Any, config: Mapping[str, Any]) -> Any:
        """Interpret the definition; return its output, or fail with its ASL error."""
        settings = RunConfig.from_json(config)
        info = workflow.info()
        start = (
            datetime.fromisoformat(settings.start_time)
            if settings.start_time
            else info.workflow_start_time
        )
        execution_info = ExecutionInfo(
            execution_id=settings.execution_id,
            name=settings.name,
            state_machine_id=settings.state_machine_id,
            state_machine_name=settings.state_machine_name,
            start_time=start,
            redrive_count=settings.redrive_count,
            redrive_time=info.workflow_start_time if settings.redrive_count else None,
            **({"role_arn": settings.role_arn} if settings.role_arn else {}),
        )
        try:
            machine = machine_for(settings.definition)
        except Exception as exc:
            raise _failure(RUNTIME, f"the definition does not compile: {exc}", None, None) from None
        execution = Execution(
            machine,
            runtime=TemporalRuntime(self, settings),
            recorder=self,
            info=execution_info,
            input=execution_input,
            checkpoint=settings.checkpoint,
            max_payload_bytes=settings.max_payload_bytes,
            history_limit=settings.history_limit,
        )
        self._execution = execution
        publisher = asyncio.get_running_loop().create_task(self._publish_tokens())
        try:
            outcome = await execution.run()
        except asyncio.CancelledError:
            self._checkpoint = execution.checkpoint()
            raise
        except TemporalError:
            raise  # the sandbox's and the SDK's own errors fail the workflow task, not the run
        except Exception as exc:  # an engine bug ends the execution, as on the mock
            self._checkpoint = execution.checkpoint()
            raise _failure(
                RUNTIME, f"engine error: {exc!r}", execution.root.state, self._checkpoint
            ) from None
        finally:
            publisher.cancel()
        if outcome.succeeded:
            return outcome.output
        self._checkpoint = outcome.checkpoint
        raise _failure(outcome.error, outcome.cause, outcome.state, outcome.checkpoint)


def _failure(
    error: str | None,
    cause: str | None,
    state: str | None,
    checkpoint: Mapping[str, Any] | None,
) -> ApplicationError:
    """The workflow failure of an ASL failure (details keep what the message cannot).

    A checkpoint too large to ride along (over :data:`_MAX_CHECKPOINT_CHARS`:
    Temporal refuses payloads over 2 MB by default) is left out; a redrive
    then asks the closed run for it with the checkpoint query.
    """
    if checkpoint is not None and len(compact_json(checkpoint)) > _MAX_CHECKPOINT_CHARS:
        checkpoint = None
    details = {
        FAILURE_KEY: True,
        "error": error,
        "cause": cause,
        "state": state,
        "checkpoint": checkpoint,
    }
    return ApplicationError(
        cause or "",
        details,
        type=error or "",
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,
    )
