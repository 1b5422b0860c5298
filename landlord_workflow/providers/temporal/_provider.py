"""``TemporalProvider``: the Provider port on Temporal (temporalio).

Every engine call is one raw WorkflowService RPC sent with temporalio's
retries off (``retry=False``) and a per-call deadline: the Manager's
``CallPolicy`` is the single retry layer, so every attempt is counted and
visible. RPCs per method:

* ``validate``: none.
* ``create_workflow``: DescribeWorkflowExecution of the definition record;
  StartWorkflowExecution when it is missing or differs.
* ``get_workflow``: DescribeWorkflowExecution of the record.
* ``list_workflows``: ListWorkflowExecutions (one per page).
* ``delete_workflow``: TerminateWorkflowExecution of the record.
* ``start_execution``: StartWorkflowExecution (plus the record's describe
  when the definition is not cached, and a DescribeWorkflowExecution when
  the name is taken or the answer of an earlier attempt was lost).
* ``get_execution_status``: DescribeWorkflowExecution; the first history
  event once per execution (its input); for a closed run, its close event
  once per run (output or failure) and, if cancelled, one reverse history
  page (the reason). ``include_history=True`` reads the run's whole history.
* ``stop_execution``: RequestCancelWorkflowExecution.
* ``redrive_execution``: DescribeWorkflowExecution, the run's history,
  ResetWorkflowExecution.
* ``list_executions``: ListWorkflowExecutions per page (and a describe per
  failed/timed-out/cancelled entry when filtering on those states, to skip
  runs a redrive replaced).
* ``watch_execution``: GetWorkflowExecutionHistory long polls for the close
  event.
"""

from __future__ import annotations

import atexit
import gc
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Self, TypeVar

import anyio
import attrs
import temporalio.runtime
from anyio.abc import AsyncResource
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from temporalio.api.common.v1 import Memo, Payload, Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import (
    EventType,
    HistoryEventFilterType,
    WorkflowExecutionStatus,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryReverseRequest,
    ListWorkflowExecutionsRequest,
    QueryWorkflowRequest,
    RequestCancelWorkflowExecutionRequest,
    ResetWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode, WorkflowService

from landlord_workflow._asl import MAX_PAYLOAD_BYTES, StatesError, TaskHandler
from landlord_workflow._json import check_json
from landlord_workflow._types import (
    CANCELLED_ERROR_CODE,
    CreateWorkflowResult,
    ExecutionError,
    ExecutionEvent,
    ExecutionInput,
    ExecutionResult,
    ExecutionState,
    ExecutionStatus,
    WorkflowSpec,
)
from landlord_workflow._validation import EXECUTION_NAME_PATTERN
from landlord_workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    InvalidSpecError,
    ProviderError,
    ProviderUnavailableError,
    TaskTokenError,
    TransientError,
    WorkflowError,
    WorkflowNotFoundError,
)
from landlord_workflow.providers.temporal._asl_wire import (
    CALLBACK_SIGNAL,
    CHECKPOINT_QUERY,
    DEFAULT_LIVENESS_SECONDS,
    FAILURE_KEY,
    HISTORY_QUERY,
    TOKENS_MEMO_KEY,
    WORKFLOW_TYPE,
    RunConfig,
    TaskToken,
    machine_for,
    parse_task_token,
)
from landlord_workflow.providers.temporal._definitions import (
    DEFINITIONS_TASK_QUEUE,
    EXECUTION_KEY,
    RECORD_START_DELAY,
    created_at_from_memo,
    spec_from_memo,
    spec_memo,
)
from landlord_workflow.providers.temporal._errors import RpcContext, translate_errors
from landlord_workflow.providers.temporal._ids import (
    DEFINITION_WORKFLOW_TYPE,
    EXECUTION_ID_PREFIX,
    ExecutionRef,
    definition_workflow_id,
    is_workflow_id,
    parse_execution_id,
)
from landlord_workflow.providers.temporal._ledger import RequestLedger, bounded_put
from landlord_workflow.providers.temporal._mapping import (
    NO_ERROR_CODE,
    PROVIDER_NAME,
    TERMINATED_ERROR_CODE,
    TIMEOUT_ERROR_CODE,
    NativeDefinition,
    error_from_failure,
    input_digest,
    is_asl,
    normalise_history,
    spec_problems,
    status_query,
    to_state,
    to_utc,
)
from landlord_workflow.providers.temporal._worker import HostedWorker, asl_sandbox_runner

__all__ = ["TemporalProvider"]

_log = logging.getLogger("landlord_workflow.providers.temporal")
_T = TypeVar("_T")

_LIST_PAGE_SIZE = 1000
_HISTORY_PAGE_SIZE = 1000
_MAX_HISTORY_PAGES = 1000
_REASON_PAGE_SIZE = 50
_REDRIVABLE = frozenset({ExecutionState.FAILED, ExecutionState.TIMED_OUT, ExecutionState.CANCELLED})
_STEP_FAILURE_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
    }
)
_CLOSE_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }
)


_EXIT_HOOK_REGISTERED = False


def _release_runtime_at_exit() -> None:
    """Free temporalio's default runtime before the interpreter shuts down.

    Its Rust threads can otherwise call into Python while the interpreter
    finalizes and crash a short-lived process on exit (SIGSEGV or SIGABRT,
    "PyGILState_Release: thread state ... must be current when releasing":
    temporalio/sdk-python#300). Dropping the runtime while Python is still
    whole (clients that are gone are collected first) lets its threads stop
    cleanly. A runtime a live client still uses is left alone.
    """
    gc.collect()
    reference = getattr(temporalio.runtime, "_runtime_ref", None)
    if reference is not None and hasattr(reference, "_default_runtime"):
        reference._default_runtime = None
    gc.collect()


def _register_exit_hook() -> None:
    global _EXIT_HOOK_REGISTERED  # noqa: PLW0603 - once per process
    if not _EXIT_HOOK_REGISTERED:
        _EXIT_HOOK_REGISTERED = True
        atexit.register(_release_runtime_at_exit)


def _duration(value: timedelta) -> Duration:
    duration = Duration()
    duration.FromTimedelta(value)
    return duration


@attrs.frozen(kw_only=True)
class _Closed:
    """What a closed run's close event says (cached per run id).

    ``checkpoint`` is where a redrive of a failed ASL run resumes (from its
    failure details).
    """

    output: Any = None
    error: ExecutionError | None = None
    checkpoint: Mapping[str, Any] | None = None


@attrs.frozen(kw_only=True)
class _StartPlan:
    """What a start sends: workflow type, task queue, reuse policy, arguments (values to
    encode), timeout."""

    workflow_type: str
    task_queue: str
    reuse_policy: WorkflowIdReusePolicy.ValueType
    arguments: list[Any]
    timeout: timedelta | None


@attrs.frozen(kw_only=True)
class _RunStart:
    """A run's arguments (cached per run id): the input, and an ASL run's config."""

    input: Any = None
    config: RunConfig | None = None


_NEVER_STARTED = "closed before WorkflowTaskStarted"
"""What the server says when a closed run that never ran a workflow task is queried."""


class _RunNeverStartedError(ProviderError):
    """A run closed (timed out, stopped) before its workflow ran at all: no state ran."""


