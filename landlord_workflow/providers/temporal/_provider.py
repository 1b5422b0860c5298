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
from anyio.abc import AsyncResource
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from temporalio.api.common.v1 import Memo, Payload, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import (
    EventType,
    HistoryEventFilterType,
    WorkflowExecutionStatus,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryReverseRequest,
    ListWorkflowExecutionsRequest,
    RequestCancelWorkflowExecutionRequest,
    ResetWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode, WorkflowService

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
from landlord_workflow._validation import EXECUTION_NAME_PATTERN
from landlord_workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    InvalidSpecError,
    ProviderError,
    TransientError,
    WorkflowError,
    WorkflowNotFoundError,
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
    ExecutionRef,
    definition_workflow_id,
    is_workflow_id,
    parse_execution_id,
)
from landlord_workflow.providers.temporal._ledger import RequestLedger, bounded_put
from landlord_workflow.providers.temporal._mapping import (
    PROVIDER_NAME,
    TERMINATED_ERROR_CODE,
    TIMEOUT_ERROR_CODE,
    NativeDefinition,
    error_from_failure,
    input_digest,
    normalise_history,
    spec_problems,
    status_query,
    to_state,
    to_utc,
)
from landlord_workflow.providers.temporal._worker import HostedWorker

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


def _duration(value: timedelta) -> Duration:
    duration = Duration()
    duration.FromTimedelta(value)
    return duration


@attrs.frozen(kw_only=True)
class _Closed:
    """What a closed run's close event says (cached per run id)."""

    output: Any = None
    error: ExecutionError | None = None


