"""MockProvider: an in-memory, asyncio Step Functions look-alike."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any, Self

from anyio.abc import AsyncResource

from landlord_workflow._json import encode_json
from landlord_workflow._limits import (
    MAX_DEFINITION_BYTES,
    MAX_HISTORY_EVENTS,
    MAX_PAYLOAD_BYTES,
    name_problem,
)
from landlord_workflow._types import (
    CANCELLED_ERROR_CODE,
    CreateWorkflowResult,
    ExecutionError,
    ExecutionInput,
    ExecutionResult,
    ExecutionState,
    ExecutionStatus,
    WorkflowSpec,
)
from landlord_workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    InvalidSpecError,
    ProviderError,
    TransientError,
    WorkflowNotFoundError,
)
from landlord_workflow.providers.mock._clock import Clock, RealClock
from landlord_workflow.providers.mock._execution import ExecutionRecord
from landlord_workflow.providers.mock._faults import Faults
from landlord_workflow.providers.mock.compiler import Machine, compile_machine
from landlord_workflow.providers.mock.interpreter import Interpreter, RunFailedError, TaskHandler

__all__ = ["MockProvider"]


class _Workflow:
    __slots__ = ("created_at", "definition_text", "machine", "resource_ids", "timeout_seconds")

    def __init__(
        self,
        machine: Machine,
        definition_text: str,
        timeout_seconds: float | None,
        created_at: datetime,
        resource_ids: Mapping[str, str],
    ) -> None:
        self.machine = machine
        self.definition_text = definition_text
        self.timeout_seconds = timeout_seconds
        self.created_at = created_at
        self.resource_ids = resource_ids


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class MockProvider(AsyncResource):
    """Runs Amazon States Language workflows in memory, on the event loop.

    Each execution is an asyncio task that walks the ASL subset documented
    in :mod:`landlord_workflow.providers.mock` (Pass, Task, Wait, Choice,
    Succeed, Fail; JSONPath data flow; Retry/Catch; timeouts), with Step
    Functions' idempotency rules and limits.

    ``task_handlers`` maps a Task ``Resource`` string to
    ``async def handler(state_input) -> result``; a handler raising
    :class:`TaskFailure` fails the task with that error code, any other
    exception with the exception's class name (as Lambda reports it). A Task
    whose resource has no handler returns its input after
    ``default_task_duration`` of clock time.

    ``clock`` (default :class:`RealClock`) drives all waiting and every
    timestamp; pass a :class:`VirtualClock` to run hours in milliseconds.
    ``retention`` bounds how many finished executions are kept (oldest
    finished evicted first). ``max_payload_bytes`` and ``max_history_events``
    default to the Step Functions limits. ``faults`` injects API failures.

    Use it as an async context manager, or call :meth:`aclose`; a closed
    provider refuses every call with :class:`ProviderError`.
    """

    def __init__(
        self,
        *,
        task_handlers: Mapping[str, TaskHandler] | None = None,
        clock: Clock | None = None,
        default_task_duration: float | timedelta = 0.0,
        retention: int = 10_000,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        max_history_events: int = MAX_HISTORY_EVENTS,
        name: str = "mock",
    ) -> None:
        if retention < 0:
            raise ValueError("retention must not be negative")
        if max_history_events < 2:
            raise ValueError("max_history_events must be at least 2")
        self._name = name
        self._clock: Clock = clock if clock is not None else RealClock()
        self._interpreter = Interpreter(
            clock=self._clock,
            handlers=dict(task_handlers or {}),
            default_task_seconds=_seconds(default_task_duration),
            max_payload_bytes=max_payload_bytes,
        )
        self._retention = retention
        self._max_payload = max_payload_bytes
        self._max_events = max_history_events
        self._workflows: dict[str, _Workflow] = {}
        self._executions: dict[str, ExecutionRecord] = {}
        self._by_workflow: dict[str, dict[str, ExecutionRecord]] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        # Redrives whose answer was lost (execution id -> its redrive count):
        # the retry gets that redrive back, as a Step Functions client token.
        self._unanswered_redrives: dict[str, int] = {}
        # Starts whose answer was lost (execution id -> canonical input): a
        # retry with the same name and input gets that execution back even if
        # it has ended meanwhile, as the Step Functions adapter does.
        self._unanswered_starts: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.faults = Faults()
        """Fault injection for this provider's API calls (see :class:`Faults`)."""

    def __repr__(self) -> str:
        return (
            f"MockProvider(name={self._name!r}, workflows={len(self._workflows)}, "
            f"executions={len(self._executions)}, closed={self._closed})"
        )

    # ---------------------------------------------------------------- basics

    @property
    def name(self) -> str:
        """The provider type: ``"mock"`` unless given another name."""
        return self._name

    @property
    def clock(self) -> Clock:
        """The clock that drives this provider's simulations."""
        return self._clock

    @property
    def task_handlers(self) -> dict[str, TaskHandler]:
        """The live handler table (add or replace handlers between runs)."""
        return self._interpreter.handlers

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    async def __aenter__(self) -> Self:
        self._check_open()
        return self

    async def aclose(self) -> None:
        """Cancel every simulation, wait for them, end watchers. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for record in self._executions.values():
            if record.timeout_handle is not None:
                record.timeout_handle.cancel()
                record.timeout_handle = None
            for queue in record.watchers or ():
                queue.put_nowait(None)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._clock.quiesce()

    def _check_open(self) -> None:
        if self._closed:
            raise ProviderError(f"provider {self._name!r} is closed")

    async def _enter(self, operation: str) -> None:
        self._check_open()
        # A checkpoint, like a real engine's network round trip: a cancelled
        # caller is cancelled here, before anything happens.
        await asyncio.sleep(0)
        await self.faults.before(operation)
        self._check_open()

    # ------------------------------------------------------------- workflows

    def _compile(self, spec: WorkflowSpec) -> tuple[Machine, str]:
        problems: list[tuple[str, str]] = []
        problem = name_problem(spec.workflow_id)
        if problem is not None:
            problems.append(("workflow_id", problem))
        try:
            # Compiled from an unsorted copy (templates keep their key order);
            # the sorted text only detects changes.
            copied = json.loads(json.dumps(spec.definition))
            definition_text = json.dumps(copied, separators=(",", ":"), sort_keys=True)
        except (TypeError, ValueError):
            problems.append(("definition", "must be JSON-serializable"))
            raise InvalidSpecError(problems) from None
        if len(definition_text.encode()) > MAX_DEFINITION_BYTES:
            problems.append(("definition", f"must be at most {MAX_DEFINITION_BYTES} bytes"))
        try:
            machine = compile_machine(copied)
        except InvalidSpecError as exc:
            raise InvalidSpecError(problems + exc.problems) from None
        if problems:
            raise InvalidSpecError(problems)
        return machine, definition_text

    async def validate(self, spec: WorkflowSpec) -> None:
        """Raise :class:`InvalidSpecError` unless the mock can run ``spec`` exactly."""
        await self._enter("validate")
        self._compile(spec)
        self.faults.after("validate")

    async def create_workflow(self, spec: WorkflowSpec) -> CreateWorkflowResult:
        """Create or update the workflow; the same spec again changes nothing.

        The definition's top-level ``TimeoutSeconds`` wins over
        ``spec.timeout``. Running executions keep the definition they
        started with.
        """
        await self._enter("create_workflow")
        machine, definition_text = self._compile(spec)
        timeout = machine.timeout_seconds
        if timeout is None and spec.timeout is not None:
            timeout = spec.timeout.total_seconds()
        existing = self._workflows.get(spec.workflow_id)
        if existing is None:
            workflow = _Workflow(
                machine,
                definition_text,
                timeout,
                self._clock.now(),
                {"state_machine": f"mock:{spec.workflow_id}"},
            )
            self._workflows[spec.workflow_id] = workflow
            message = "created"
        else:
            workflow = existing
            if (existing.definition_text, existing.timeout_seconds) == (definition_text, timeout):
                message = "unchanged"
            else:
                existing.machine = machine
                existing.definition_text = definition_text
                existing.timeout_seconds = timeout
                message = "updated"
        self.faults.after("create_workflow")
        return CreateWorkflowResult(
            workflow_id=spec.workflow_id,
            provider_type=self._name,
            resource_ids=dict(workflow.resource_ids),
            created_at=workflow.created_at,
            message=message,
        )

    async def delete_workflow(self, workflow_id: str) -> None:
        """Forget the definition (idempotent). Running executions finish."""
        await self._enter("delete_workflow")
        self._workflows.pop(workflow_id, None)
        self.faults.after("delete_workflow")

    # ------------------------------------------------------------ executions

    def _payload(self, value: Any) -> tuple[str, Any]:
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError):
            raise InvalidSpecError.single("input", "must be JSON-serializable") from None
        size = len(text.encode())
        if size > self._max_payload:
            raise InvalidSpecError.single(
                "input", f"is {size} bytes; the limit is {self._max_payload} bytes"
            )
        return text, json.loads(text)

    async def start_execution(
        self, workflow_id: str, execution_input: ExecutionInput
    ) -> ExecutionResult:
        """Start an execution, idempotently on ``execution_name`` (as Step Functions)."""
        await self._enter("start_execution")
        result = self._start(workflow_id, execution_input)
        try:
            self.faults.after("start_execution")
        except TransientError:
            record = self._executions[result.execution_id]
            self._unanswered_starts[result.execution_id] = encode_json(record.input_value)
            raise
        self._unanswered_starts.pop(result.execution_id, None)
        return result

    def _start(self, workflow_id: str, execution_input: ExecutionInput) -> ExecutionResult:
        workflow = self._workflows.get(workflow_id)
        if workflow is None:
            raise WorkflowNotFoundError(workflow_id)
        name = execution_input.execution_name
        if name is None:
            name = str(uuid.uuid4())
        else:
            problem = name_problem(name)
            if problem is not None:
                raise InvalidSpecError.single("execution_name", problem)
        input_text, input_value = self._payload(execution_input.input)
        execution_id = f"mock:{workflow_id}:{name}"
        existing = self._executions.get(execution_id)
        if existing is not None:
            lost = self._unanswered_starts.get(execution_id) == encode_json(input_value)
            if lost:
                return self._result(existing, "started by an earlier attempt whose answer was lost")
            if existing.state.is_terminal:
                raise ExecutionAlreadyExistsError(name, "that execution is closed")
            if encode_json(existing.input_value) != encode_json(input_value):
                raise ExecutionAlreadyExistsError(name, "it is running with a different input")
            return self._result(existing, "already running")
        record = ExecutionRecord(
            execution_id=execution_id,
            name=name,
            workflow_id=workflow_id,
            machine=workflow.machine,
            input_text=input_text,
            input_value=input_value,
            timeout_seconds=workflow.timeout_seconds,
            clock=self._clock,
            max_events=self._max_events,
            notify=self._notify,
        )
        record.append("ExecutionStarted", "ExecutionStarted", input=input_value, name=name)
        self._executions[execution_id] = record
        self._by_workflow.setdefault(workflow_id, {})[execution_id] = record
        self._launch(record, record.machine.start_at, input_value)
        return self._result(record, "started")

    def _result(self, record: ExecutionRecord, message: str) -> ExecutionResult:
        return ExecutionResult(
            execution_id=record.execution_id,
            workflow_id=record.workflow_id,
            provider_type=self._name,
            state=record.state,
            started_at=record.start_time,
            message=message,
        )

    def _launch(self, record: ExecutionRecord, state: str, data: Any) -> None:
        record.generation += 1
        if record.timeout_seconds is not None:
            record.timeout_handle = self._clock.call_later(
                record.timeout_seconds, lambda: self._time_out(record)
            )
        task = asyncio.get_running_loop().create_task(
            self._drive(record, record.generation, state, data),
            name=f"landlord-workflow-mock:{record.execution_id}",
        )
        record.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._notify(record)

    async def _drive(self, record: ExecutionRecord, generation: int, state: str, data: Any) -> None:
        def current() -> bool:
            return record.generation == generation and not record.state.is_terminal

        try:
            output = await self._interpreter.run(record, record.machine, state, data)
        except RunFailedError as failure:
            if current():
                error = ExecutionError(
                    code=failure.error,
                    message=failure.cause or failure.error,
                    cause=failure.cause,
                    failed_at=failure.state,
                )
                self._finish(record, ExecutionState.FAILED, error=error)
        except asyncio.CancelledError:
            if current():
                raise  # the provider is closing
        except Exception as exc:  # an engine bug must not kill the loop silently
            if current():
                error = ExecutionError(
                    code="States.Runtime",
                    message=f"mock engine error: {exc!r}",
                    cause=repr(exc),
                    failed_at=record.current_state,
                )
                self._finish(record, ExecutionState.FAILED, error=error)
        else:
            if current():
                self._finish(record, ExecutionState.SUCCEEDED, output=output)

    def _time_out(self, record: ExecutionRecord) -> None:
        record.timeout_handle = None
        if record.state.is_terminal:
            return
        seconds = record.timeout_seconds
        error = ExecutionError(
            code="States.Timeout",
            message=f"the execution timed out after {seconds:g} seconds",
            cause=f"execution timeout of {seconds:g} seconds exceeded",
            failed_at=record.current_state,
        )
        self._finish(record, ExecutionState.TIMED_OUT, error=error)

    def _finish(
        self,
        record: ExecutionRecord,
        state: ExecutionState,
        *,
        output: Any = None,
        error: ExecutionError | None = None,
    ) -> None:
        """Close ``record`` (success, failure, time-out or stop) and stop its task."""
        if record.timeout_handle is not None:
            record.timeout_handle.cancel()
            record.timeout_handle = None
        record.state = state
        record.error = error
        if state is ExecutionState.SUCCEEDED:
            record.output_text = json.dumps(output, separators=(",", ":"), ensure_ascii=False)
            record.append_final("ExecutionSucceeded", "ExecutionSucceeded", output=output)
        elif state is ExecutionState.FAILED:
            assert error is not None  # noqa: S101
            record.append_final(
                "ExecutionFailed", "ExecutionFailed", error=error.code, cause=error.cause
            )
        elif state is ExecutionState.TIMED_OUT:
            assert error is not None  # noqa: S101
            record.append_final("ExecutionTimedOut", "ExecutionTimedOut", error=error.code)
        else:
            assert error is not None  # noqa: S101
            record.append_final("ExecutionCancelled", "ExecutionAborted", cause=error.cause)
        record.stop_time = self._clock.now()
        task = record.task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
        self._finished[record.execution_id] = None
        self._notify(record)
        self._evict()

    def _evict(self) -> None:
        while len(self._finished) > self._retention:
            execution_id, _ = self._finished.popitem(last=False)
            record = self._executions.pop(execution_id, None)
            self._unanswered_redrives.pop(execution_id, None)
            if record is not None:
                self._by_workflow.get(record.workflow_id, {}).pop(execution_id, None)
                if not self._by_workflow.get(record.workflow_id):
                    self._by_workflow.pop(record.workflow_id, None)

    def _record(self, execution_id: str) -> ExecutionRecord:
        record = self._executions.get(execution_id)
        if record is None:
            raise ExecutionNotFoundError(execution_id)
        return record

    async def get_execution_status(
        self, execution_id: str, *, include_history: bool = False
    ) -> ExecutionStatus:
        """Describe one execution; ``include_history`` adds every event."""
        await self._enter("get_execution_status")
        status = self._record(execution_id).status(self._name, include_history=include_history)
        self.faults.after("get_execution_status")
        return status

    async def stop_execution(self, execution_id: str, reason: str) -> None:
        """Stop a running execution (ends ``cancelled``); no-op once it is closed."""
        await self._enter("stop_execution")
        record = self._record(execution_id)
        if not record.state.is_terminal:
            error = ExecutionError(
                code=CANCELLED_ERROR_CODE,
                message=reason or "the execution was stopped",
                cause=reason or None,
                failed_at=record.current_state,
            )
            self._finish(record, ExecutionState.CANCELLED, error=error)
        self.faults.after("stop_execution")

    async def redrive_execution(self, execution_id: str) -> ExecutionResult:
        """Resume a failed, timed-out or cancelled execution at the state that did
        not complete; states that succeeded are not run again. Keeps the id.

        Idempotent like Step Functions' RedriveExecution with a client token:
        retrying a redrive whose response was lost returns that redrive
        instead of redriving again (or refusing the execution it set running).
        """
        await self._enter("redrive_execution")
        record = self._record(execution_id)
        if self._unanswered_redrives.get(execution_id) == record.redrive_count:
            result = self._result(record, "already redriven")
        else:
            result = self._redrive(record)
        try:
            self.faults.after("redrive_execution")
        except TransientError:
            self._unanswered_redrives[execution_id] = record.redrive_count
            raise
        self._unanswered_redrives.pop(execution_id, None)
        return result

    def _redrive(self, record: ExecutionRecord) -> ExecutionResult:
        execution_id = record.execution_id
        if record.state not in (
            ExecutionState.FAILED,
            ExecutionState.TIMED_OUT,
            ExecutionState.CANCELLED,
        ):
            raise ProviderError(
                f"execution {execution_id!r} is not redrivable: it is {record.state.value} "
                "(only failed, timed_out and cancelled executions can be redriven)"
            )
        record.state = ExecutionState.RUNNING
        record.stop_time = None
        record.error = None
        record.output_text = None
        record.redrive_count += 1
        record.execution_context = {
            **record.execution_context,
            "RedriveCount": record.redrive_count,
        }
        self._finished.pop(execution_id, None)
        record.append_final(
            "ExecutionRedriven",
            "ExecutionRedriven",
            redrive_count=record.redrive_count,
            state=record.current_state,
        )
        self._launch(record, record.current_state, record.current_input)
        return self._result(record, f"redriven from {record.current_state}")

    # ------------------------------------------------------- watch and list

    def _notify(self, record: ExecutionRecord) -> None:
        if record.watchers:
            status = record.status(self._name)
            for queue in record.watchers:
                queue.put_nowait(status)

    async def watch_execution(self, execution_id: str) -> AsyncIterator[ExecutionStatus]:
        """Yield the current status, then every change (each state entered and
        each execution state change), ending after a terminal status."""
        await self._enter("watch_execution")
        record = self._record(execution_id)
        queue: asyncio.Queue[ExecutionStatus | None] = asyncio.Queue()
        if record.watchers is None:
            record.watchers = []
        record.watchers.append(queue)
        try:
            status = record.status(self._name)
            self.faults.after("watch_execution")
            yield status
            while not status.state.is_terminal:
                update = await queue.get()
                if update is None:
                    raise ProviderError(f"provider {self._name!r} closed while watching")
                status = update
                yield status
        finally:
            if record.watchers is not None and queue in record.watchers:
                record.watchers.remove(queue)

    async def list_executions(
        self, workflow_id: str, *, state: ExecutionState | None = None
    ) -> AsyncIterator[ExecutionStatus]:
        """Yield the retained executions of ``workflow_id``, newest first, without
        history; only those in ``state`` when given."""
        await self._enter("list_executions")
        records = self._by_workflow.get(workflow_id)
        if records is None and workflow_id not in self._workflows:
            raise WorkflowNotFoundError(workflow_id)
        snapshot = list(reversed((records or {}).values()))
        self.faults.after("list_executions")
        for record in snapshot:
            if state is None or record.state is state:
                yield record.status(self._name)
