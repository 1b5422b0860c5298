"""``StepFunctionsProvider``: the Provider port on AWS Step Functions (aioboto3).

One provider owns one aioboto3 ``stepfunctions`` client. The client is opened
by ``async with provider`` (or lazily by the first call) inside an
`contextlib.AsyncExitStack` and closed by ``aclose``; a closed provider
refuses every call with `ProviderError`. botocore's own retries are off: the
Manager's ``CallPolicy`` is the single retry layer, so every attempt is
counted and visible.

API calls per method (IAM actions in brackets):

* ``validate``: none.
* ``create_workflow``: CreateStateMachine [states:CreateStateMachine,
  states:TagResource, iam:PassRole], then DescribeStateMachine
  [states:DescribeStateMachine] and, if the definition or role differ,
  UpdateStateMachine [states:UpdateStateMachine]; then ListTagsForResource
  [states:ListTagsForResource] and, where the spec's tags differ,
  TagResource and UntagResource [states:UntagResource]. The describe and the
  tag check also follow a successful create because AWS treats a create with
  the same definition as idempotent and silently ignores a changed
  ``roleArn`` and changed tags (and moto ignores a changed definition).
* ``get_workflow``: DescribeStateMachine and ListTagsForResource.
* ``list_workflows``: ListStateMachines [states:ListStateMachines], then
  ``get_workflow`` for each.
* ``start_execution``: StartExecution [states:StartExecution]; on
  ``ExecutionAlreadyExists`` DescribeExecution.
* ``get_execution_status``: one DescribeExecution [states:DescribeExecution];
  for a FAILED execution one more reverse-ordered GetExecutionHistory page
  [states:GetExecutionHistory] to find ``failed_at`` (cached per execution
  and redrive count, so polling a failed execution costs it once). With
  ``include_history=True``: the whole history, 1000 events a page.
* ``stop_execution``: StopExecution [states:StopExecution].
* ``delete_workflow``: DeleteStateMachine [states:DeleteStateMachine].
* ``redrive_execution``: RedriveExecution [states:RedriveExecution].
* ``list_executions``: ListExecutions [states:ListExecutions].
* ``send_task_success``, ``send_task_failure``, ``send_task_heartbeat``:
  SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat
  [states:SendTaskSuccess, states:SendTaskFailure, states:SendTaskHeartbeat].
* the account id, unless configured: STS GetCallerIdentity once (no IAM
  permission needed).
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Self

from anyio.abc import AsyncResource

try:
    from botocore.exceptions import ClientError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "StepFunctionsProvider needs aioboto3: pip install 'landlord-workflow[aws]'"
    ) from exc

from landlord_workflow._limits import name_problem
from landlord_workflow._policies import PollPolicy
from landlord_workflow._types import (
    CreateWorkflowResult,
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
    ProviderUnavailableError,
    WorkflowNotFoundError,
)
from landlord_workflow.providers.stepfunctions._arns import (
    execution_arn,
    parse_execution_arn,
    partition_for_region,
    state_machine_arn,
)
from landlord_workflow.providers.stepfunctions._client import SFNClientLifecycle
from landlord_workflow.providers.stepfunctions._errors import (
    ErrorContext,
    client_error_code,
    http_status,
    translate_errors,
)
from landlord_workflow.providers.stepfunctions._ledger import StartLedger, bounded_put
from landlord_workflow.providers.stepfunctions._mapping import (
    PROVIDER_NAME,
    STOP_ERROR_CODE,
    decode_document,
    encode_payload,
    failing_state,
    normalise_history,
    render_definition,
    role_for,
    same_input,
    spec_problems,
    status_filter,
    status_from_description,
    status_from_list_item,
    tag_list,
    timeout_in_definition,
    to_state,
    to_utc,
)
from landlord_workflow.providers.stepfunctions._settings import settings_problems
from landlord_workflow.providers.stepfunctions._specs import (
    SPEC_TAG_PREFIX,
    spec_from_engine,
    spec_tags,
)

if TYPE_CHECKING:
    from types_aiobotocore_stepfunctions.client import SFNClient
    from types_aiobotocore_stepfunctions.type_defs import (
        DescribeExecutionOutputTypeDef,
        GetExecutionHistoryInputTypeDef,
        HistoryEventTypeDef,
        ListExecutionsInputTypeDef,
        ListStateMachinesInputTypeDef,
    )

__all__ = ["StepFunctionsProvider"]

_log = logging.getLogger("landlord_workflow.providers.stepfunctions")

HISTORY_PAGE_SIZE = 1000
"""Largest page GetExecutionHistory returns."""
FAILED_AT_PAGE_SIZE = 100
"""Events read (newest first) to find the state a failed execution failed in."""
_MAX_HISTORY_PAGES = 100  # 25,000 events is the engine's limit: 25 pages.
_LIST_PAGE_SIZE = 1000
_MAX_CAUSE_CHARS = 32_768


POLL_POLICY: Final = PollPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_rate=1.25,
    max_interval=timedelta(seconds=30),
    jitter=False,
)
"""The pace of waiting on Step Functions (`StepFunctionsProvider.poll_policy`)."""


class StepFunctionsProvider(AsyncResource):
    """The [`Provider`][landlord_workflow.Provider] for AWS Step Functions (name
    ``"step-functions"``).

    Parameters (keyword-only):

    ``region``
        AWS region of the state machines, e.g. ``"eu-west-1"``. Also decides
        the ARN partition (``aws``, ``aws-cn``, ``aws-us-gov``, ...).
    ``role_arn``
        IAM role the state machines run as; required by ``create_workflow``
        unless a spec sets ``provider_config["role_arn"]``.
    ``endpoint_url``
        Another endpoint (moto, LocalStack, Step Functions Local). The
        account id lookup (STS) uses it too; for Step Functions Local pass
        ``account_id``.
    ``account_id``
        The account of the state machines; otherwise read once with STS
        GetCallerIdentity and cached.
    ``session``
        An ``aioboto3.Session`` (credentials, profile). By default a new
        session using the usual AWS credential chain.
    ``connect_timeout``, ``read_timeout``
        Per-request socket timeouts (defaults 5 s and 30 s). A timeout
        raises [`ProviderUnavailableError`][landlord_workflow.errors.ProviderUnavailableError].
    ``max_pool_connections``
        Size of the client's HTTP connection pool (default 10).
    ``consistency_window``
        DescribeExecution is eventually consistent right after a start: an
        ``ExecutionDoesNotExist`` for an execution this provider started less
        than this long ago (default 10 s) raises the transient
        [`ProviderUnavailableError`][landlord_workflow.errors.ProviderUnavailableError], which the
        Manager retries, instead of
        [`ExecutionNotFoundError`][landlord_workflow.errors.ExecutionNotFoundError].

    Only STANDARD state machines are created and supported (express
    executions cannot be described, stopped or redriven). Execution ids are
    execution ARNs. ``ExecutionInput.tags`` are not sent: StartExecution takes
    no tags.
    """

    def __init__(
        self,
        *,
        region: str,
        role_arn: str | None = None,
        endpoint_url: str | None = None,
        account_id: str | None = None,
        session: Any = None,
        connect_timeout: timedelta = timedelta(seconds=5),
        read_timeout: timedelta = timedelta(seconds=30),
        max_pool_connections: int = 10,
        consistency_window: timedelta = timedelta(seconds=10),
    ) -> None:
        problems = settings_problems(
            region=region, endpoint_url=endpoint_url, account_id=account_id
        )
        if problems:
            raise InvalidSpecError(problems)
        self._region = region
        self._partition = partition_for_region(region)
        self._role_arn = role_arn
        self._sfn = SFNClientLifecycle(
            region=region,
            endpoint_url=endpoint_url,
            account_id=account_id,
            session=session,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max_pool_connections,
        )
        self._ledger = StartLedger(consistency_window=consistency_window.total_seconds())
        self._failed_at_cache: OrderedDict[tuple[str, int], str | None] = OrderedDict()

    # -- identity and lifecycle ---------------------------------------------

    @property
    def name(self) -> str:
        """``"step-functions"``."""
        return PROVIDER_NAME

    @property
    def region(self) -> str:
        """The AWS region this provider talks to."""
        return self._region

    @property
    def poll_policy(self) -> PollPolicy:
        """How a Manager without a ``poll_policy`` of its own waits on Step Functions.

        Step Functions cannot push status changes: waiting polls
        ``DescribeExecution``, whose quota an account shares (a bucket of 300
        calls refilled at 15 per second). The first poll is 2 s after the
        start, then each wait is 1.25 times the last, up to 30 s: a 10-second
        execution is polled 5 times and noticed within 2 s, a 10-minute one
        30 times and noticed within 30 s, and up to 450 waits at their
        30-second pace stay within the refill. No jitter: it would make up
        to twice the calls (each wait drawn from the upper half of its
        interval), and concurrent waits are spread anyway by their start
        times and by the CallPolicy's jittered backoff after a throttle.
        ``Manager(poll_policy=...)`` overrides it.
        """
        return POLL_POLICY

    @property
    def client(self) -> SFNClient:
        """The open aiobotocore ``stepfunctions`` client (to register event hooks).

        Raises [`ProviderError`][landlord_workflow.errors.ProviderError] before the client is
        opened and after `aclose`.
        """
        self._sfn.check_open()
        client = self._sfn.client
        if client is None:
            raise ProviderError("StepFunctionsProvider is not open yet: use 'async with provider'")
        return client

    def __repr__(self) -> str:
        # Never the session: it may hold credentials.
        sfn = self._sfn
        return (
            f"StepFunctionsProvider(region={self._region!r}, endpoint_url={sfn.endpoint_url!r}, "
            f"role_arn={self._role_arn!r}, account_id={sfn.account_id!r}, state={sfn.state!r})"
        )

    async def __aenter__(self) -> Self:
        await self._ensure_client()
        return self

    async def aclose(self) -> None:
        """Close the client. Idempotent; every later call raises ``ProviderError``."""
        await self._sfn.aclose()

    def _check_open(self) -> None:
        self._sfn.check_open()

    async def _ensure_client(self) -> SFNClient:
        return await self._sfn.ensure()

    async def _state_machine_arn(self, workflow_id: str) -> str:
        return state_machine_arn(
            partition=self._partition,
            region=self._region,
            account_id=await self._sfn.account(),
            name=workflow_id,
        )

    @contextmanager
    def _api(
        self,
        operation: str,
        *,
        workflow_id: str | None = None,
        execution_id: str | None = None,
        execution_name: str | None = None,
        task_token: str | None = None,
    ) -> Iterator[ErrorContext]:
        context = ErrorContext(
            operation,
            workflow_id=workflow_id,
            execution_id=execution_id,
            execution_name=execution_name,
            task_token=task_token,
        )
        _log.debug(
            "calling Step Functions %s",
            operation,
            extra={
                "provider": PROVIDER_NAME,
                "operation": operation,
                "workflow_id": workflow_id,
                "execution_id": execution_id,
            },
        )
        with translate_errors(context):
            yield context

    # -- Provider -------------------------------------------------------------

    async def validate(self, spec: WorkflowSpec) -> None:
        """Check ``spec`` locally (no API call): ASL structure, the state
        machine name rules, the 1 MB definition limit, the timeout, tags and
        the IAM role. Raises one [`InvalidSpecError`][landlord_workflow.errors.InvalidSpecError]
        listing every problem."""
        self._check_open()
        with_shared_rules(spec, lambda spec: spec_problems(spec, default_role_arn=self._role_arn))

    async def create_workflow(self, spec: WorkflowSpec) -> CreateWorkflowResult:
        """Create the state machine ``spec.workflow_id`` (STANDARD), or update it.

        ``spec.timeout`` becomes the definition's top-level ``TimeoutSeconds``
        unless the definition sets one. Idempotent: an existing machine with
        the same definition and role is left alone.
        """
        await self.validate(spec)
        client = await self._ensure_client()
        role = role_for(spec, self._role_arn)
        definition = render_definition(spec)
        tags = spec_tags(spec, timeout_in_definition=timeout_in_definition(spec))
        arn = await self._state_machine_arn(spec.workflow_id)
        with self._api("CreateStateMachine", workflow_id=spec.workflow_id):
            try:
                await client.create_state_machine(
                    name=spec.workflow_id,
                    definition=definition,
                    roleArn=role,
                    type="STANDARD",
                    tags=tag_list(tags),
                )
                existed = False
            except ClientError as exc:
                if client_error_code(exc) != "StateMachineAlreadyExists":
                    raise
                existed = True
        with self._api("DescribeStateMachine", workflow_id=spec.workflow_id):
            described = await client.describe_state_machine(stateMachineArn=arn)
        changed: list[str] = []
        if decode_document(described["definition"]) != decode_document(definition):
            changed.append("definition")
        if described["roleArn"] != role:
            changed.append("role")
        if changed:
            with self._api("UpdateStateMachine", workflow_id=spec.workflow_id):
                if "definition" in changed and "role" in changed:
                    await client.update_state_machine(
                        stateMachineArn=arn, definition=definition, roleArn=role
                    )
                elif "definition" in changed:
                    await client.update_state_machine(stateMachineArn=arn, definition=definition)
                else:
                    await client.update_state_machine(stateMachineArn=arn, roleArn=role)
        # An idempotent create (same name and definition) ignores changed tags
        # (AWS) or any change at all (moto): the tags are checked every time.
        if await self._retag(arn, spec.workflow_id, tags):
            changed.append("spec fields")
        if changed:
            message = f"updated {' and '.join(changed)}"
        else:
            # A 200 from CreateStateMachine may also be an existing, identical
            # machine (AWS create is idempotent), so "created" is not claimed.
            message = "already existed, up to date" if existed else "created or up to date"
        return CreateWorkflowResult(
            workflow_id=spec.workflow_id,
            provider_type=PROVIDER_NAME,
            resource_ids={"state_machine_arn": arn},
            created_at=to_utc(described["creationDate"]),
            message=message,
        )

    async def _tags(self, arn: str, workflow_id: str) -> dict[str, str]:
        client = await self._ensure_client()
        with self._api("ListTagsForResource", workflow_id=workflow_id):
            listed = await client.list_tags_for_resource(resourceArn=arn)
        return {tag["key"]: tag["value"] for tag in listed.get("tags", [])}

    async def _retag(self, arn: str, workflow_id: str, wanted: dict[str, str]) -> bool:
        """Make the machine's tags hold ``wanted``; whether anything changed.

        Our own spec chunks that are no longer wanted are removed; tags that
        other tools put on the machine are left alone.
        """
        current = await self._tags(arn, workflow_id)
        stale = sorted(
            key for key in current if key.startswith(SPEC_TAG_PREFIX) and key not in wanted
        )
        missing = {key: value for key, value in wanted.items() if current.get(key) != value}
        client = await self._ensure_client()
        if missing:
            with self._api("TagResource", workflow_id=workflow_id):
                await client.tag_resource(resourceArn=arn, tags=tag_list(missing))
        if stale:
            with self._api("UntagResource", workflow_id=workflow_id):
                await client.untag_resource(resourceArn=arn, tagKeys=stale)
        return bool(missing or stale)

    async def get_workflow(self, workflow_id: str) -> WorkflowSpec:
        """DescribeStateMachine and ListTagsForResource: the spec as created.

        The definition comes back as sent; the spec's other fields come from
        the tags the adapter stores them in (see the Step Functions docs page).
        """
        self._check_open()
        if name_problem(workflow_id) is not None:
            raise WorkflowNotFoundError(workflow_id)
        client = await self._ensure_client()
        arn = await self._state_machine_arn(workflow_id)
        with self._api("DescribeStateMachine", workflow_id=workflow_id):
            described = await client.describe_state_machine(stateMachineArn=arn)
        tags = await self._tags(arn, workflow_id)
        return self._spec_from(workflow_id, described["definition"], tags)

    def _spec_from(
        self, workflow_id: str, definition_text: str, tags: dict[str, str]
    ) -> WorkflowSpec:
        definition = decode_document(definition_text)
        if not isinstance(definition, dict):
            raise ProviderError(f"state machine {workflow_id!r} has a definition that is not JSON")
        return spec_from_engine(
            workflow_id=workflow_id, provider_type=PROVIDER_NAME, definition=definition, tags=tags
        )

    async def list_workflows(self) -> AsyncIterator[WorkflowSpec]:
        """ListStateMachines page by page; each machine read with `get_workflow`."""
        self._check_open()
        client = await self._ensure_client()
        token: str | None = None
        while True:
            request: ListStateMachinesInputTypeDef = {"maxResults": _LIST_PAGE_SIZE}
            if token is not None:
                request["nextToken"] = token
            with self._api("ListStateMachines"):
                page = await client.list_state_machines(**request)
            for item in page["stateMachines"]:
                if item.get("type", "STANDARD") != "STANDARD":
                    continue
                try:
                    yield await self.get_workflow(item["name"])
                except WorkflowNotFoundError:
                    continue  # deleted meanwhile
            token = page.get("nextToken")
            if not token:
                return

    def owns_execution(self, execution_id: str) -> bool:
        """Whether ``execution_id`` is an execution ARN of this provider's partition and region."""
        parsed = parse_execution_arn(execution_id) if isinstance(execution_id, str) else None
        return (
            parsed is not None
            and parsed.partition == self._partition
            and parsed.region == self._region
        )

    async def start_execution(
        self, workflow_id: str, execution_input: ExecutionInput
    ) -> ExecutionResult:
        """StartExecution, always with a name (a random one when none is given).

        The input is sent as sorted, compact JSON, so a retried start sends
        identical bytes. Same name, same input and still RUNNING returns the
        running execution; otherwise
        [`ExecutionAlreadyExistsError`][landlord_workflow.errors.ExecutionAlreadyExistsError] --
        except when this provider's own earlier attempt with that name and
        input got no answer (connection lost, timeout, 5xx, cancelled): that
        execution is the one the lost attempt created, so it is returned even
        if it has already ended.
        """
        self._check_open()
        if name_problem(workflow_id) is not None:
            raise WorkflowNotFoundError(workflow_id)
        name = execution_input.execution_name or uuid.uuid4().hex
        problem = name_problem(name)
        if problem is not None:
            raise InvalidSpecError.single(
                "execution_name", f"is not a valid execution name: {problem}"
            )
        payload = encode_payload("input", execution_input.input)
        client = await self._ensure_client()
        machine = await self._state_machine_arn(workflow_id)
        arn = execution_arn(state_machine=machine, name=name)
        # Until the engine answers, the execution may or may not exist.
        earlier_attempt_lost = self._ledger.start_in_doubt(arn, payload)
        with self._api(
            "StartExecution", workflow_id=workflow_id, execution_id=arn, execution_name=name
        ) as context:
            try:
                started = await client.start_execution(
                    stateMachineArn=machine, name=name, input=payload
                )
            except ClientError as exc:
                if client_error_code(exc) == "ExecutionAlreadyExists":
                    self._ledger.start_settled(arn)
                    context.execution_id = arn
                    return await self._existing_start(
                        arn, workflow_id, name, payload, exc, ours=earlier_attempt_lost
                    )
                if (http_status(exc) or 500) < 500:
                    self._ledger.start_settled(arn)  # refused: nothing was created
                raise
        self._ledger.start_settled(arn)
        arn = started["executionArn"]
        self._ledger.started(arn)
        return ExecutionResult(
            execution_id=arn,
            workflow_id=workflow_id,
            provider_type=PROVIDER_NAME,
            state=ExecutionState.RUNNING,
            started_at=to_utc(started["startDate"]),
        )

    async def _existing_start(
        self,
        arn: str,
        workflow_id: str,
        name: str,
        payload: str,
        cause: ClientError,
        *,
        ours: bool,
    ) -> ExecutionResult:
        self._ledger.started(arn)
        description = await self._describe(arn, workflow_id)
        status = description["status"]
        if same_input(description.get("input"), payload) and (status == "RUNNING" or ours):
            return ExecutionResult(
                execution_id=arn,
                workflow_id=workflow_id,
                provider_type=PROVIDER_NAME,
                state=to_state(status),
                started_at=to_utc(description["startDate"]),
                message=(
                    "already running with the same input"
                    if status == "RUNNING"
                    else "started by an earlier attempt whose answer was lost"
                ),
            )
        detail = (
            "it is running with a different input"
            if status == "RUNNING"
            else f"it is {to_state(status).value}"
        )
        raise ExecutionAlreadyExistsError(name, detail, execution_id=arn) from cause

    async def _describe(self, arn: str, workflow_id: str) -> DescribeExecutionOutputTypeDef:
        client = await self._ensure_client()
        with self._api("DescribeExecution", workflow_id=workflow_id, execution_id=arn):
            try:
                return await client.describe_execution(executionArn=arn)
            except ClientError as exc:
                code = client_error_code(exc)
                if code == "ExecutionDoesNotExist" and self._ledger.recently_started(arn):
                    raise ProviderUnavailableError(
                        f"execution {arn!r} is not visible yet (DescribeExecution is "
                        "eventually consistent right after a start)"
                    ) from exc
                raise

    async def get_execution_status(
        self, execution_id: str, *, include_history: bool = False
    ) -> ExecutionStatus:
        """DescribeExecution (exactly one call); history only when asked.

        For a FAILED execution, ``error.failed_at`` comes from the history:
        the full history when ``include_history``, else one reverse-ordered
        page of at most 100 events, read once per execution and redrive.
        """
        self._check_open()
        parsed = parse_execution_arn(execution_id)
        if parsed is None:
            raise ExecutionNotFoundError(execution_id)
        workflow_id = parsed.state_machine_name
        description = await self._describe(execution_id, workflow_id)
        state = to_state(description["status"])
        raw_events: list[HistoryEventTypeDef] = []
        if include_history:
            raw_events = await self._history(execution_id, workflow_id)
        failed_at: str | None = None
        if state is ExecutionState.FAILED:
            if include_history:
                failed_at = failing_state(raw_events)
            else:
                failed_at = await self._failed_at(
                    execution_id, workflow_id, description.get("redriveCount", 0)
                )
        return status_from_description(
            description,
            workflow_id=workflow_id,
            failed_at=failed_at,
            history=normalise_history(raw_events),
        )

    async def _history(self, arn: str, workflow_id: str) -> list[HistoryEventTypeDef]:
        client = await self._ensure_client()
        events: list[HistoryEventTypeDef] = []
        token: str | None = None
        for _ in range(_MAX_HISTORY_PAGES):
            request: GetExecutionHistoryInputTypeDef = {
                "executionArn": arn,
                "maxResults": HISTORY_PAGE_SIZE,
                "includeExecutionData": False,
            }
            if token is not None:
                request["nextToken"] = token
            with self._api("GetExecutionHistory", workflow_id=workflow_id, execution_id=arn):
                page = await client.get_execution_history(**request)
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events
        raise ProviderError(
            f"history of {arn!r} has more than {_MAX_HISTORY_PAGES} pages; "
            "Step Functions keeps at most 25,000 events"
        )

    async def _failed_at(self, arn: str, workflow_id: str, redrive_count: int) -> str | None:
        key = (arn, redrive_count)
        if key in self._failed_at_cache:
            return self._failed_at_cache[key]
        client = await self._ensure_client()
        try:
            with self._api("GetExecutionHistory", workflow_id=workflow_id, execution_id=arn):
                page = await client.get_execution_history(
                    executionArn=arn,
                    maxResults=FAILED_AT_PAGE_SIZE,
                    reverseOrder=True,
                    includeExecutionData=False,
                )
        except ProviderError as exc:
            # e.g. no states:GetExecutionHistory permission: the status is
            # still worth returning, without failed_at.
            _log.warning(
                "cannot read the history to find failed_at: %s",
                exc,
                extra={"provider": PROVIDER_NAME, "execution_id": arn},
            )
            return None
        failed_at = failing_state(page["events"])
        bounded_put(self._failed_at_cache, key, failed_at)
        return failed_at

    async def stop_execution(self, execution_id: str, reason: str) -> None:
        """StopExecution with ``error="Cancelled"`` and ``cause=reason``. Idempotent."""
        self._check_open()
        parsed = parse_execution_arn(execution_id)
        if parsed is None:
            raise ExecutionNotFoundError(execution_id)
        client = await self._ensure_client()
        workflow_id = parsed.state_machine_name
        with self._api("StopExecution", workflow_id=workflow_id, execution_id=execution_id):
            try:
                await client.stop_execution(
                    executionArn=execution_id,
                    error=STOP_ERROR_CODE,
                    cause=reason[:_MAX_CAUSE_CHARS],
                )
            except ClientError as exc:
                code = client_error_code(exc)
                if code == "ExecutionDoesNotExist" and self._ledger.recently_started(execution_id):
                    raise ProviderUnavailableError(
                        f"execution {execution_id!r} is not visible yet"
                    ) from exc
                if code != "ValidationException":
                    raise
                # Some endpoints refuse to stop a closed execution; stopping a
                # terminal execution is a no-op for us.
                description = await self._describe(execution_id, workflow_id)
                if not to_state(description["status"]).is_terminal:
                    raise

    async def delete_workflow(self, workflow_id: str) -> None:
        """DeleteStateMachine; an unknown workflow succeeds. AWS deletes
        asynchronously: the machine may be DELETING for a while."""
        self._check_open()
        if name_problem(workflow_id) is not None:
            return  # no state machine can have this name
        client = await self._ensure_client()
        arn = await self._state_machine_arn(workflow_id)
        with self._api("DeleteStateMachine", workflow_id=workflow_id):
            try:
                await client.delete_state_machine(stateMachineArn=arn)
            except ClientError as exc:
                if client_error_code(exc) != "StateMachineDoesNotExist":
                    raise

    # -- optional capabilities -----------------------------------------------

    async def redrive_execution(self, execution_id: str) -> ExecutionResult:
        """RedriveExecution: resume a FAILED, ABORTED or TIMED_OUT execution.

        A client token makes it idempotent: a retry of a redrive whose answer
        was lost (within 5 minutes) reuses the token instead of redriving
        twice. A succeeded or running execution raises
        [`ProviderError`][landlord_workflow.errors.ProviderError].
        """
        self._check_open()
        parsed = parse_execution_arn(execution_id)
        if parsed is None:
            raise ExecutionNotFoundError(execution_id)
        client = await self._ensure_client()
        token = self._ledger.redrive_token(execution_id)
        with self._api(
            "RedriveExecution", workflow_id=parsed.state_machine_name, execution_id=execution_id
        ):
            redriven = await client.redrive_execution(executionArn=execution_id, clientToken=token)
        self._ledger.redriven(execution_id)
        return ExecutionResult(
            execution_id=execution_id,
            workflow_id=parsed.state_machine_name,
            provider_type=PROVIDER_NAME,
            state=ExecutionState.RUNNING,
            started_at=to_utc(redriven.get("redriveDate") or datetime.now(UTC)),
            message="redriven",
        )

    async def list_executions(
        self, workflow_id: str, *, state: ExecutionState | None = None
    ) -> AsyncIterator[ExecutionStatus]:
        """ListExecutions, page by page (newest first), optionally by state."""
        self._check_open()
        if name_problem(workflow_id) is not None:
            raise WorkflowNotFoundError(workflow_id)
        client = await self._ensure_client()
        machine = await self._state_machine_arn(workflow_id)
        token: str | None = None
        while True:
            request: ListExecutionsInputTypeDef = {
                "stateMachineArn": machine,
                "maxResults": _LIST_PAGE_SIZE,
            }
            if state is not None:
                request["statusFilter"] = status_filter(state)
            if token is not None:
                request["nextToken"] = token
            with self._api("ListExecutions", workflow_id=workflow_id):
                page = await client.list_executions(**request)
            for item in page["executions"]:
                yield status_from_list_item(item, workflow_id=workflow_id)
            token = page.get("nextToken")
            if not token:
                return

    # -- callbacks (.waitForTaskToken) ------------------------------------------

    async def send_task_success(self, task_token: str, output: Any) -> None:
        """SendTaskSuccess: the waiting task succeeds with ``output`` (a JSON value)."""
        self._check_open()
        payload = encode_payload("output", output)
        client = await self._ensure_client()
        with self._api("SendTaskSuccess", task_token=task_token):
            await client.send_task_success(taskToken=task_token, output=payload)

    async def send_task_failure(
        self, task_token: str, error: str, cause: str | None = None
    ) -> None:
        """SendTaskFailure: the waiting task fails with ``error`` and ``cause``."""
        self._check_open()
        client = await self._ensure_client()
        with self._api("SendTaskFailure", task_token=task_token):
            if cause is None:
                await client.send_task_failure(taskToken=task_token, error=error)
            else:
                await client.send_task_failure(
                    taskToken=task_token, error=error, cause=cause[:_MAX_CAUSE_CHARS]
                )

    async def send_task_heartbeat(self, task_token: str) -> None:
        """SendTaskHeartbeat: the waiting task is alive (its HeartbeatSeconds restart)."""
        self._check_open()
        client = await self._ensure_client()
        with self._api("SendTaskHeartbeat", task_token=task_token):
            await client.send_task_heartbeat(taskToken=task_token)