class TemporalProvider(AsyncResource):
    """The :class:`~landlord_workflow.Provider` for Temporal (name ``"temporal"``).

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
        The task queue of the worker this provider hosts (if any).
    ``workflows``, ``activities``
        Your own workflow classes and activity functions for the worker this
        provider hosts, so one process can run them. The worker runs only when
        there is something to host (or ``run_worker=True``): a provider given
        nothing never polls a task queue, so the CLI or a service that only
        starts and watches executions never takes tasks it cannot run.
    ``task_handlers``
        For Amazon States Language definitions (not available on Temporal
        yet); accepted for symmetry with the mock.
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

    Definitions are ``{"workflow_type": ..., "task_queue": ...}``: executions
    start your Temporal workflow type on that task queue (run by your
    workers), with the execution input as its single argument;
    ``spec.timeout`` is the workflow execution timeout.
    """

    def __init__(
        self,
        *,
        target_host: str = "localhost:7233",
        namespace: str = "default",
        task_queue: str = "landlord-workflow",
        task_handlers: Mapping[str, Callable[..., Any]] | None = None,
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
        self._name = name
        self._target_host = target_host
        self._namespace = client.namespace if client is not None else namespace
        self._task_queue = task_queue
        self._task_handlers = dict(task_handlers or {})
        self._client = client
        self._connect_options = dict(connect_options or {})
        self._rpc_timeout = rpc_timeout
        self._long_poll_timeout = long_poll_timeout
        self._cache_ttl = definition_cache_ttl.total_seconds()
        hosts = bool(workflows or activities)
        if run_worker is None:
            run_worker = hosts
        if run_worker and not hosts:
            raise ValueError("run_worker=True needs workflows or activities to host")
        self._worker = (
            HostedWorker(
                task_queue=task_queue,
                workflows=workflows,
                activities=activities,
                graceful_shutdown=graceful_shutdown,
            )
            if run_worker
            else None
        )
        self._open_lock = anyio.Lock()
        self._closed = False
        self._ledger = RequestLedger()
        self._specs: OrderedDict[str, tuple[float, WorkflowSpec]] = OrderedDict()
        self._inputs: OrderedDict[str, Any] = OrderedDict()
        self._closes: OrderedDict[str, _Closed] = OrderedDict()

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
        client = await self._ensure_client()
        with self._mapped("EncodePayload"):
            return (await client.data_converter.encode([value]))[0]

    async def _decode(self, payloads: Sequence[Payload]) -> Any:
        if not payloads:
            return None
        client = await self._ensure_client()
        try:
            values = await client.data_converter.decode(list(payloads))
        except Exception as exc:
            raise ProviderError(f"cannot decode a Temporal payload: {exc}") from exc
        return values[0] if values else None

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
        native = NativeDefinition.parse(spec.definition)
        ref = ExecutionRef(namespace=self._namespace, workflow_id=workflow_id, name=name)
        digest = input_digest(execution_input.input)
        payload = await self._encode(execution_input.input)
        memo = Memo(
            fields={
                EXECUTION_KEY: await self._encode(
                    {
                        "workflow_id": workflow_id,
                        "input_sha256": digest,
                        "tags": dict(execution_input.tags),
                    }
                )
            }
        )
        request_id, repeated = self._ledger.start_request(ref.temporal_id, digest)
        request = StartWorkflowExecutionRequest(
            namespace=self._namespace,
            workflow_id=ref.temporal_id,
            workflow_type=WorkflowType(name=native.workflow_type),
            task_queue=TaskQueue(name=native.task_queue),
            identity=self._identity(),
            request_id=request_id,
            workflow_id_reuse_policy=native.reuse_policy,
            workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
            memo=memo,
        )
        request.input.payloads.append(payload)
        if spec.timeout is not None:
            request.workflow_execution_timeout.CopyFrom(_duration(spec.timeout))
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
            return ExecutionResult(
                execution_id=ref.execution_id,
                workflow_id=workflow_id,
                provider_type=self._name,
                state=to_state(info.status),
                started_at=to_utc(info.start_time),
                message="started by an earlier attempt whose answer was lost",
            )
        return ExecutionResult(
            execution_id=ref.execution_id,
            workflow_id=workflow_id,
            provider_type=self._name,
            state=ExecutionState.RUNNING,
            started_at=datetime.now(UTC),
        )

    async def _existing_start(
        self, ref: ExecutionRef, digest: str, cause: RPCError
    ) -> ExecutionResult:
        described = await self._describe(ref)
        info = described.workflow_execution_info
        state = to_state(info.status)
        values = await self._memo_values(info.memo)
        recorded = values.get(EXECUTION_KEY)
        same_input = isinstance(recorded, Mapping) and recorded.get("input_sha256") == digest
        if same_input and state is ExecutionState.RUNNING:
            return ExecutionResult(
                execution_id=ref.execution_id,
                workflow_id=ref.workflow_id,
                provider_type=self._name,
                state=state,
                started_at=to_utc(info.start_time),
                message="already running with the same input",
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

    async def _input(self, ref: ExecutionRef, described: DescribeWorkflowExecutionResponse) -> Any:
        info = described.workflow_execution_info
        key = f"{ref.temporal_id}\x00{info.first_run_id or info.execution.run_id}"
        if key in self._inputs:
            return self._inputs[key]
        request = GetWorkflowExecutionHistoryRequest(
            namespace=self._namespace,
            execution=WorkflowExecution(workflow_id=ref.temporal_id, run_id=info.execution.run_id),
            maximum_page_size=1,
        )
        page = await self._rpc(
            "GetWorkflowExecutionHistory",
            (await self._service()).get_workflow_execution_history,
            request,
            workflow_id=ref.workflow_id,
            execution_id=ref.execution_id,
        )
        value: Any = None
        for event in page.history.events[:1]:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                started = event.workflow_execution_started_event_attributes
                value = await self._decode(started.input.payloads)
        bounded_put(self._inputs, key, value)
        return value

    async def _close_info(
        self,
        ref: ExecutionRef,
        run_id: str,
        state: ExecutionState,
        history: Sequence[HistoryEvent] | None,
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
            closed = _Closed(error=error_from_failure(failure))
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
        history = await self._history(ref, run_id) if include_history else None
        closed = _Closed()
        if state.is_terminal:
            closed = await self._close_info(ref, run_id, state, history)
        # Any: mypy's attrs plugin cannot type ExecutionStatus's tuple converter.
        events: Any = tuple(normalise_history(history or ()))
        return ExecutionStatus(
            execution_id=ref.execution_id,
            workflow_id=ref.workflow_id,
            provider_type=self._name,
            state=state,
            start_time=to_utc(info.start_time),
            stop_time=to_utc(info.close_time) if info.HasField("close_time") else None,
            input=await self._input(ref, described),
            output=closed.output if state is ExecutionState.SUCCEEDED else None,
            error=closed.error,
            history=events,
            metadata={
                "namespace": self._namespace,
                "temporal_workflow_id": ref.temporal_id,
                "run_id": run_id,
                "workflow_type": info.type.name,
                "task_queue": info.task_queue,
                "history_length": info.history_length,
            },
        )

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
        """Reset the run to the last workflow task completed before it failed.

        The history up to that point is kept, so activities that completed
        before it are not run again; the failed step runs again. A succeeded
        or running execution raises :class:`ProviderError` (not redrivable).
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
            return ExecutionResult(
                execution_id=ref.execution_id,
                workflow_id=ref.workflow_id,
                provider_type=self._name,
                state=state,
                started_at=datetime.now(UTC),
                message="redriven by an earlier attempt whose answer was lost",
            )
        if state not in _REDRIVABLE:
            raise ProviderError(
                f"execution {execution_id!r} is {state.value}: only failed, timed-out or "
                "cancelled executions can be redriven"
            )
        base_run = info.execution.run_id
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
        return ExecutionResult(
            execution_id=ref.execution_id,
            workflow_id=ref.workflow_id,
            provider_type=self._name,
            state=ExecutionState.RUNNING,
            started_at=datetime.now(UTC),
            message="redriven",
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
