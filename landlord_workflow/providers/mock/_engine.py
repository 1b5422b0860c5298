"""MockProvider: an in-memory, asyncio Step Functions look-alike."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Self

import attrs
from anyio.abc import AsyncResource

from landlord_workflow import codec
from landlord_workflow._asl import (
    ChildExecution,
    Execution,
    ExecutionInfo,
    Machine,
    Outcome,
    StatesError,
    TaskHandler,
    compile_definition,
)
from landlord_workflow._asl._values import compact_json, parse_compact
from landlord_workflow._json import encode_json
from landlord_workflow._limits import (
    MAX_HISTORY_EVENTS,
    MAX_PAYLOAD_BYTES,
    name_problem,
)
from landlord_workflow._types import (
    CANCELLED_ERROR_CODE,
    NO_ERROR_CODE,
    CreateWorkflowResult,
    ExecutionError,
    ExecutionInput,
    ExecutionResult,
    ExecutionState,
    ExecutionStatus,
    WorkflowSpec,
)
from landlord_workflow._validation import with_shared_rules
from landlord_workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    InvalidSpecError,
    ProviderError,
    TaskTokenError,
    TransientError,
    WorkflowNotFoundError,
)
from landlord_workflow.providers.mock._clock import (
    Clock,
    RealClock,
    pause_for,
    stamps_for,
    yield_once,
)
from landlord_workflow.providers.mock._execution import ExecutionRecord
from landlord_workflow.providers.mock._faults import Faults
from landlord_workflow.providers.mock._runtime import Callback, MockRuntime, execution_random

__all__ = ["NO_ERROR_CODE", "MockProvider"]

ItemReader = Callable[[str, Mapping[str, Any], Any], Awaitable[Any]]
"""``async def read(state_name, item_reader_field, state_input) -> list``."""


class _Fifo:
    """Execution ids in the order they were added; the oldest leaves first.

    Two plain dicts of strings and integers, which the garbage collector does
    not track (an ``OrderedDict`` of 100,000 ids is a container every full
    collection walks).
    """

    __slots__ = ("_first", "_next", "_order", "seq")

    def __init__(self) -> None:
        self.seq: dict[str, int] = {}
        """Each key's place (``key in fifo.seq`` is ``key in fifo``, without a call)."""
        self._order: dict[int, str] = {}
        self._first = 0
        self._next = 0

    def __len__(self) -> int:
        return len(self.seq)

    def __contains__(self, key: object) -> bool:
        return key in self.seq

    def add(self, key: str) -> None:
        """Add ``key`` as the newest (a key already there stays where it is)."""
        if key not in self.seq:
            self.seq[key] = self._next
            self._order[self._next] = key
            self._next += 1

    def discard(self, key: str) -> None:
        """Remove ``key`` if it is there."""
        seq = self.seq.pop(key, None)
        if seq is not None:
            del self._order[seq]

    def pop_oldest(self) -> str:
        """Remove and return the oldest key (KeyError when empty)."""
        seq = self.seq
        if not seq:
            raise KeyError("pop_oldest(): empty")
        order = self._order
        first = self._first
        while first not in order:  # skip what discard removed
            first += 1
        key = order.pop(first)
        self._first = first + 1
        del seq[key]
        return key


class _Workflow:
    """The engine's record of one workflow: the compiled machine and the spec as created."""

    __slots__ = ("created_at", "machine", "resource_ids", "spec", "spec_text", "timeout_seconds")

    def __init__(
        self,
        *,
        machine: Machine,
        spec: WorkflowSpec,
        spec_text: str,
        timeout_seconds: float | None,
        created_at: datetime,
        resource_ids: Mapping[str, str],
    ) -> None:
        self.machine = machine
        self.spec = spec
        self.spec_text = spec_text
        self.timeout_seconds = timeout_seconds
        self.created_at = created_at
        self.resource_ids = resource_ids


def _stored_spec(spec: WorkflowSpec, provider_type: str) -> WorkflowSpec:
    """A private, immutable copy of ``spec`` (plain JSON containers, frozen attrs)."""
    own = attrs.evolve(spec, provider_type=provider_type)
    return codec.from_json(WorkflowSpec, codec.to_json(own))


_ROLE_ARN: Final = ExecutionRecord.role_arn
_SUCCEEDED: Final = ExecutionState.SUCCEEDED
_RUNNING: Final = ExecutionState.RUNNING