class TemporalProvider(AsyncResource):
    """The :class:`~landlord_workflow.Provider` for Temporal (name ``"temporal"``).

    Two kinds of definition, told apart by their shape:

    * an Amazon States Language document runs as the built-in workflow
      ``landlord-workflow-asl``, which interprets it with the same core as
      the mock engine; each Task state is an activity calling
      ``task_handlers`` (the mock's handlers, routed the same way);
    * ``{"workflow_type": ..., "task_queue": ...}`` starts your own Temporal
      workflow type on that task queue (run by your workers), with the
      execution input as its single argument.

    Parameters (keyword-only):

    ``target_host``, ``namespace``
        Where the Temporal frontend is (``host:port``) and the namespace used.
    ``client``
        A connected ``temporalio.client.Client`` to use instead (TLS, API
        keys, interceptors, a payload codec: configure them on it). Its
        namespace wins over ``namespace``. The provider does not own it.
    ``connect_options``
        Extra keyword arguments for ``Client.connect`` (``tls``, ``api_key``,
        ``rpc_metadata``, ``data_converter``, ...) when no ``client`` is given.
    ``task_queue``
        The task queue of the worker this provider hosts (if any), and the
        one ASL executions are started on.
    ``task_handlers``
        Handlers of ASL Task states, exactly as for the mock engine. Given
        handlers, the provider hosts a worker for ASL executions (the
        interpreter workflow and the Task activity).
    ``echo_unknown_tasks``, ``default_task_duration``
        As on the mock: a Task without a handler returns its input after
        ``default_task_duration`` instead of failing as a missing resource
        fails on AWS (implies hosting the ASL worker).
    ``random_seed``
        Makes the randomness of ASL executions (``States.UUID``, jitter,
        JSONata ``$random``...) reproducible; without it each run draws from
        Temporal's deterministic workflow randomness.
    ``task_liveness_timeout``
        Heartbeat timeout of ASL Tasks without ``HeartbeatSeconds`` (default
        30 s): how soon a worker that died mid-task is noticed (the Task then
        times out as a missed heartbeat, ``States.Timeout``, and its Retry
        rules apply; ``States.HeartbeatTimeout`` matches it).
    ``workflows``, ``activities``
        Your own workflow classes and activity functions for the worker this
        provider hosts, so one process can run them.
    ``run_worker``
        Whether to host a worker. By default the provider hosts one exactly
        when it has something to run (handlers, your workflows or
        activities); ``True`` hosts the ASL worker even without handlers.
        A provider given nothing never polls a task queue, so the CLI or a
        service that only starts and watches executions never takes tasks
        it cannot run.
    ``rpc_timeout``
        Deadline of each RPC (default 10 s); a call past it raises
        :class:`~landlord_workflow.ProviderUnavailableError`.
    ``definition_cache_ttl``
        How long ``start_execution`` may reuse a definition it read (default
        30 s; ``0`` reads it on every start). ``get_workflow`` always reads
        Temporal. This provider's own ``create_workflow``/``delete_workflow``
        update the cache at once; another process's changes are seen within
        the TTL.
    ``name``
        The provider's name (default ``"temporal"``), e.g. to register two
        providers on two namespaces.

    ``spec.timeout`` (for ASL, the definition's ``TimeoutSeconds`` first) is
    the workflow execution timeout.
    """

    def __init__(
        self,
        *,
        target_host: str = "localhost:7233",
        namespace: str = "default",
        task_queue: str = "landlord-workflow",
        task_handlers: Mapping[str, TaskHandler] | None = None,
        echo_unknown_tasks: bool = False,
        default_task_duration: timedelta = timedelta(0),
        random_seed: int | None = None,
        task_liveness_timeout: timedelta = timedelta(seconds=DEFAULT_LIVENESS_SECONDS),
        client: Client | None = None,
        connect_options: Mapping[str, Any] | None = None,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        run_worker: bool | None = None,
        rpc_timeout: timedelta = timedelta(seconds=10),
        long_poll_timeout: timedelta = timedelta(seconds=70),
        definition_cache_ttl: timedelta = timedelta(seconds=30),
        graceful_shutdown: timedelta = timedelta(seconds=5),
        name: str = PROVIDER_NAME,
    ) -> None:
        if not name:
            raise ValueError("name must not be empty")
        if task_liveness_timeout <= timedelta(0):
            raise ValueError("task_liveness_timeout must be positive")
        self._name = name
        self._target_host = target_host
        self._namespace = client.namespace if client is not None else namespace
        self._task_queue = task_queue
        self._task_handlers: dict[str, TaskHandler] = dict(task_handlers or {})
        self._echo = echo_unknown_tasks
        self._default_task_seconds = default_task_duration.total_seconds()
        self._random_seed = random_seed
        self._liveness_seconds = task_liveness_timeout.total_seconds()
        self._client = client
        self._connect_options = dict(connect_options or {})
        self._rpc_timeout = rpc_timeout
        self._long_poll_timeout = long_poll_timeout
        self._cache_ttl = definition_cache_ttl.total_seconds()
        hosts_asl = bool(self._task_handlers) or echo_unknown_tasks or run_worker is True
        if run_worker is None:
            run_worker = hosts_asl or bool(workflows or activities)
        self._hosts_asl = bool(run_worker) and hosts_asl
        self._worker = (
            self._hosted_worker(workflows, activities, graceful_shutdown) if run_worker else None
        )
        self._open_lock = anyio.Lock()
        self._closed = False
        self._ledger = RequestLedger()
        self._specs: OrderedDict[str, tuple[float, WorkflowSpec]] = OrderedDict()
        self._starts: OrderedDict[str, _RunStart] = OrderedDict()
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._closes: OrderedDict[str, _Closed] = OrderedDict()

    def _hosted_worker(
        self,
        workflows: Sequence[type],
        activities: Sequence[Callable[..., Any]],
        graceful_shutdown: timedelta,
    ) -> HostedWorker:
        hosted_workflows = list(workflows)
        hosted_activities = list(activities)
        runner = None
        if self._hosts_asl:
            from landlord_workflow.providers.temporal._asl_activities import AslActivities
            from landlord_workflow.providers.temporal._asl_workflow import AslWorkflow

            asl = AslActivities(
                task_handlers=self._task_handlers,
                resolve=self._resolve_definition,
                echo_unknown_tasks=self._echo,
                default_task_seconds=self._default_task_seconds,
            )
            hosted_workflows.append(AslWorkflow)
            hosted_activities.extend(asl.definitions)
            runner = asl_sandbox_runner()
        return HostedWorker(
            task_queue=self._task_queue,
            workflows=hosted_workflows,
            activities=hosted_activities,
            graceful_shutdown=graceful_shutdown,
            workflow_runner=runner,
        )

    # -- identity and lifecycle ---------------------------------------------------------

    @property
    def name(self) -> str:
        """``"temporal"`` unless configured otherwise."""
        return self._name

    @property
    def namespace(self) -> str:
        """The Temporal namespace of every workflow this provider touches."""
        return self._namespace

    @property
    def task_queue(self) -> str:
        """The task queue of the hosted worker."""
        return self._task_queue

    @property
    def hosts_worker(self) -> bool:
        """Whether this provider runs a worker (it polls ``task_queue``)."""
        return self._worker is not None

    @property
    def client(self) -> Client:
        """The temporalio client (open it first with ``async with provider``)."""
        self._check_open()
        if self._client is None:
            raise ProviderError("TemporalProvider is not connected yet: use 'async with provider'")
        return self._client

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._client is not None else "idle")
        return (
            f"TemporalProvider(name={self._name!r}, target_host={self._target_host!r}, "
            f"namespace={self._namespace!r}, worker={self.hosts_worker}, state={state!r})"
        )

    def owns_execution(self, execution_id: str) -> bool:
        """Whether ``execution_id`` is one of ours: ``temporal:<namespace>:<wf>/<name>``."""
        ref = parse_execution_id(execution_id)
        return ref is not None and ref.namespace == self._namespace

    def owns_task_token(self, task_token: str) -> bool:
        """Whether ``task_token`` is one of ours: ``temporal-task:<namespace>:...``."""
        token = parse_task_token(task_token)
        return token is not None and token.namespace == self._namespace

    async def __aenter__(self) -> Self:
        await self._ensure_client()
        return self

    async def aclose(self) -> None:
        """Stop the hosted worker (if any). Idempotent; later calls raise ``ProviderError``."""
        self._closed = True
        with anyio.CancelScope(shield=True):
            async with self._open_lock:
                if self._worker is not None:
                    await self._worker.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise ProviderError("TemporalProvider is closed")

    async def _ensure_client(self) -> Client:
        self._check_open()
        client = self._client
        if client is not None and (self._worker is None or self._worker.running):
            return client
        async with self._open_lock:
            self._check_open()
            if self._client is None:
                _register_exit_hook()
                with translate_errors(RpcContext("Connect")):
                    with anyio.fail_after(self._rpc_timeout.total_seconds()):
                        self._client = await Client.connect(
                            self._target_host, namespace=self._namespace, **self._connect_options
                        )
            if self._worker is not None and not self._worker.running:
                await self._worker.start(self._client)
            return self._client

    async def _service(self) -> WorkflowService:
        return (await self._ensure_client()).workflow_service

    async def _rpc(
        self,
        operation: str,
        method: Callable[..., Awaitable[_T]],
        request: Message,
        *,
        workflow_id: str | None = None,
        execution_id: str | None = None,
        execution_name: str | None = None,
        timeout: timedelta | None = None,
    ) -> _T:
        """One RPC with temporalio's retries off and our deadline, errors mapped."""
        context = RpcContext(
            operation,
            workflow_id=workflow_id,
            execution_id=execution_id,
            execution_name=execution_name,
        )
        with translate_errors(context):
            return await method(request, retry=False, timeout=timeout or self._rpc_timeout)

    @contextmanager
    def _mapped(self, operation: str, **context: str | None) -> Iterator[None]:
        with translate_errors(RpcContext(operation, **context)):
            yield

    async def _encode(self, value: Any) -> Payload:
        return (await self._encode_all([value]))[0]

    async def _encode_all(self, values: Sequence[Any]) -> list[Payload]:
        client = await self._ensure_client()
        with self._mapped("EncodePayload"):
            return list(await client.data_converter.encode(list(values)))

    async def _decode(self, payloads: Sequence[Payload]) -> Any:
        values = await self._decode_all(payloads)
        return values[0] if values else None

    async def _decode_all(self, payloads: Sequence[Payload]) -> list[Any]:
        if not payloads:
            return []
        client = await self._ensure_client()
        try:
            return list(await client.data_converter.decode(list(payloads)))
        except Exception as exc:
            raise ProviderError(f"cannot decode a Temporal payload: {exc}") from exc

    async def _memo_values(self, memo: Memo) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, payload in memo.fields.items():
            values[key] = await self._decode([payload])
        return values

    # -- definitions ------------------------------------------------------------------------

    async def validate(self, spec: WorkflowSpec) -> None:
        """Check the definition locally (no RPC); raise :class:`InvalidSpecError`."""
        problems = spec_problems(spec)
        if problems:
            raise InvalidSpecError(problems)

    async def _describe_record(self, workflow_id: str) -> DescribeWorkflowExecutionResponse | None:
        request = DescribeWorkflowExecutionRequest(
            namespace=self._namespace,
            execution=WorkflowExecution(workflow_id=definition_workflow_id(workflow_id)),
        )
        try:
            return await self._rpc(
                "DescribeWorkflowExecution",
                (await self._service()).describe_workflow_execution,
                request,
                workflow_id=workflow_id,
            )
        except WorkflowNotFoundError:
            return None

    async def _read_record(self, workflow_id: str) -> tuple[WorkflowSpec, datetime | None] | None:
        described = await self._describe_record(workflow_id)
        if described is None:
            return None
        info = described.workflow_execution_info
        if info.status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING:
            return None
        values = await self._memo_values(info.memo)
        try:
            spec = spec_from_memo(values)
        except InvalidSpecError as exc:
            raise ProviderError(
                f"the definition record of {workflow_id!r} holds an unreadable spec: {exc}"
            ) from exc
        if spec is None:
            return None
        return spec, created_at_from_memo(values)

    def _cache_spec(self, spec: WorkflowSpec) -> None:
        bounded_put(self._specs, spec.workflow_id, (time.monotonic(), spec))

    async def _definition(self, workflow_id: str) -> WorkflowSpec:
        cached = self._specs.get(workflow_id)
        if cached is not None and time.monotonic() - cached[0] < self._cache_ttl:
            return cached[1]
        return await self.get_workflow(workflow_id)

    async def create_workflow(self, spec: WorkflowSpec) -> CreateWorkflowResult:
        """Store ``spec`` in its definition record; a no-op when it is already there."""
        self._check_open()
        await self.validate(spec)
        record_id = definition_workflow_id(spec.workflow_id)
        resource_ids = {"definition_workflow_id": record_id, "namespace": self._namespace}
        existing = await self._read_record(spec.workflow_id)
        if existing is not None and existing[0] == spec:
            self._cache_spec(spec)
            return CreateWorkflowResult(
                workflow_id=spec.workflow_id,
                provider_type=self._name,
                resource_ids=resource_ids,
                created_at=existing[1] or datetime.now(UTC),
                message="already existed, up to date",
            )
        created_at = (existing[1] if existing is not None else None) or datetime.now(UTC)
        memo = Memo(
            fields={
                key: await self._encode(value) for key, value in spec_memo(spec, created_at).items()
            }
        )
        request = StartWorkflowExecutionRequest(
            namespace=self._namespace,
            workflow_id=record_id,
            workflow_type=WorkflowType(name=DEFINITION_WORKFLOW_TYPE),
            task_queue=TaskQueue(name=DEFINITIONS_TASK_QUEUE),
            identity=self._identity(),
            request_id=str(uuid.uuid4()),
            workflow_id_reuse_policy=WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
            workflow_id_conflict_policy=(
                WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
            ),
            memo=memo,
            workflow_start_delay=_duration(RECORD_START_DELAY),
        )
        await self._rpc(
            "StartWorkflowExecution",
            (await self._service()).start_workflow_execution,
            request,
            workflow_id=spec.workflow_id,
        )
        self._cache_spec(spec)
        return CreateWorkflowResult(
            workflow_id=spec.workflow_id,
            provider_type=self._name,
            resource_ids=resource_ids,
            created_at=created_at,
            message="updated" if existing is not None else "created",
        )

    async def get_workflow(self, workflow_id: str) -> WorkflowSpec:
        """The spec stored in Temporal (never process memory); unknown: WorkflowNotFoundError."""
        self._check_open()
        if not is_workflow_id(workflow_id):
            raise WorkflowNotFoundError(workflow_id)
        found = await self._read_record(workflow_id)
        if found is None:
            self._specs.pop(workflow_id, None)
            raise WorkflowNotFoundError(workflow_id)
        self._cache_spec(found[0])
        return found[0]

    async def list_workflows(self) -> AsyncIterator[WorkflowSpec]:
        """Every stored workflow, from Temporal's visibility (eventually consistent)."""
        self._check_open()
        query = f"WorkflowType = '{DEFINITION_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'"
        async for entry in self._list(query):
            values = await self._memo_values(entry.memo)
            try:
                spec = spec_from_memo(values)
            except InvalidSpecError:
                _log.warning(
                    "skipping an unreadable definition record",
                    extra={"provider": self._name, "record": entry.execution.workflow_id},
                )
                continue
            if spec is not None:
                yield spec

    async def delete_workflow(self, workflow_id: str) -> None:
        """End the definition record; unknown workflows succeed. Executions keep running."""
        self._check_open()
        self._specs.pop(workflow_id, None)
        if not is_workflow_id(workflow_id):
            return
        request = TerminateWorkflowExecutionRequest(
            namespace=self._namespace,
            workflow_execution=WorkflowExecution(workflow_id=definition_workflow_id(workflow_id)),
            reason="landlord-workflow: workflow deleted",
            identity=self._identity(),
        )
        try:
            await self._rpc(
                "TerminateWorkflowExecution",
                (await self._service()).terminate_workflow_execution,
                request,
                workflow_id=workflow_id,
            )
        except WorkflowNotFoundError:
            return  # never created, or already deleted (closed)

    # -- executions ---------------------------------------------------------------------------

    def _identity(self) -> str:
        return f"landlord-workflow/{self._name}"

    def _ref(self, execution_id: str) -> ExecutionRef:
        ref = parse_execution_id(execution_id)
        if ref is None or ref.namespace != self._namespace:
            raise ExecutionNotFoundError(execution_id)
        return ref

    def _run_config(self, spec: WorkflowSpec, ref: ExecutionRef) -> RunConfig:
        """The first run's config of an ASL execution of ``spec``."""
        return RunConfig(
            definition=json.dumps(spec.definition, ensure_ascii=False),
            execution_id=ref.execution_id,
            name=ref.name,
            state_machine_id=f"{EXECUTION_ID_PREFIX}{self._namespace}:{ref.workflow_id}",
            state_machine_name=ref.workflow_id,
            seed=self._random_seed,
            liveness_seconds=self._liveness_seconds,
        )

    def _start_plan(self, spec: WorkflowSpec, ref: ExecutionRef, value: Any) -> _StartPlan:
        """What starting an execution of ``spec`` starts: type, queue, arguments, timeout."""
        if not is_asl(spec.definition):
            native = NativeDefinition.parse(spec.definition)
            return _StartPlan(
                workflow_type=native.workflow_type,
                task_queue=native.task_queue,
                reuse_policy=native.reuse_policy,
                arguments=[value],
                timeout=spec.timeout,
            )
        problems = check_json(value, "input", max_bytes=MAX_PAYLOAD_BYTES)
        if problems:
            raise InvalidSpecError(problems)
        config = self._run_config(spec, ref)
        machine = machine_for(config.definition)
        timeout = spec.timeout
        if machine.timeout_seconds is not None:  # the definition's own wins, as on the mock
            timeout = timedelta(seconds=machine.timeout_seconds)
        return _StartPlan(
            workflow_type=WORKFLOW_TYPE,
            task_queue=self._task_queue,
            reuse_policy=WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
            arguments=[value, config.to_json()],
            timeout=timeout,
        )

    async def start_execution(
        self, workflow_id: str, execution_input: ExecutionInput
    ) -> ExecutionResult:
        """StartWorkflowExecution with the Temporal workflow id ``<workflow_id>/<name>``.

        A random name when none is given. The same name with the same input
        while it runs returns that execution; a closed one, or other input,
        raises :class:`ExecutionAlreadyExistsError` (with the default
        ``id_reuse_policy``). A retry of a start whose answer was lost sends
        the same request id, and Temporal returns the execution it created.
        """
        self._check_open()
        if not is_workflow_id(workflow_id):
            raise WorkflowNotFoundError(workflow_id)
        name = execution_input.execution_name or uuid.uuid4().hex
        if EXECUTION_NAME_PATTERN.fullmatch(name) is None:
            raise InvalidSpecError.single(
                "execution_name", "must be 1-80 letters, digits, '-' or '_'"
            )
        spec = await self._definition(workflow_id)
        ref = ExecutionRef(namespace=self._namespace, workflow_id=workflow_id, name=name)
        digest = input_digest(execution_input.input)
        plan = self._start_plan(spec, ref, execution_input.input)
        values = list(plan.arguments)
        if execution_input.tags:  # kept in the memo (no tags: no memo, a cheaper start)
            values.append(
                {
                    "workflow_id": workflow_id,
                    "input_sha256": digest,
                    "tags": dict(execution_input.tags),
                }
            )
        # One pass through the data converter (and payload codec) for everything.
        payloads = await self._encode_all(values)
        arguments = payloads[: len(plan.arguments)]
        memo = Memo(fields={EXECUTION_KEY: payloads[-1]} if execution_input.tags else {})
        request_id, repeated = self._ledger.start_request(ref.temporal_id, digest)
        request = StartWorkflowExecutionRequest(
            namespace=self._namespace,
            workflow_id=ref.temporal_id,
            workflow_type=WorkflowType(name=plan.workflow_type),
            task_queue=TaskQueue(name=plan.task_queue),
            identity=self._identity(),
            request_id=request_id,
            workflow_id_reuse_policy=plan.reuse_policy,
            workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
            memo=memo,
        )
        request.input.payloads.extend(arguments)
        if plan.timeout is not None:
            request.workflow_execution_timeout.CopyFrom(_duration(plan.timeout))
        service = await self._service()
        context = RpcContext(
            "StartWorkflowExecution",
            workflow_id=workflow_id,
            execution_id=ref.execution_id,
            execution_name=name,
        )
        try:
            with translate_errors(context):
                try:
                    await service.start_workflow_execution(
                        request, retry=False, timeout=self._rpc_timeout
                    )
                except RPCError as exc:
                    if exc.status is not RPCStatusCode.ALREADY_EXISTS:
                        raise
                    self._ledger.start_settled(ref.temporal_id, digest)
                    return await self._existing_start(ref, digest, exc)
        except TransientError:
            raise  # no answer: in doubt, the retry sends the same request id
        except WorkflowError:
            self._ledger.start_settled(ref.temporal_id, digest)  # refused: nothing made
            raise
        self._ledger.start_settled(ref.temporal_id, digest)
        if repeated:
            # The request id of a lost attempt: Temporal returned the run that
            # attempt made, which may have ended since.
            described = await self._describe(ref)
            info = described.workflow_execution_info
            return self._result(
                ref,
                to_state(info.status),
                to_utc(info.start_time),
                "started by an earlier attempt whose answer was lost",
            )
        return self._result(ref, ExecutionState.RUNNING, datetime.now(UTC))

    def _result(
        self, ref: ExecutionRef, state: ExecutionState, started_at: datetime, message: str = ""
    ) -> ExecutionResult:
        """What a start or a redrive of ``ref`` returns."""
        return ExecutionResult(
            execution_id=ref.execution_id,
            workflow_id=ref.workflow_id,
            provider_type=self._name,
            state=state,
            started_at=started_at,
            message=message,
        )

    async def _existing_start(
        self, ref: ExecutionRef, digest: str, cause: RPCError
    ) -> ExecutionResult:
        described = await self._describe(ref)
        info = described.workflow_execution_info
        state = to_state(info.status)
        values = await self._memo_values(info.memo)
        recorded = values.get(EXECUTION_KEY)
        if isinstance(recorded, Mapping) and "input_sha256" in recorded:
            same_input = recorded["input_sha256"] == digest
        else:  # no tags, no memo: the input of the run itself decides
            run = await self._run_start(ref, info.execution.run_id)
            same_input = input_digest(run.input) == digest
        if same_input and state is ExecutionState.RUNNING:
            return self._result(
                ref, state, to_utc(info.start_time), "already running with the same input"
            )
        detail = (
            "it is running with a different input"
            if state is ExecutionState.RUNNING
            else f"it is {state.value}"
        )
        raise ExecutionAlreadyExistsError(
            ref.name, detail, execution_id=ref.execution_id
        ) from cause

    async def _describe(self, ref: ExecutionRef) -> DescribeWorkflowExecutionResponse:
        request = DescribeWorkflowExecutionRequest(
            namespace=self._namespace, execution=WorkflowExecution(workflow_id=ref.temporal_id)
        )
        return await self._rpc(
            "DescribeWorkflowExecution",
            (await self._service()).describe_workflow_execution,
            request,
            workflow_id=ref.workflow_id,
            execution_id=ref.execution_id,
        )

    async def _history(
        self, ref: ExecutionRef, run_id: str, *, close_only: bool = False
    ) -> list[HistoryEvent]:
        events: list[HistoryEvent] = []
        token = b""
        for _ in range(_MAX_HISTORY_PAGES):
            request = GetWorkflowExecutionHistoryRequest(
                namespace=self._namespace,
                execution=WorkflowExecution(workflow_id=ref.temporal_id, run_id=run_id),
                maximum_page_size=_HISTORY_PAGE_SIZE,
                next_page_token=token,
                history_event_filter_type=(
                    HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
                    if close_only
                    else HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT
                ),
            )
            page = await self._rpc(
                "GetWorkflowExecutionHistory",
                (await self._service()).get_workflow_execution_history,
                request,
                workflow_id=ref.workflow_id,
                execution_id=ref.execution_id,
            )
            events.extend(page.history.events)
            token = page.next_page_token
            if not token:
                return events
        raise ProviderError(f"history of {ref.execution_id!r} has too many pages")

    async def _run_start(self, ref: ExecutionRef, run_id: str) -> _RunStart:
        """A run's arguments: the execution input, and for an ASL run its config (cached)."""
        cached = self._starts.get(run_id)
        if cached is not None:
            return cached
        request = GetWorkflowExecutionHistoryRequest(
            namespace=self._namespace,
            execution=WorkflowExecution(workflow_id=ref.temporal_id, run_id=run_id),
            maximum_page_size=1,
        )
        page = await self._rpc(
            "GetWorkflowExecutionHistory",
            (await self._service()).get_workflow_execution_history,
            request,
            workflow_id=ref.workflow_id,
            execution_id=ref.execution_id,
        )
        start = _RunStart()
        for event in page.history.events[:1]:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                started = event.workflow_execution_started_event_attributes
                values = await self._decode_all(started.input.payloads)
                config = None
                if started.workflow_type.name == WORKFLOW_TYPE and len(values) > 1:
                    try:
                        config = RunConfig.from_json(values[1])
                    except (KeyError, TypeError, ValueError) as exc:
                        raise ProviderError(
                            f"the ASL run {run_id!r} of {ref.execution_id!r} has an unreadable "
                            f"config: {exc}"
                        ) from exc
                start = _RunStart(input=values[0] if values else None, config=config)
        bounded_put(self._starts, run_id, start)
        return start

    async def _close_info(
        self,
        ref: ExecutionRef,
        run_id: str,
        state: ExecutionState,
        history: Sequence[HistoryEvent] | None,
        *,
        asl: bool = False,
    ) -> _Closed:
        cached = self._closes.get(run_id)
        if cached is not None:
            return cached
        events = list(history) if history is not None else None
        if events is None:
            events = await self._history(ref, run_id, close_only=True)
        close = next((e for e in reversed(events) if e.event_type in _CLOSE_EVENTS), None)
        closed = _Closed()
        if close is None:
            return closed  # not closed after all: a racing reset; nothing to cache
        if state is ExecutionState.SUCCEEDED:
            result = close.workflow_execution_completed_event_attributes.result
            closed = _Closed(output=await self._decode(result.payloads))
        elif state is ExecutionState.FAILED:
            failure = close.workflow_execution_failed_event_attributes.failure
            from_asl = await self._asl_failure(failure) if asl else None
            closed = from_asl or _Closed(error=error_from_failure(failure))
        elif state is ExecutionState.TIMED_OUT and asl:
            # As on the mock (and AWS): an execution time-out has no cause.
            closed = _Closed(
                error=ExecutionError(
                    code=TIMEOUT_ERROR_CODE, message="the execution timed out", cause=None
                )
            )
        elif state is ExecutionState.TIMED_OUT:
            closed = _Closed(
                error=ExecutionError(
                    code=TIMEOUT_ERROR_CODE,
                    message="the workflow execution timed out",
                    cause="workflow execution timeout exceeded",
                )
            )
        elif close.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            reason = close.workflow_execution_terminated_event_attributes.reason
            closed = _Closed(
                error=ExecutionError(
                    code=TERMINATED_ERROR_CODE,
                    message=reason or "the workflow execution was terminated",
                    cause=reason or None,
                )
            )
        elif state is ExecutionState.CANCELLED:
            requested = await self._cancel_reason(ref, run_id, history)
            closed = _Closed(
                error=ExecutionError(
                    code=CANCELLED_ERROR_CODE,
                    message=requested or "the execution was stopped",
                    cause=requested,
                )
            )
        bounded_put(self._closes, run_id, closed)
        return closed

    async def _asl_failure(self, failure: Failure) -> _Closed | None:
        """The error and checkpoint an ASL workflow put in its failure's details."""
        if not failure.HasField("application_failure_info"):
            return None
        details = await self._decode(failure.application_failure_info.details.payloads)
        if not isinstance(details, Mapping) or not details.get(FAILURE_KEY):
            return None
        code = details.get("error")
        cause = details.get("cause")
        checkpoint = details.get("checkpoint")
        return _Closed(
            error=ExecutionError(
                code=code if isinstance(code, str) else NO_ERROR_CODE,
                message=cause or code or "the execution failed with no error name",
                cause=cause if isinstance(cause, str) else None,
                failed_at=details.get("state") if isinstance(details.get("state"), str) else None,
            ),
            checkpoint=checkpoint if isinstance(checkpoint, Mapping) else None,
        )

    async def _cancel_reason(
        self, ref: ExecutionRef, run_id: str, history: Sequence[HistoryEvent] | None
    ) -> str | None:
        events: Sequence[HistoryEvent]
        if history is not None:
            events = list(reversed(history))
        else:
            request = GetWorkflowExecutionHistoryReverseRequest(
                namespace=self._namespace,
                execution=WorkflowExecution(workflow_id=ref.temporal_id, run_id=run_id),
                maximum_page_size=_REASON_PAGE_SIZE,
            )
            page = await self._rpc(
                "GetWorkflowExecutionHistoryReverse",
                (await self._service()).get_workflow_execution_history_reverse,
                request,
                workflow_id=ref.workflow_id,
                execution_id=ref.execution_id,
            )
            events = page.history.events
        for event in events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
                return event.workflow_execution_cancel_requested_event_attributes.cause or None
        return None

    async def get_execution_status(
        self, execution_id: str, *, include_history: bool = False
    ) -> ExecutionStatus:
        """DescribeWorkflowExecution, plus the input once and a closed run's
        close event once; the whole history only when asked."""
        self._check_open()
        ref = self._ref(execution_id)
        described = await self._describe(ref)
        info = described.workflow_execution_info
        run_id = info.execution.run_id
        state = to_state(info.status)
        start = await self._run_start(ref, run_id)
        config = start.config
        asl = info.type.name == WORKFLOW_TYPE
        raw = await self._history(ref, run_id) if include_history and not asl else None
        closed = _Closed()
        if state.is_terminal:
            closed = await self._close_info(ref, run_id, state, raw, asl=asl)
        stop_time = to_utc(info.close_time) if info.HasField("close_time") else None
        history: list[ExecutionEvent] = []
        if include_history and asl:
            history = await self._asl_history(ref, run_id, config)
            if not history:  # closed before its workflow ran: the engine's start is all there is
                history.append(
                    ExecutionEvent(
                        timestamp=to_utc(info.start_time),
                        type="ExecutionStarted",
                        details={"raw_type": "WorkflowExecutionStarted"},
                    )
                )
            history.extend(self._asl_end_events(info.status, stop_time, closed))
        elif include_history:
            history = normalise_history(raw or ())
        metadata: dict[str, Any] = {
            "namespace": self._namespace,
            "temporal_workflow_id": ref.temporal_id,
            "run_id": run_id,
            "workflow_type": info.type.name,
            "task_queue": info.task_queue,
            "history_length": info.history_length,
            "execution_name": ref.name,
        }
        start_time = to_utc(info.start_time)
        if config is not None:
            metadata["redrive_count"] = config.redrive_count
            if config.start_time:
                start_time = datetime.fromisoformat(config.start_time).astimezone(UTC)
        # Any: mypy's attrs plugin cannot type ExecutionStatus's tuple converter.
        events: Any = tuple(history)
        return ExecutionStatus(
            execution_id=ref.execution_id,
            workflow_id=ref.workflow_id,
            provider_type=self._name,
            state=state,
            start_time=start_time,
            stop_time=stop_time,
            input=start.input,
            output=closed.output if state is ExecutionState.SUCCEEDED else None,
            error=closed.error,
            history=events,
            metadata=metadata,
        )

    async def _query(self, ref: ExecutionRef, run_id: str, query_type: str, *args: Any) -> Any:
        """Ask one run of an ASL workflow (a worker answers; a closed run is replayed)."""
        request = QueryWorkflowRequest(
            namespace=self._namespace,
            execution=WorkflowExecution(workflow_id=ref.temporal_id, run_id=run_id),
            query=WorkflowQuery(
                query_type=query_type, query_args=Payloads(payloads=await self._encode_all(args))
            ),
        )
        try:
            response = await self._rpc(
                "QueryWorkflow",
                (await self._service()).query_workflow,
                request,
                workflow_id=ref.workflow_id,
                execution_id=ref.execution_id,
            )
        except ProviderUnavailableError as exc:
            raise ProviderUnavailableError(
                f"{exc} (ASL histories and redrive points are read from a worker hosting the "
                f"ASL workflow: is one polling task queue {self._task_queue!r}?)"
            ) from exc
        except InvalidSpecError as exc:  # the query failed in the workflow
            raise ProviderError(
                f"the query {query_type!r} of {ref.execution_id!r} failed: {exc}"
            ) from exc
        except ProviderError as exc:
            if _NEVER_STARTED in str(exc):
                raise _RunNeverStartedError(str(exc)) from exc
            raise
        if response.HasField("query_rejected"):
            raise ProviderError(f"the query {query_type!r} of {ref.execution_id!r} was rejected")
        return await self._decode(response.query_result.payloads)

    async def _asl_history(
        self, ref: ExecutionRef, run_id: str, config: RunConfig | None
    ) -> list[ExecutionEvent]:
        """The state-level history of every run of an ASL execution (first run first)."""
        runs = [run_id]
        previous = config.previous_run_id if config is not None else None
        while previous is not None and previous not in runs:
            runs.append(previous)
            earlier = (await self._run_start(ref, previous)).config
            previous = earlier.previous_run_id if earlier is not None else None
        events: list[ExecutionEvent] = []
        for each in reversed(runs):
            events.extend(await self._run_events(ref, each))
            if each != run_id:  # an earlier run: how it ended, if the engine ended it
                events.extend(await self._earlier_end(ref, each))
        return events

    async def _run_events(self, ref: ExecutionRef, run_id: str) -> list[ExecutionEvent]:
        """The events the interpreter recorded in one run (read page by page)."""
        events: list[ExecutionEvent] = []
        start: int | None = 0
        while start is not None:
            try:
                page = await self._query(ref, run_id, HISTORY_QUERY, start)
            except _RunNeverStartedError:
                return events  # closed (timed out, stopped) before it ran a single state
            if not isinstance(page, Mapping):
                raise ProviderError(f"unreadable ASL history of {ref.execution_id!r}")
            for moment, kind, details in page.get("events") or ():
                events.append(
                    ExecutionEvent(
                        timestamp=datetime.fromisoformat(moment).astimezone(UTC),
                        type=kind,
                        details=details,
                    )
                )
            following = page.get("next")
            start = following if isinstance(following, int) and following > start else None
        return events

    async def _earlier_end(self, ref: ExecutionRef, run_id: str) -> list[ExecutionEvent]:
        request = DescribeWorkflowExecutionRequest(
            namespace=self._namespace,
            execution=WorkflowExecution(workflow_id=ref.temporal_id, run_id=run_id),
        )
        described = await self._rpc(
            "DescribeWorkflowExecution",
            (await self._service()).describe_workflow_execution,
            request,
            workflow_id=ref.workflow_id,
            execution_id=ref.execution_id,
        )
        info = described.workflow_execution_info
        state = to_state(info.status)
        if not state.is_terminal or not info.HasField("close_time"):
            return []
        closed = await self._close_info(ref, run_id, state, None, asl=True)
        return self._asl_end_events(info.status, to_utc(info.close_time), closed)

    @staticmethod
    def _asl_end_events(
        status: int, stop_time: datetime | None, closed: _Closed
    ) -> list[ExecutionEvent]:
        """The end the engine records itself: a stop, a termination or a time-out."""
        if stop_time is None:
            return []
        error = closed.error
        if status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED:
            cause = error.cause if error is not None else None
            return [
                ExecutionEvent(
                    timestamp=stop_time,
                    type="ExecutionCancelled",
                    details={"cause": cause, "raw_type": "ExecutionAborted"},
                )
            ]
        if status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED:
            return [
                ExecutionEvent(
                    timestamp=stop_time,
                    type="ExecutionCancelled",
                    details={
                        "error": TERMINATED_ERROR_CODE,
                        "cause": error.cause if error is not None else None,
                        "raw_type": "WorkflowExecutionTerminated",
                    },
                )
            ]
        if status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
            return [
                ExecutionEvent(
                    timestamp=stop_time,
                    type="ExecutionTimedOut",
                    details={"raw_type": "ExecutionTimedOut"},
                )
            ]
        return []

    async def stop_execution(self, execution_id: str, reason: str) -> None:
        """RequestCancelWorkflowExecution with ``reason``; the workflow ends ``cancelled``
        once its code handles the cancellation. Closed executions: no-op."""
        self._check_open()
        ref = self._ref(execution_id)
        request = RequestCancelWorkflowExecutionRequest(
            namespace=self._namespace,
            workflow_execution=WorkflowExecution(workflow_id=ref.temporal_id),
            identity=self._identity(),
            request_id=str(uuid.uuid4()),
            reason=reason,
        )
        try:
            await self._rpc(
                "RequestCancelWorkflowExecution",
                (await self._service()).request_cancel_workflow_execution,
                request,
                workflow_id=ref.workflow_id,
                execution_id=ref.execution_id,
            )
        except ExecutionNotFoundError:
            # Temporal answers NOT_FOUND for a closed workflow too: stopping a
            # closed execution changes nothing, an unknown one is not found.
            await self._describe(ref)

    # -- optional capabilities ----------------------------------------------------------------

    async def redrive_execution(self, execution_id: str) -> ExecutionResult:
        """Resume a failed, timed-out or cancelled execution at the step that did not complete.

        An ASL execution gets a new run of the same Temporal workflow,
        started with the interpreter's checkpoint of the run that ended (from
        its failure details, or asked of it with a query): completed states
        and Tasks are not run again, Parallel branches and Map iterations that
        finished keep their outputs. A native execution is reset to the last
        workflow task completed before it failed: the history up to that
        point is kept, so activities that completed before it are not run
        again; the failed step runs again. A succeeded or running execution
        raises :class:`ProviderError` (not redrivable).
        """
        self._check_open()
        ref = self._ref(execution_id)
        described = await self._describe(ref)
        info = described.workflow_execution_info
        state = to_state(info.status)
        lost = self._ledger.lost_redrive(ref.temporal_id)
        if lost is not None and lost[0] != info.execution.run_id:
            # An earlier redrive whose answer was lost made the current run.
            self._ledger.redrive_settled(ref.temporal_id)
            return self._result(
                ref,
                state,
                datetime.now(UTC),
                "redriven by an earlier attempt whose answer was lost",
            )
        if state not in _REDRIVABLE:
            raise ProviderError(
                f"execution {execution_id!r} is {state.value}: only failed, timed-out or "
                "cancelled executions can be redriven"
            )
        base_run = info.execution.run_id
        if info.type.name == WORKFLOW_TYPE:
            return await self._redrive_asl(ref, described, state)
        point = _reset_point(await self._history(ref, base_run))
        if point is None:
            raise ProviderError(
                f"execution {execution_id!r} ended before its first workflow task completed: "
                "there is no progress to resume from (start a new execution instead)"
            )
        request = ResetWorkflowExecutionRequest(
            namespace=self._namespace,
            workflow_execution=WorkflowExecution(workflow_id=ref.temporal_id, run_id=base_run),
            reason="landlord-workflow: redrive",
            workflow_task_finish_event_id=point,
            request_id=self._ledger.redrive_request(ref.temporal_id, base_run),
        )
        try:
            await self._rpc(
                "ResetWorkflowExecution",
                (await self._service()).reset_workflow_execution,
                request,
                workflow_id=ref.workflow_id,
                execution_id=ref.execution_id,
            )
        except TransientError:
            raise  # no answer: in doubt, the retry sends the same request id
        except WorkflowError:
            self._ledger.redrive_settled(ref.temporal_id)
            raise
        self._ledger.redrive_settled(ref.temporal_id)
        return self._result(ref, ExecutionState.RUNNING, datetime.now(UTC), "redriven")

    async def _redrive_asl(
        self, ref: ExecutionRef, described: DescribeWorkflowExecutionResponse, state: ExecutionState
    ) -> ExecutionResult:
        """Start the next run of an ASL execution from the checkpoint of the one that ended."""
        info = described.workflow_execution_info
        base_run = info.execution.run_id
        start = await self._run_start(ref, base_run)
        if start.config is None:
            raise ProviderError(f"the ASL run of {ref.execution_id!r} has no config to redrive")
        checkpoint: Any = None
        if state is ExecutionState.FAILED:
            checkpoint = (await self._close_info(ref, base_run, state, None, asl=True)).checkpoint
        if checkpoint is None:
            try:
                checkpoint = await self._query(ref, base_run, CHECKPOINT_QUERY)
            except _RunNeverStartedError:
                checkpoint = None
        if not isinstance(checkpoint, Mapping):
            raise ProviderError(
                f"execution {ref.execution_id!r} ended before it began: there is no progress "
                "to resume from (start a new execution instead)"
            )
        config = start.config.redriven(
            checkpoint=checkpoint, previous_run_id=base_run, start_time=to_utc(info.start_time)
        )
        request = StartWorkflowExecutionRequest(
            namespace=self._namespace,
            workflow_id=ref.temporal_id,
            workflow_type=WorkflowType(name=WORKFLOW_TYPE),
            task_queue=TaskQueue(name=info.task_queue or self._task_queue),
            identity=self._identity(),
            request_id=self._ledger.redrive_request(ref.temporal_id, base_run),
            # Only a run that did not succeed may be followed (failed, timed out, cancelled).
            workflow_id_reuse_policy=(
                WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
            ),
            workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
            memo=Memo(fields={k: v for k, v in info.memo.fields.items() if k != TOKENS_MEMO_KEY}),
        )
        request.input.payloads.extend(
            [await self._encode(start.input), await self._encode(config.to_json())]
        )
        timeout = described.execution_config.workflow_execution_timeout
        if timeout.seconds or timeout.nanos:
            request.workflow_execution_timeout.CopyFrom(timeout)
        context = RpcContext(
            "StartWorkflowExecution",
            workflow_id=ref.workflow_id,
            execution_id=ref.execution_id,
            execution_name=ref.name,
        )
        try:
            with translate_errors(context):
                await (await self._service()).start_workflow_execution(
                    request, retry=False, timeout=self._rpc_timeout
                )
        except TransientError:
            raise  # no answer: in doubt, the retry sends the same request id
        except ExecutionAlreadyExistsError as exc:
            self._ledger.redrive_settled(ref.temporal_id)
            raise ProviderError(
                f"execution {ref.execution_id!r} is running again (redriven meanwhile)"
            ) from exc
        except WorkflowError:
            self._ledger.redrive_settled(ref.temporal_id)
            raise
        self._ledger.redrive_settled(ref.temporal_id)
        return self._result(
            ref,
            ExecutionState.RUNNING,
            datetime.now(UTC),
            f"redriven from {_resume_state(checkpoint)}",
        )

    async def watch_execution(self, execution_id: str) -> AsyncIterator[ExecutionStatus]:
        """Yield the status now, then after each change, ending with the terminal one.

        Waits by long-polling the run's history for its close event (no
        polling loop on our side).
        """
        status = await self.get_execution_status(execution_id)
        yield status
        ref = self._ref(execution_id)
        last = status.state
        while not status.state.is_terminal:
            await self._wait_for_close(ref, str(status.metadata["run_id"]))
            status = await self.get_execution_status(execution_id)
            if status.state is not last:
                last = status.state
                yield status

    async def _wait_for_close(self, ref: ExecutionRef, run_id: str) -> None:
        token = b""
        while True:
            request = GetWorkflowExecutionHistoryRequest(
                namespace=self._namespace,
                execution=WorkflowExecution(workflow_id=ref.temporal_id, run_id=run_id),
                next_page_token=token,
                wait_new_event=True,
                history_event_filter_type=(
                    HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
                ),
            )
            page = await self._rpc(
                "GetWorkflowExecutionHistory",
                (await self._service()).get_workflow_execution_history,
                request,
                workflow_id=ref.workflow_id,
                execution_id=ref.execution_id,
                timeout=self._long_poll_timeout,
            )
            if page.history.events or not page.next_page_token:
                return
            token = page.next_page_token

    # -- task tokens (ASL .waitForTaskToken) ------------------------------------------------

    async def send_task_success(self, task_token: str, output: Any) -> None:
        """Complete a waiting ``.waitForTaskToken`` Task with ``output`` (its result)."""
        self._check_open()
        token = self._task_token(task_token)
        problems = check_json(output, "output", max_bytes=MAX_PAYLOAD_BYTES)
        if problems:
            detail = "; ".join(f"{field} {message}" for field, message in problems)
            raise TaskTokenError(task_token, f"invalid output: {detail}")
        await self._answer(
            token, task_token, {"token": task_token, "kind": "success", "output": output}
        )

    async def send_task_failure(
        self, task_token: str, error: str | None, cause: str | None = None
    ) -> None:
        """Fail a waiting ``.waitForTaskToken`` Task with ``error`` and ``cause``."""
        self._check_open()
        token = self._task_token(task_token)
        await self._answer(
            token,
            task_token,
            {"token": task_token, "kind": "failure", "error": error, "cause": cause},
        )

    async def send_task_heartbeat(self, task_token: str) -> None:
        """Report that the work of a waiting ``.waitForTaskToken`` Task goes on."""
        self._check_open()
        token = self._task_token(task_token)
        await self._answer(token, task_token, {"token": task_token, "kind": "heartbeat"})

    def _task_token(self, text: str) -> TaskToken:
        token = parse_task_token(text)
        if token is None or token.namespace != self._namespace:
            raise TaskTokenError(text, "it is not a task token of this provider")
        return token

    async def _answer(self, token: TaskToken, text: str, message: Mapping[str, Any]) -> None:
        """Signal the run waiting on ``token``, once it is known to be waiting.

        The run lists its open tokens in its memo; DescribeWorkflowExecution
        reads it (no worker needed), so an unknown, answered or timed-out
        token is refused at once with :class:`TaskTokenError`, and so is a
        token this provider answered before. (An answer sent by another
        process in the moment between a first answer and the workflow
        taking it is not refused: the workflow ignores it.) A signal whose
        answer was lost is sent again with the same request id (delivered
        once), without the check: the token it closed is then closed.
        """
        kind = str(message["kind"])
        if text in self._answered:
            raise TaskTokenError(text, "its task was answered already")
        request_id, repeated = self._ledger.signal_request(text, kind)
        execution = WorkflowExecution(workflow_id=token.workflow_id, run_id=token.run_id)
        try:
            if not repeated:
                await self._check_waiting(token, text, execution)
            request = SignalWorkflowExecutionRequest(
                namespace=self._namespace,
                workflow_execution=execution,
                signal_name=CALLBACK_SIGNAL,
                identity=self._identity(),
                request_id=request_id,
            )
            request.input.payloads.append(await self._encode(dict(message)))
            try:
                await self._rpc(
                    "SignalWorkflowExecution",
                    (await self._service()).signal_workflow_execution,
                    request,
                    execution_id=text,
                )
            except ExecutionNotFoundError as exc:
                raise TaskTokenError(text, "its execution has ended") from exc
        except TransientError:
            raise  # no answer: in doubt, the retry sends the same request id
        except BaseException:
            self._ledger.signal_settled(text, kind)
            raise
        self._ledger.signal_settled(text, kind)
        if kind != "heartbeat":
            bounded_put(self._answered, text, None)

    async def _check_waiting(
        self, token: TaskToken, text: str, execution: WorkflowExecution
    ) -> None:
        request = DescribeWorkflowExecutionRequest(namespace=self._namespace, execution=execution)
        try:
            described = await self._rpc(
                "DescribeWorkflowExecution",
                (await self._service()).describe_workflow_execution,
                request,
                execution_id=text,
            )
        except ExecutionNotFoundError as exc:
            raise TaskTokenError(text, "no such execution") from exc
        info = described.workflow_execution_info
        if info.status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING:
            raise TaskTokenError(text, "its execution has ended")
        payload = info.memo.fields.get(TOKENS_MEMO_KEY)
        open_keys = await self._decode([payload]) if payload is not None else None
        if not isinstance(open_keys, list) or token.key not in open_keys:
            raise TaskTokenError(text, "its task is not waiting (answered, timed out or unknown)")

    # -- nested executions (the ASL worker's resolve activity) -------------------------------

    async def _resolve_definition(self, workflow_id: str, state_machine_arn: str) -> dict[str, Any]:
        """What a nested ``startExecution`` of ``workflow_id`` starts (read from Temporal)."""
        try:
            spec = await self.get_workflow(workflow_id)
        except WorkflowNotFoundError:
            raise StatesError(
                "StepFunctions.StateMachineDoesNotExistException",
                f"State Machine Does Not Exist: '{state_machine_arn}' (Service: "
                "AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist)",
            ) from None
        timeout = spec.timeout.total_seconds() if spec.timeout is not None else None
        if is_asl(spec.definition):
            text = json.dumps(spec.definition, ensure_ascii=False)
            machine = machine_for(text)
            if machine.timeout_seconds is not None:
                timeout = float(machine.timeout_seconds)
            return {"kind": "asl", "definition": text, "timeout_seconds": timeout}
        native = NativeDefinition.parse(spec.definition)
        return {
            "kind": "native",
            "workflow_type": native.workflow_type,
            "task_queue": native.task_queue,
            "timeout_seconds": timeout,
        }

    async def _list(self, query: str) -> AsyncIterator[Any]:
        token = b""
        while True:
            request = ListWorkflowExecutionsRequest(
                namespace=self._namespace,
                page_size=_LIST_PAGE_SIZE,
                next_page_token=token,
                query=query,
            )
            page = await self._rpc(
                "ListWorkflowExecutions",
                (await self._service()).list_workflow_executions,
                request,
            )
            for entry in page.executions:
                yield entry
            token = page.next_page_token
            if not token:
                return

    async def list_executions(
        self, workflow_id: str, *, state: ExecutionState | None = None
    ) -> AsyncIterator[ExecutionStatus]:
        """The executions of ``workflow_id`` from Temporal's visibility, newest
        first (eventually consistent: a change can take a moment to show)."""
        self._check_open()
        if not is_workflow_id(workflow_id):
            raise WorkflowNotFoundError(workflow_id)
        query = f"WorkflowId STARTS_WITH '{workflow_id}/'"
        if state is not None:
            clause = status_query(state)
            if clause is None:
                return
            query += f" AND {clause}"
        seen: set[str] = set()
        async for entry in self._list(query):
            temporal_id = entry.execution.workflow_id
            if temporal_id in seen:
                continue  # an older run of a redriven execution
            seen.add(temporal_id)
            name = temporal_id.partition("/")[2]
            if EXECUTION_NAME_PATTERN.fullmatch(name) is None:
                continue
            ref = ExecutionRef(namespace=self._namespace, workflow_id=workflow_id, name=name)
            if state in _REDRIVABLE:
                current = await self._describe(ref)
                if current.workflow_execution_info.execution.run_id != entry.execution.run_id:
                    continue  # a redrive replaced this run
            yield ExecutionStatus(
                execution_id=ref.execution_id,
                workflow_id=workflow_id,
                provider_type=self._name,
                state=to_state(entry.status),
                start_time=to_utc(entry.start_time),
                stop_time=to_utc(entry.close_time) if entry.HasField("close_time") else None,
                metadata={
                    "namespace": self._namespace,
                    "temporal_workflow_id": temporal_id,
                    "run_id": entry.execution.run_id,
                    "workflow_type": entry.type.name,
                },
            )


