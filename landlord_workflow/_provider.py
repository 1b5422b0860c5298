"""The Provider port and its optional capability Protocols.

A provider adapts one workflow engine (the in-memory mock, AWS Step
Functions, later Temporal) to this small async interface. The
`Manager` adds validation, retries, timeouts,
waiting and instrumentation on top, so a provider stays a thin, faithful
mapping onto its engine.

Rules every provider follows (the conformance suite in
`landlord_workflow.testing` checks them):

* Engine exceptions are mapped onto `landlord_workflow.errors` and
  chained (``raise ... from exc``). Temporary conditions (throttling,
  unavailability, connection trouble) are
  [`TransientError`][landlord_workflow.errors.TransientError] subclasses
  so the Manager retries them; everything permanent is not.
* Providers do not retry on their own: the Manager's ``CallPolicy`` is the
  single retry layer, so attempts are counted and visible.
* Every method honours cancellation promptly and never blocks the event loop.
* Returned values are fresh frozen values; callers cannot mutate engine state
  through them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from landlord_workflow._policies import PollPolicy
from landlord_workflow._types import (
    CreateWorkflowResult,
    ExecutionInput,
    ExecutionResult,
    ExecutionState,
    ExecutionStatus,
    WorkflowSpec,
)


@runtime_checkable
class Provider(Protocol):
    """An adapter for one workflow engine."""

    @property
    def name(self) -> str:
        """The provider type this adapter serves (``"mock"``, ``"step-functions"``)."""
        ...

    def owns_execution(self, execution_id: str) -> bool:
        """Whether ``execution_id`` has the shape of an id this provider issues.

        Pure and synchronous: no engine call, no memory of past starts (a
        fresh process must answer the same). The Manager routes calls about
        an execution to the provider that says yes.
        """
        ...

    async def validate(self, spec: WorkflowSpec) -> None:
        """Check ``spec.definition`` against the engine's rules, locally.

        Raise [`InvalidSpecError`][landlord_workflow.errors.InvalidSpecError] listing every problem.
        Must not create
        anything and should not call the engine (keep it fast).
        """
        ...

    async def create_workflow(self, spec: WorkflowSpec) -> CreateWorkflowResult:
        """Create the workflow, or update it in place.

        Idempotent: the same spec again is a no-op returning the same
        ``resource_ids``; a changed definition updates the definition. The
        provider enforces ``spec.timeout`` on executions of this workflow.
        """
        ...

    async def get_workflow(self, workflow_id: str) -> WorkflowSpec:
        """The spec as created, read back from the ENGINE (not process memory).

        Every field round-trips: definition, timeout, retry policy,
        description, tags (a provider stores what its engine has no field for
        alongside the workflow). Unknown workflow: `WorkflowNotFoundError`.
        """
        ...

    async def start_execution(
        self, workflow_id: str, execution_input: ExecutionInput
    ) -> ExecutionResult:
        """Start one execution of ``workflow_id``.

        Idempotent on ``execution_input.execution_name``: the same name with
        the same input while that execution runs returns it; a closed
        execution with that name, or different input, raises
        `ExecutionAlreadyExistsError` (its ``execution_id`` names the existing
        execution). Without a name, generate a valid
        unique one. Unknown workflow:
        [`WorkflowNotFoundError`][landlord_workflow.errors.WorkflowNotFoundError].
        """
        ...

    async def get_execution_status(
        self, execution_id: str, *, include_history: bool = False
    ) -> ExecutionStatus:
        """Describe one execution.

        Terminal states never change. ``output`` only on success; ``error``
        (with ``failed_at`` where known) otherwise. ``include_history=False``
        must be cheap: no history API call. Unknown execution:
        [`ExecutionNotFoundError`][landlord_workflow.errors.ExecutionNotFoundError].
        """
        ...

    async def stop_execution(self, execution_id: str, reason: str) -> None:
        """Stop a running execution; it ends ``cancelled``.

        Idempotent; stopping a terminal execution changes nothing. Unknown
        execution: [`ExecutionNotFoundError`][landlord_workflow.errors.ExecutionNotFoundError].
        """
        ...

    async def delete_workflow(self, workflow_id: str) -> None:
        """Delete the workflow definition. Idempotent: unknown ids succeed."""
        ...

    async def aclose(self) -> None:
        """Release every resource (clients, tasks). Calls after this fail."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class SupportsRedrive(Protocol):
    """A provider that can resume a closed execution from the failed state."""

    async def redrive_execution(self, execution_id: str) -> ExecutionResult:
        """Resume a failed, timed-out or cancelled execution at the state
        that did not complete, without re-running states that succeeded.
        The execution keeps its id. A succeeded or running execution raises
        [`ProviderError`][landlord_workflow.errors.ProviderError] (not redrivable)."""
        ...


@runtime_checkable
class SupportsWatch(Protocol):
    """A provider that pushes status changes instead of being polled."""

    def watch_execution(self, execution_id: str) -> AsyncIterator[ExecutionStatus]:
        """Yield the current status, then each change, ending after the
        terminal status."""
        ...


@runtime_checkable
class SupportsPollPolicy(Protocol):
    """A provider that is polled, and says how: at the pace that suits its engine
    (its API quotas, the durations it typically runs).

    A `Manager` built without a ``poll_policy`` paces its waits on this
    provider with this one; on a provider that advertises none, with
    `PollPolicy()`. Providers that push status changes
    ([`SupportsWatch`][landlord_workflow.SupportsWatch]) are not polled.
    """

    @property
    def poll_policy(self) -> PollPolicy:
        """How waiting for an execution of this provider polls it."""
        ...


def advertised_poll_policy(provider: object) -> PollPolicy:
    """``provider``'s own `SupportsPollPolicy.poll_policy`, else `PollPolicy()`."""
    policy = getattr(provider, "poll_policy", None)
    return policy if isinstance(policy, PollPolicy) else _FALLBACK_POLLS


@runtime_checkable
class SupportsListExecutions(Protocol):
    """A provider that can enumerate the executions of a workflow."""

    def list_executions(
        self, workflow_id: str, *, state: ExecutionState | None = None
    ) -> AsyncIterator[ExecutionStatus]:
        """Yield the executions of ``workflow_id`` (newest first where the
        engine orders them), optionally only those in ``state``. Statuses
        carry no history."""
        ...


@runtime_checkable
class SupportsListWorkflows(Protocol):
    """A provider that can enumerate the workflows it holds."""

    def list_workflows(self) -> AsyncIterator[WorkflowSpec]:
        """Yield every workflow's spec (as `Provider.get_workflow` returns it)."""
        ...


@runtime_checkable
class SupportsTaskTokens(Protocol):
    """A provider whose tasks can wait for a callback (ASL ``.waitForTaskToken``).

    The waiting task hands its token to whatever will answer (``$$.Task.Token``);
    these methods complete it. An unknown, closed or timed-out token raises
    `TaskTokenError`.
    """

    async def send_task_success(self, task_token: str, output: Any) -> None:
        """Complete the task with ``output`` (a JSON value) as its result."""
        ...

    async def send_task_failure(
        self, task_token: str, error: str, cause: str | None = None
    ) -> None:
        """Fail the task with ``error`` (Retry/Catch match it) and ``cause``."""
        ...

    async def send_task_heartbeat(self, task_token: str) -> None:
        """Tell the engine the task is alive (restarts its ``HeartbeatSeconds``)."""
        ...


_FALLBACK_POLLS = PollPolicy()