def _bits(record: ExecutionRecord) -> int:
    """128 random bits from ``record``'s source (a fresh one once it has finished)."""
    source = record.random or execution_random(None, record.execution_id, 0)
    return source.getrandbits(128)


def _output_text(output: Any) -> str:
    """The output as compact JSON text (non-finite numbers as Python writes them)."""
    try:
        return compact_json(output)
    except ValueError:
        return json.dumps(output, separators=(",", ":"), ensure_ascii=False)


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class MockProvider(AsyncResource):
    """Runs Amazon States Language workflows in memory, on the event loop.

    Each execution is an asyncio task running the engine-neutral ASL core
    (every state type, JSONPath and JSONata, variables, intrinsics,
    Retry/Catch, timeouts, callbacks, child executions) with Step Functions'
    idempotency rules and limits.

    ``task_handlers`` maps keys to ``async def handler(task_input)`` (or
    ``handler(task_input, context)``), routed as AWS resolves a Task's
    ``Resource``: by state name (an override), exact ``Resource``, Lambda
    function name or ARN, or integration (``"sqs:sendMessage"``,
    ``"aws-sdk:s3:listBuckets"``). A handler raising `TaskFailure`
    fails the task with that error; any other exception with the
    exception's class name (as Lambda reports it). A Task with no handler
    fails as a resource that does not exist fails on AWS, unless
    ``echo_unknown_tasks`` is true: then it returns its input after
    ``default_task_duration`` of clock time.

    ``clock`` (default `RealClock`) drives all waiting and every
    timestamp; pass a `VirtualClock` to run hours in milliseconds.
    ``random_seed`` makes ``States.UUID``, ``States.MathRandom``, JSONata's
    ``$random``/``$uuid`` and retry jitter reproducible. ``item_reader``
    reads the items of a Map's ``ItemReader`` (there is no S3 here).
    ``retention`` bounds how many finished executions are kept (oldest
    finished evicted first); the names of the last ``max(1000, 10 *
    retention)`` evicted executions stay taken (a start reusing one is
    refused, as AWS refuses a name for 90 days), older ones are forgotten.
    ``max_payload_bytes`` and ``max_history_events`` default to the Step
    Functions limits. ``faults`` injects API failures.

    Use it as an async context manager, or call `aclose`; a closed
    provider refuses every call with `ProviderError`.
    """

    def __init__(
        self,
        *,
        task_handlers: Mapping[str, TaskHandler] | None = None,
        clock: Clock | None = None,
        echo_unknown_tasks: bool = False,
        default_task_duration: float | timedelta = 0.0,
        random_seed: int | None = None,
        item_reader: ItemReader | None = None,
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
        self._prefix = f"{name}:"
        self._clock: Clock = clock if clock is not None else RealClock()
        self._stamps = stamps_for(self._clock)
        self._pause = pause_for(self._clock)
        self._handlers: dict[str, TaskHandler] = dict(task_handlers or {})
        self.echo_unknown_tasks = echo_unknown_tasks
        """Whether a Task without a handler returns its input instead of failing."""
        self.default_task_seconds = _seconds(default_task_duration)
        self.random_seed = random_seed
        self.item_reader = item_reader
        self.max_payload_bytes = max_payload_bytes
        self._retention = retention
        self._max_payload = max_payload_bytes
        self._max_events = max_history_events
        self._workflows: dict[str, _Workflow] = {}
        self._executions: dict[str, ExecutionRecord] = {}
        self._by_workflow: dict[str, dict[str, ExecutionRecord]] = {}
        self._finished = _Fifo()
        # Ids of evicted executions whose names stay taken (oldest forgotten first).
        self._evicted = _Fifo()
        self._name_memory = max(1_000, 10 * retention)
        # Redrives whose answer was lost (execution id -> its redrive count):
        # the retry gets that redrive back, as a Step Functions client token.
        self._unanswered_redrives: dict[str, int] = {}
        # Starts whose answer was lost (execution id -> canonical input): a
        # retry with the same name and input gets that execution back even if
        # it has ended meanwhile, as the Step Functions adapter does.
        self._unanswered_starts: dict[str, str] = {}
        self._callbacks: dict[str, Callback] = {}
        self._child_machines: dict[int, tuple[Any, Machine]] = {}
        # The task of every run in progress, by its Execution (one per run).
        self._tasks: dict[Execution, asyncio.Task[None]] = {}
        self._closed = False
        self.faults = Faults()
        """Fault injection for this provider's API calls (see `Faults`)."""

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
    def in_process(self) -> bool:
        """Whether calls complete in process (no injected latency): the Manager then
        runs them without a per-attempt timeout scope."""
        return not self.faults.delays_calls

    @property
    def clock(self) -> Clock:
        """The clock that drives this provider's simulations."""
        return self._clock

    @property
    def task_handlers(self) -> dict[str, TaskHandler]:
        """The live handler table (add or replace handlers between runs)."""
        return self._handlers

    @property
    def closed(self) -> bool:
        """Whether `aclose` was called."""
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
            for changed in record.watchers or ():
                changed.set()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        await self._clock.quiesce()

    def _check_open(self) -> None:
        if self._closed:
            raise ProviderError(f"provider {self._name!r} is closed")

    async def _enter(self, operation: str) -> None:
        self._check_open()
        # A checkpoint, like a real engine's network round trip: a cancelled
        # caller is cancelled here, before anything happens.
        await yield_once()
        # Faults.before, inlined (no coroutine unless there is a latency to wait).
        delay = self.faults._arrive(operation)
        if delay:
            await asyncio.sleep(delay)
        self.faults._admit(operation)
        self._check_open()

    # ------------------------------------------------------------- workflows

    def _compile(self, spec: WorkflowSpec) -> Machine:
        # The rules every engine shares (a direct caller gets them too), then
        # the state machine name and the definition as the mock runs it.
        compiled: list[Machine] = []

        def engine_problems(spec: WorkflowSpec) -> list[tuple[str, str]]:
            problems: list[tuple[str, str]] = []
            problem = name_problem(spec.workflow_id)
            if problem is not None:
                problems.append(("workflow_id", problem))
            # Compiled from an unsorted copy: templates keep their key order.
            copied = json.loads(json.dumps(spec.definition))
            try:
                compiled.append(compile_definition(copied))
            except InvalidSpecError as exc:
                problems.extend(exc.problems)
            return problems

        with_shared_rules(spec, engine_problems)
        return compiled[0]

    async def validate(self, spec: WorkflowSpec) -> None:
        """Raise [`InvalidSpecError`][landlord_workflow.errors.InvalidSpecError] unless the mock can
        run ``spec`` exactly."""
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
        machine = self._compile(spec)
        timeout: float | None = machine.timeout_seconds
        if timeout is None and spec.timeout is not None:
            timeout = spec.timeout.total_seconds()
        stored = _stored_spec(spec, self._name)
        stored_text = codec.to_json(stored)
        existing = self._workflows.get(spec.workflow_id)
        if existing is None:
            workflow = _Workflow(
                machine=machine,
                spec=stored,
                spec_text=stored_text,
                timeout_seconds=timeout,
                created_at=self._clock.now(),
                resource_ids={"state_machine": f"{self._name}:{spec.workflow_id}"},
            )
            self._workflows[spec.workflow_id] = workflow
            message = "created"
        else:
            workflow = existing
            if existing.spec_text == stored_text:
                message = "unchanged"
            else:
                existing.machine = machine
                existing.spec = stored
                existing.spec_text = stored_text
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

    async def get_workflow(self, workflow_id: str) -> WorkflowSpec:
        """The spec as created (every field), from the engine's own record."""
        await self._enter("get_workflow")
        workflow = self._workflows.get(workflow_id)
        if workflow is None:
            raise WorkflowNotFoundError(workflow_id)
        self.faults.after("get_workflow")
        return workflow.spec

    async def list_workflows(self) -> AsyncIterator[WorkflowSpec]:
        """Yield the spec of every workflow, sorted by workflow id."""
        await self._enter("list_workflows")
        specs = [self._workflows[key].spec for key in sorted(self._workflows)]
        self.faults.after("list_workflows")
        for spec in specs:
            yield spec

    def owns_execution(self, execution_id: str) -> bool:
        """Whether ``execution_id`` is one of ours: ``<name>:<workflow>:<execution>``."""
        return isinstance(execution_id, str) and execution_id.startswith(self._prefix)

    def owns_task_token(self, task_token: str) -> bool:
        """Whether ``task_token`` is one of ours: ``<execution id>#<redrive>.<n>:<uuid>``."""
        return self.owns_execution(task_token) and "#" in task_token

    async def delete_workflow(self, workflow_id: str) -> None:
        """Forget the definition (idempotent). Running executions finish."""
        await self._enter("delete_workflow")
        self._workflows.pop(workflow_id, None)
        self.faults.after("delete_workflow")

    # ------------------------------------------------------------ executions

    def _payload(self, value: Any, field: str = "input") -> tuple[str, Any]:
        try:
            text = compact_json(value)  # strict: no NaN or Infinity
        except ValueError:
            raise InvalidSpecError.single(
                field, "must be strict JSON: NaN and Infinity have no JSON form"
            ) from None
        except (TypeError, RecursionError):
            raise InvalidSpecError.single(field, "must be JSON-serializable") from None
        size = len(text) if text.isascii() else len(text.encode())
        if size > self._max_payload:
            raise InvalidSpecError.single(
                field, f"is {size} bytes; the limit is {self._max_payload} bytes"
            )
        return text, parse_compact(text)

    async def start_execution(
        self, workflow_id: str, execution_input: ExecutionInput
    ) -> ExecutionResult:
        """Start an execution, idempotently on ``execution_name`` (as Step Functions)."""
        # _enter("start_execution"), inlined: the call every execution makes.
        if self._closed:
            self._check_open()
        await yield_once()
        delay = self.faults._arrive("start_execution")
        if delay:
            await asyncio.sleep(delay)
        self.faults._admit("start_execution")
        if self._closed:
            self._check_open()
        result = self._start(workflow_id, execution_input)
        try:
            self.faults.after("start_execution")
        except TransientError:
            record = self._executions[result.execution_id]
            self._unanswered_starts[result.execution_id] = encode_json(record.input_value)
            raise
        if self._unanswered_starts:
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
        execution_id = f"{self._prefix}{workflow_id}:{name}"
        if execution_id in self._evicted.seq:
            raise ExecutionAlreadyExistsError(
                name, "that execution is closed (and no longer retained)", execution_id=execution_id
            )
        existing = self._executions.get(execution_id)
        if existing is not None:
            lost = self._unanswered_starts.get(execution_id) == encode_json(input_value)
            if lost:
                return self._result(existing, "started by an earlier attempt whose answer was lost")
            if existing.state.is_terminal:
                raise ExecutionAlreadyExistsError(
                    name, "that execution is closed", execution_id=execution_id
                )
            if encode_json(existing.input_value) != encode_json(input_value):
                raise ExecutionAlreadyExistsError(
                    name, "it is running with a different input", execution_id=execution_id
                )
            return self._result(existing, "already running")
        record = self._new_record(
            execution_id,
            name,
            workflow_id,
            workflow.machine,
            input_text,
            input_value,
            workflow.timeout_seconds,
        )
        self._launch(record)
        return self._result(record, "started")

    def _new_record(  # noqa: PLR0917 - an internal constructor of records
        self,
        execution_id: str,
        name: str,
        workflow_id: str,
        machine: Machine,
        input_text: str,
        input_value: Any,
        timeout_seconds: float | None,
    ) -> ExecutionRecord:
        record = ExecutionRecord(
            execution_id=execution_id,
            name=name,
            workflow_id=workflow_id,
            machine=machine,
            input_text=input_text,
            input_value=input_value,
            timeout_seconds=timeout_seconds,
            clock=self._clock,
            stamps=self._stamps,
            random_source=None,  # set by _launch
        )
        self._executions[execution_id] = record
        of_workflow = self._by_workflow.get(workflow_id)
        if of_workflow is None:
            of_workflow = self._by_workflow[workflow_id] = {}
        of_workflow[execution_id] = record
        return record

    def _result(self, record: ExecutionRecord, message: str) -> ExecutionResult:
        return ExecutionResult(
            execution_id=record.execution_id,
            workflow_id=record.workflow_id,
            provider_type=self._name,
            state=record.state,
            started_at=record.start_time,
            message=message,
        )

    def _launch(self, record: ExecutionRecord) -> None:
        """Run (or resume, after a redrive) ``record`` on the ASL core in a task."""
        record.generation += 1
        if record.timeout_seconds is not None:
            record.timeout_handle = self._clock.call_later(
                record.timeout_seconds, lambda: self._time_out(record)
            )
        record.random = execution_random(
            self.random_seed, record.execution_id, record.redrive_count
        )
        execution = Execution(
            record.machine,
            runtime=MockRuntime(self, record),
            recorder=record,
            info=record,  # the record is the execution's identity too
            input=record.input_value,
            checkpoint=record.checkpoint,
            max_payload_bytes=self._max_payload,
            history_limit=self._max_events,
            input_size=_utf8_size(record.input_text),
        )
        record.execution = execution
        record.checkpoint = None
        execution.begin()
        task = asyncio.get_running_loop().create_task(
            self._drive(record, record.generation, execution),
            name=f"landlord-workflow-mock:{record.execution_id}",
        )
        record.task = task
        # Leaves _tasks when _drive ends (no done callback: one loop pass less
        # per execution); one cancelled from outside leaves it by a callback
        # (see _finish), aclose empties it.
        self._tasks[execution] = task
        if record.watchers:
            self._notify(record)

    async def _drive(self, record: ExecutionRecord, generation: int, execution: Execution) -> None:
        try:
            outcome = await execution.run()
        except asyncio.CancelledError:
            if record.generation == generation and not record.state.is_terminal:
                raise  # the provider is closing
        except Exception as exc:  # an engine bug must not kill the loop silently
            if record.generation == generation and not record.state.is_terminal:
                error = ExecutionError(
                    code="States.Runtime",
                    message=f"mock engine error: {exc!r}",
                    cause=repr(exc),
                    failed_at=record.current_state,
                )
                self._finish(record, ExecutionState.FAILED, error=error, inside=True)
        else:
            if record.generation == generation and record.state is _RUNNING:
                if outcome.succeeded:  # (_conclude's first case, inlined)
                    self._finish(record, _SUCCEEDED, outcome.output, None, False, True)
                else:
                    self._conclude(record, outcome)
        finally:
            self._tasks.pop(execution, None)

    def _conclude(self, record: ExecutionRecord, outcome: Outcome) -> None:
        if outcome.succeeded:
            self._finish(record, _SUCCEEDED, outcome.output, None, False, True)
            return
        record.checkpoint = outcome.checkpoint
        error = ExecutionError(
            code=outcome.error if outcome.error is not None else NO_ERROR_CODE,
            message=outcome.cause or outcome.error or "the execution failed with no error name",
            cause=outcome.cause,
            failed_at=outcome.state,
        )
        self._finish(record, ExecutionState.FAILED, error=error, recorded=True, inside=True)

    def _time_out(self, record: ExecutionRecord) -> None:
        record.timeout_handle = None
        if record.state.is_terminal:
            return
        # AWS reports an execution time-out with no error cause.
        error = ExecutionError(
            code="States.Timeout",
            message=f"the execution timed out after {record.timeout_seconds:g} seconds",
            cause=None,
            failed_at=record.current_state,
        )
        self._finish(record, ExecutionState.TIMED_OUT, error=error)

    def _finish(  # noqa: PLR0917 - positional on the hot path
        self,
        record: ExecutionRecord,
        state: ExecutionState,
        output: Any = None,
        error: ExecutionError | None = None,
        recorded: bool = False,
        inside: bool = False,
    ) -> None:
        """Close ``record`` (success, failure, time-out or stop) and stop its task.

        ``recorded``: the core already recorded the closing event. ``inside``:
        called by the execution's own task, as it ends.
        """
        if record.timeout_handle is not None:
            record.timeout_handle.cancel()
            record.timeout_handle = None
        record.state = state
        record.error = error
        if state is ExecutionState.SUCCEEDED:
            record.output_text = _output_text(output)
        elif state is ExecutionState.TIMED_OUT:
            record.append_final("ExecutionTimedOut", "ExecutionTimedOut")
        elif state is ExecutionState.CANCELLED:
            assert error is not None  # noqa: S101
            record.append_final("ExecutionCancelled", "ExecutionAborted", cause=error.cause)
        elif not recorded:
            assert error is not None  # noqa: S101
            record.append_final(
                "ExecutionFailed", "ExecutionFailed", error=error.code, cause=error.cause
            )
        record.stopped = record.stamp()
        task, record.task = record.task, None
        if (
            task is not None
            and not inside
            and task is not asyncio.current_task()
            and not task.done()
        ):
            task.cancel()
            # Cancelled before its first step, _drive's finally would not run.
            execution = record.execution
            if execution is not None:
                task.add_done_callback(lambda _: self._tasks.pop(execution, None))
        if (
            record.checkpoint is None
            and record.execution is not None
            and (state is not ExecutionState.SUCCEEDED)
        ):
            record.checkpoint = record.execution.checkpoint()
        if record.callbacks:
            for token in list(record.callbacks):
                self._close_token(token)
        # A finished execution keeps only what it reports (and its checkpoint).
        record.execution = None
        record.random = None
        self._finished.add(record.execution_id)
        if record.watchers:
            self._notify(record)
        if len(self._finished.seq) > self._retention:  # .seq: no __len__ call
            self._evict()

    def _evict(self) -> None:
        finished = self._finished
        executions = self._executions
        evicted = self._evicted
        while len(finished.seq) > self._retention:
            execution_id = finished.pop_oldest()
            record = executions.pop(execution_id, None)
            if self._unanswered_redrives:
                self._unanswered_redrives.pop(execution_id, None)
            if self._unanswered_starts:
                self._unanswered_starts.pop(execution_id, None)
            # Its name stays taken (AWS: for 90 days), for the last few evicted.
            evicted.add(execution_id)
            if len(evicted.seq) > self._name_memory:
                evicted.pop_oldest()
            if record is not None:
                of_workflow = self._by_workflow.get(record.workflow_id)
                if of_workflow is not None:
                    of_workflow.pop(execution_id, None)
                    if not of_workflow:
                        del self._by_workflow[record.workflow_id]

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
        if record.checkpoint is None and record.execution is not None:
            record.checkpoint = record.execution.checkpoint()
        resume_at = record.current_state
        record.state = ExecutionState.RUNNING
        record.stopped = None
        record.error = None
        record.output_text = None
        record.redrive_count += 1
        record.redrive_time = self._clock.now()
        self._finished.discard(execution_id)
        self._launch(record)
        return self._result(record, f"redriven from {resume_at}")

    # ----------------------------------------------------------- task tokens

    def _open_token(self, token: str, record: ExecutionRecord) -> None:
        callback = Callback(token, record)
        self._callbacks[token] = callback
        if record.callbacks is None:
            record.callbacks = {}
        record.callbacks[token] = callback

    def _close_token(self, token: str) -> None:
        callback = self._callbacks.pop(token, None)
        if callback is not None and callback.record.callbacks:
            callback.record.callbacks.pop(token, None)
            if not callback.future.done():
                callback.future.cancel()

    def _callback(self, task_token: str) -> Callback:
        callback = self._callbacks.get(task_token)
        if callback is None or callback.future.done():
            raise TaskTokenError(task_token, "it is unknown, or its task has closed or timed out")
        return callback

    async def send_task_success(self, task_token: str, output: Any) -> None:
        """Complete a ``.waitForTaskToken`` task with ``output`` (its result)."""
        await self._enter("send_task_success")
        callback = self._callback(task_token)
        try:
            text, value = self._payload(output, "output")
        except InvalidSpecError as exc:
            raise TaskTokenError(task_token, f"invalid output: {exc}") from exc
        del text
        callback.future.set_result(value)
        self.faults.after("send_task_success")

    async def send_task_failure(
        self, task_token: str, error: str | None, cause: str | None = None
    ) -> None:
        """Fail a ``.waitForTaskToken`` task with ``error`` and ``cause``."""
        await self._enter("send_task_failure")
        callback = self._callback(task_token)
        callback.future.set_exception(StatesError(error, cause))
        self.faults.after("send_task_failure")

    async def send_task_heartbeat(self, task_token: str) -> None:
        """Report that the work of a ``.waitForTaskToken`` task is still going on."""
        await self._enter("send_task_heartbeat")
        self._callback(task_token).heartbeat.set()
        self.faults.after("send_task_heartbeat")

    # ------------------------------------------------------- child executions

    async def _start_child(self, parent: ExecutionRecord, request: ChildExecution) -> Any:
        """Run a child execution (``states:startExecution``, distributed Map items)."""
        if request.definition is not None:
            return await self._run_map_child(parent, request)
        arn = request.state_machine_arn or ""
        workflow_id = arn.rsplit(":stateMachine:", 1)[-1].split(":", 1)[0]
        workflow = self._workflows.get(workflow_id)
        if workflow is None:
            raise StatesError(
                "StepFunctions.StateMachineDoesNotExistException",
                f"State Machine Does Not Exist: '{arn}' (Service: AWSStepFunctions; Status Code: "
                "400; Error Code: StateMachineDoesNotExist)",
            )
        name = request.name or str(uuid.UUID(int=_bits(parent), version=4))
        try:
            input_text, input_value = self._payload(request.input)
        except InvalidSpecError as exc:
            raise StatesError("StepFunctions.InvalidExecutionInputException", str(exc)) from None
        execution_id = f"{self._prefix}{workflow_id}:{name}"
        if execution_id in self._executions:
            raise StatesError(
                "StepFunctions.ExecutionAlreadyExistsException",
                f"Execution Already Exists: '{execution_id}'",
            )
        record = self._new_record(
            execution_id,
            name,
            workflow_id,
            workflow.machine,
            input_text,
            input_value,
            workflow.timeout_seconds,
        )
        self._launch(record)
        started = {
            "ExecutionArn": execution_id,
            "StartDate": int(record.start_time.timestamp() * 1000),
        }
        if not request.wait:
            return started
        task = record.task
        assert task is not None  # noqa: S101 - just launched
        # Waiting does not cancel the child if the parent is stopped (as on AWS).
        await asyncio.wait({task})
        if record.state is not ExecutionState.SUCCEEDED:
            error = record.error
            raise StatesError(
                error.code if error is not None and error.code else "States.TaskFailed",
                error.cause if error is not None else None,
            )
        output = parse_compact(record.output_text or "null")
        return {
            **started,
            "Input": input_value if request.output_as_json else input_text,
            "Name": name,
            "Output": output if request.output_as_json else record.output_text,
            "StateMachineArn": f"{self._prefix}{workflow_id}",
            "Status": "SUCCEEDED",
            "StopDate": int((record.stop_time or record.start_time).timestamp() * 1000),
        }

    async def _run_map_child(self, parent: ExecutionRecord, request: ChildExecution) -> Any:
        """A distributed Map item: a child execution of the item processor."""
        definition = request.definition
        cached = self._child_machines.get(id(definition))
        if cached is None or cached[0] is not definition:
            machine = compile_definition(definition)
            self._child_machines[id(definition)] = (definition, machine)
        else:
            machine = cached[1]
        child = ExecutionRecord(
            execution_id=f"{parent.execution_id}/{uuid.UUID(int=_bits(parent))}",
            name="map-item",
            workflow_id=parent.workflow_id,
            machine=machine,
            input_text="null",
            input_value=request.input,
            timeout_seconds=None,
            clock=self._clock,
            stamps=self._stamps,
            random_source=execution_random(self.random_seed, parent.execution_id, 0),
        )
        info = ExecutionInfo(
            execution_id=child.execution_id,
            name=child.name,
            state_machine_id=f"{self._prefix}{parent.workflow_id}",
            state_machine_name=parent.workflow_id,
            start_time=self._clock.now(),
            role_arn=_ROLE_ARN,
        )
        outcome = await Execution(
            machine,
            runtime=MockRuntime(self, child),
            recorder=child,
            info=info,
            input=request.input,
            max_payload_bytes=self._max_payload,
            history_limit=self._max_events,
        ).run()
        if not outcome.succeeded:
            raise StatesError(outcome.error, outcome.cause)
        return outcome.output

    # ------------------------------------------------------- watch and list

    def _notify(self, record: ExecutionRecord) -> None:
        # Watchers only hear that something changed; each builds the status
        # it yields when it gets to it (a slow watcher coalesces changes: the
        # latest status wins, and nothing is queued or copied per change).
        for changed in record.watchers or ():
            changed.set()

    async def watch_execution(self, execution_id: str) -> AsyncIterator[ExecutionStatus]:
        """Yield the current status, then the status after each change of its
        state, ending after a terminal status. A slow consumer misses nothing
        but intermediate states: it gets the latest status when it asks."""
        await self._enter("watch_execution")
        record = self._record(execution_id)
        changed = asyncio.Event()
        if record.watchers is None:
            record.watchers = []
        record.watchers.append(changed)
        try:
            status = record.status(self._name)
            self.faults.after("watch_execution")
            yield status
            last = status.state
            while not last.is_terminal:
                await changed.wait()
                changed.clear()
                if self._closed:
                    raise ProviderError(f"provider {self._name!r} closed while watching")
                if record.state is last:
                    continue
                status = record.status(self._name)
                last = status.state
                yield status
        finally:
            if record.watchers is not None and changed in record.watchers:
                record.watchers.remove(changed)
            if not record.watchers:
                record.watchers = None

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