def _resume_state(checkpoint: Mapping[str, Any]) -> str:
    """The top-level state a checkpoint resumes at (for messages)."""
    position = checkpoint.get("position")
    state = position.get("state") if isinstance(position, Mapping) else None
    return state if isinstance(state, str) else "the start"


def _reset_point(events: Sequence[HistoryEvent]) -> int | None:
    """The workflow task to reset a closed run to, so that it resumes at the failure.

    The run's end is caused by the last failed activity or child workflow
    (for a failure that came from one), the cancel request (for a
    cancellation), else the close event itself. The reset point is the last
    WORKFLOW_TASK_COMPLETED before that cause: everything before it stays in
    the history (completed activities are not run again); what came after,
    the failed step included, runs again.
    """
    close = next((e for e in reversed(events) if e.event_type in _CLOSE_EVENTS), None)
    if close is None:
        return None
    cause_id = close.event_id
    if close.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        step_failures = [e.event_id for e in events if e.event_type in _STEP_FAILURE_EVENTS]
        if step_failures:
            cause_id = step_failures[-1]
    elif close.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
        requests = [
            e.event_id
            for e in events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED
        ]
        if requests:
            cause_id = requests[-1]
    completed = [
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and e.event_id < cause_id
    ]
    return completed[-1] if completed else None
