"""The Manager: the facade a control plane awaits.

It validates before any engine call, routes to the right provider, applies
the :class:`~landlord_workflow.CallPolicy` (per-attempt timeouts, retries of
transient errors, deadline) to every provider call, waits for executions,
retries or redrives them under the workflow's
:class:`~landlord_workflow.RetryPolicy`, and reports every attempt to logs and
hooks.
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import anyio
import attrs
from anyio.abc import AsyncResource

from landlord_workflow._instrumentation import CallDetails, ExecutionOutcome, Hook
from landlord_workflow._policies import CallPolicy, PollPolicy, _CallRunner
from landlord_workflow._provider import Provider, SupportsRedrive, SupportsWatch
from landlord_workflow._registry import Registry
from landlord_workflow._types import (
    CreateWorkflowResult,
    ExecutionInput,
    ExecutionResult,
    ExecutionState,
    ExecutionStatus,
    RetryPolicy,
    WorkflowSpec,
)
from landlord_workflow._validation import (
    validate_execution_input,
    validate_workflow_id,
    validate_workflow_spec,
)
from landlord_workflow.errors import (
    ExecutionFailedError,
    InvalidSpecError,
    OperationTimeoutError,
    ProviderNotFoundError,
    UnsupportedOperationError,
    WorkflowError,
)

if TYPE_CHECKING:
    from datetime import timedelta

    from landlord_workflow.config import WorkflowConfig

__all__ = ["Manager"]

T = TypeVar("T")

_REMEMBERED_EXECUTIONS = 10_000
_WRITE_OPERATIONS = frozenset(
    {"create_workflow", "start_execution", "stop_execution", "delete_workflow", "redrive_execution"}
)


class Manager(AsyncResource):
    """Create, start, watch, stop and delete workflows on registered providers.

    ``registry`` holds the providers (a new empty one by default; reach it as
    :attr:`registry`). The Manager owns them: :meth:`aclose` closes every
    registered provider.

    Provider resolution, for every call: an explicit ``provider_type``; else,
    for calls about a workflow or an execution this Manager created or
    started, the provider that did it; else ``default_provider``; else
    :class:`ProviderNotFoundError`.
    """

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        default_provider: str | None = None,
        call_policy: CallPolicy = CallPolicy(),  # noqa: B008 - frozen value
        poll_policy: PollPolicy = PollPolicy(),  # noqa: B008 - frozen value
        hooks: Iterable[Hook] = (),
        logger: logging.Logger | None = None,
    ) -> None:
        self.registry = registry if registry is not None else Registry()
        self.default_provider = default_provider
        self.call_policy = call_policy
        self.poll_policy = poll_policy
        self.hooks: tuple[Hook, ...] = tuple(hooks)
        self.logger = logger if logger is not None else logging.getLogger("landlord_workflow")
        self._runner = _CallRunner(call_policy)
        self._workflows: dict[str, tuple[str, RetryPolicy | None]] = {}
        self._executions: OrderedDict[str, str] = OrderedDict()
        self._closed = False

    # -- construction and lifecycle ------------------------------------------------

    @classmethod
    def from_config(cls, config: WorkflowConfig, *, hooks: Iterable[Hook] = ()) -> Manager:
        """Build a Manager with the providers ``config`` describes.

        The mock engine is always registered; Step Functions is registered
        when a region is configured (it needs the ``aws`` extra).
        """
        registry = Registry()
        for provider in config.build_providers():
            registry.register(provider)
        return cls(
            registry,
            default_provider=config.default_provider,
            call_policy=config.call_policy,
            poll_policy=config.poll_policy,
            hooks=hooks,
        )

    async def aclose(self) -> None:
        """Close every registered provider (idempotent)."""
        if self._closed:
            return
        self._closed = True
        errors: list[BaseException] = []
        for provider in self.registry.providers():
            try:
                await provider.aclose()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def list_providers(self) -> list[str]:
        """Names of the registered providers, sorted."""
        return self.registry.list()

    # -- workflows -----------------------------------------------------------------

    async def validate_workflow_spec(self, spec: WorkflowSpec) -> None:
        """Check ``spec`` (structure, then the provider's own rules); no engine call."""
        validate_workflow_spec(spec)
        await self._resolve(spec.provider_type).validate(spec)

    async def create_workflow(self, spec: WorkflowSpec) -> CreateWorkflowResult:
        """Validate ``spec`` and create (or update) the workflow on its provider."""
        validate_workflow_spec(spec)
        provider = self._resolve(spec.provider_type)
        await provider.validate(spec)
        result = await self._call(
            "create_workflow", provider, lambda: provider.create_workflow(spec), spec.workflow_id
        )
        self._workflows[spec.workflow_id] = (provider.name, spec.retry_policy)
        return result

    async def delete_workflow(self, workflow_id: str, *, provider_type: str | None = None) -> None:
        """Delete the workflow (idempotent)."""
        validate_workflow_id(workflow_id)
        provider = self._resolve_for_workflow(workflow_id, provider_type)
        await self._call(
            "delete_workflow", provider, lambda: provider.delete_workflow(workflow_id), workflow_id
        )
        self._workflows.pop(workflow_id, None)

    # -- executions ----------------------------------------------------------------

    async def start_execution(
        self,
        workflow_id: str,
        execution_input: ExecutionInput | None = None,
        *,
        provider_type: str | None = None,
    ) -> ExecutionResult:
        """Validate the input and start one execution.

        The execution name is fixed before the first attempt (generated if
        absent), so a retried start can never create a second execution.
        """
        execution_input = execution_input if execution_input is not None else ExecutionInput()
        validate_workflow_id(workflow_id)
        validate_execution_input(execution_input)
        provider = self._resolve_for_workflow(workflow_id, provider_type)
        if execution_input.execution_name is None:
            execution_input = attrs.evolve(
                execution_input, execution_name=_generate_name(workflow_id)
            )
        named = execution_input
        result = await self._call(
            "start_execution",
            provider,
            lambda: provider.start_execution(workflow_id, named),
            workflow_id,
        )
        self._remember_execution(result.execution_id, provider.name)
        return result

    async def get_execution_status(
        self,
        execution_id: str,
        *,
        provider_type: str | None = None,
        include_history: bool = False,
    ) -> ExecutionStatus:
        """Describe one execution (history only when asked: it costs API calls)."""
        provider = self._resolve_for_execution(execution_id, provider_type)
        return await self._call(
            "get_execution_status",
            provider,
            lambda: provider.get_execution_status(execution_id, include_history=include_history),
            execution_id=execution_id,
        )

    async def stop_execution(
        self, execution_id: str, reason: str, *, provider_type: str | None = None
    ) -> None:
        """Stop a running execution (idempotent; a terminal one is left as is)."""
        _check_text("reason", reason, allow_empty=True)
        provider = self._resolve_for_execution(execution_id, provider_type)
        await self._call(
            "stop_execution",
            provider,
            lambda: provider.stop_execution(execution_id, reason),
            execution_id=execution_id,
        )

    async def redrive_execution(
        self, execution_id: str, *, provider_type: str | None = None
    ) -> ExecutionResult:
        """Resume a failed, timed-out or cancelled execution from the failed state."""
        provider = self._resolve_for_execution(execution_id, provider_type)
        if not isinstance(provider, SupportsRedrive):
            raise UnsupportedOperationError(provider.name, "redrive_execution")
        redrivable = provider
        return await self._call(
            "redrive_execution",
            provider,
            lambda: redrivable.redrive_execution(execution_id),
            execution_id=execution_id,
        )

    async def watch(
        self, execution_id: str, *, provider_type: str | None = None
    ) -> AsyncIterator[ExecutionStatus]:
        """Yield the status now and after every change, ending at a terminal state.

        Uses the provider's push-based watch when it has one; otherwise polls
        (without history) under the PollPolicy and yields when the state
        changes.
        """
        provider = self._resolve_for_execution(execution_id, provider_type)
        if isinstance(provider, SupportsWatch):
            async for status in self._watch_pushed(provider, execution_id):
                yield status
            return
        intervals = self.poll_policy.intervals()
        last: ExecutionState | None = None
        while True:
            status = await self._call(
                "get_execution_status",
                provider,
                lambda: provider.get_execution_status(execution_id),
                execution_id=execution_id,
            )
            if status.state is not last:
                last = status.state
                yield status
            if status.state.is_terminal:
                return
            await anyio.sleep(next(intervals))

    async def _watch_pushed(
        self, provider: SupportsWatch, execution_id: str
    ) -> AsyncIterator[ExecutionStatus]:
        # Opening the watch (up to its first status) is a provider call like
        # any other: under the CallPolicy, so transient errors are retried. A
        # failed or timed-out attempt has already finished its stream.
        opened: list[AsyncIterator[ExecutionStatus]] = []

        async def open_watch() -> ExecutionStatus | None:
            stream = provider.watch_execution(execution_id)
            first = await anext(stream, None)
            opened.append(stream)
            return first

        first = await self._call(
            "watch_execution", cast("Provider", provider), open_watch, execution_id=execution_id
        )
        stream = opened[-1]
        try:
            if first is None:
                return
            yield first
            async for status in stream:
                yield status
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    async def wait_for_completion(
        self,
        execution_id: str,
        *,
        provider_type: str | None = None,
        timeout: timedelta | None = None,
    ) -> ExecutionStatus:
        """Wait until the execution is terminal and return its final status.

        ``timeout`` bounds the wait (``None``: wait as long as it takes); when
        it passes, :class:`OperationTimeoutError` is raised and the execution
        is left running.
        """
        return await self._wait(execution_id, provider_type, timeout, attempt=1)

    async def run(
        self,
        workflow_id: str,
        execution_input: ExecutionInput | None = None,
        *,
        provider_type: str | None = None,
        timeout: timedelta | None = None,
        on_attempt: Callable[[ExecutionResult, int], Awaitable[object]] | None = None,
    ) -> ExecutionStatus:
        """Start an execution, wait for it, and retry it under the workflow's RetryPolicy.

        On ``failed`` or ``timed_out`` (never ``cancelled``) and while attempts
        remain, wait ``RetryPolicy.backoff(n)``, then redrive the execution
        when the provider supports it, else start a fresh execution named
        ``<name>-retry-<n>``. The RetryPolicy is the one of the spec this
        Manager created the workflow from (none: a single attempt).
        ``timeout`` bounds the whole run.

        ``on_attempt(result, attempt)``, if given, is awaited after each
        attempt starts (the start, then each redrive or fresh start; attempts
        count from 1), before the Manager waits for that attempt's end — a
        progress view can follow the execution there.

        Returns the final status if it succeeded; raises
        :class:`ExecutionFailedError` carrying it otherwise.
        """
        execution_input = execution_input if execution_input is not None else ExecutionInput()
        validate_workflow_id(workflow_id)
        validate_execution_input(execution_input)
        if execution_input.execution_name is None:
            execution_input = attrs.evolve(
                execution_input, execution_name=_generate_name(workflow_id)
            )
        policy = self._workflows.get(workflow_id, (None, None))[1] or RetryPolicy()
        with anyio.move_on_after(_seconds(timeout)) as scope:
            return await self._run(workflow_id, execution_input, provider_type, policy, on_attempt)
        assert scope.cancelled_caught  # noqa: S101 - the scope returned otherwise
        raise OperationTimeoutError(
            f"run of workflow {workflow_id!r} did not finish within {timeout}"
        )

    async def _run(
        self,
        workflow_id: str,
        execution_input: ExecutionInput,
        provider_type: str | None,
        policy: RetryPolicy,
        on_attempt: Callable[[ExecutionResult, int], Awaitable[object]] | None,
    ) -> ExecutionStatus:
        base_name = execution_input.execution_name
        assert base_name is not None  # noqa: S101 - fixed by run()
        started = await self.start_execution(
            workflow_id, execution_input, provider_type=provider_type
        )
        provider = self._resolve_for_execution(started.execution_id, provider_type)
        execution_id = started.execution_id
        attempts = max(policy.max_attempts, 1)
        attempt = 1
        while True:
            if on_attempt is not None:
                await on_attempt(started, attempt)
            status = await self._wait(execution_id, provider.name, None, attempt=attempt)
            if status.state is ExecutionState.SUCCEEDED:
                return status
            retryable = status.state in (ExecutionState.FAILED, ExecutionState.TIMED_OUT)
            if not retryable or attempt >= attempts:
                raise ExecutionFailedError(status)
            await anyio.sleep(policy.backoff(attempt).total_seconds())
            attempt += 1
            if isinstance(provider, SupportsRedrive):
                self._log_event("run_retry", provider.name, workflow_id, execution_id, attempt)
                started = await self.redrive_execution(execution_id, provider_type=provider.name)
            else:
                retry_input = attrs.evolve(
                    execution_input, execution_name=_retry_name(base_name, attempt - 1)
                )
                self._log_event("run_retry", provider.name, workflow_id, execution_id, attempt)
                started = await self.start_execution(
                    workflow_id, retry_input, provider_type=provider.name
                )
                execution_id = started.execution_id

    async def _wait(
        self,
        execution_id: str,
        provider_type: str | None,
        timeout: timedelta | None,
        *,
        attempt: int,
    ) -> ExecutionStatus:
        final: ExecutionStatus | None = None
        with anyio.move_on_after(_seconds(timeout)) as scope:
            async for status in self.watch(execution_id, provider_type=provider_type):
                final = status
        if scope.cancelled_caught or final is None or not final.state.is_terminal:
            raise OperationTimeoutError(
                f"execution {execution_id!r} did not finish within {timeout}"
            )
        self._report_outcome(final, attempt)
        return final

    # -- internals -----------------------------------------------------------------

    def _resolve(self, provider_type: str | None) -> Provider:
        if self._closed:
            raise WorkflowError("this Manager is closed")
        name = provider_type or self.default_provider
        if not name:
            raise ProviderNotFoundError(
                "<none: pass provider_type or configure default_provider>", self.registry.list()
            )
        return self.registry.get(name)

    def _resolve_for_workflow(self, workflow_id: str, provider_type: str | None) -> Provider:
        if provider_type is None and workflow_id in self._workflows:
            provider_type = self._workflows[workflow_id][0]
        return self._resolve(provider_type)

    def _resolve_for_execution(self, execution_id: str, provider_type: str | None) -> Provider:
        _check_text("execution_id", execution_id)
        if provider_type is None:
            provider_type = self._executions.get(execution_id)
        return self._resolve(provider_type)

    def _remember_execution(self, execution_id: str, provider_name: str) -> None:
        executions = self._executions
        executions[execution_id] = provider_name
        executions.move_to_end(execution_id)
        if len(executions) > _REMEMBERED_EXECUTIONS:
            executions.popitem(last=False)

    async def _call(
        self,
        operation: str,
        provider: Provider,
        call: Callable[[], Awaitable[T]],
        workflow_id: str | None = None,
        execution_id: str | None = None,
    ) -> T:
        provider_name = provider.name
        hooks = self.hooks
        logger = self.logger
        write = operation in _WRITE_OPERATIONS

        def report(attempt: int, seconds: float, error: BaseException | None, retry: bool) -> None:
            outcome = "ok" if error is None else ("retry" if retry else "error")
            error_name = None if error is None else type(error).__name__
            level = (logging.INFO if write else logging.DEBUG) if error is None else logging.WARNING
            if logger.isEnabledFor(level):
                logger.log(
                    level,
                    "%s %s on %s (attempt %d, %.1f ms)%s",
                    operation,
                    outcome,
                    provider_name,
                    attempt,
                    seconds * 1000,
                    f": {error_name}" if error_name else "",
                    extra={
                        "operation": operation,
                        "provider": provider_name,
                        "workflow_id": workflow_id,
                        "execution_id": execution_id,
                        "attempt": attempt,
                        "duration_ms": round(seconds * 1000, 3),
                        "outcome": outcome,
                        "error": error_name,
                    },
                )
            if hooks:
                details = CallDetails(
                    operation=operation,
                    provider=provider_name,
                    attempt=attempt,
                    duration=seconds,
                    outcome=outcome,
                    error=error_name,
                    workflow_id=workflow_id,
                    execution_id=execution_id,
                )
                for hook in hooks:
                    _safe_hook(logger, hook.on_call, details)

        return await self._runner(call, report)

    def _report_outcome(self, status: ExecutionStatus, attempt: int) -> None:
        duration = (
            (status.stop_time - status.start_time).total_seconds() if status.stop_time else None
        )
        error = status.error
        level = logging.INFO if status.state is ExecutionState.SUCCEEDED else logging.WARNING
        if self.logger.isEnabledFor(level):
            self.logger.log(
                level,
                "execution %s ended %s",
                status.execution_id,
                status.state.value,
                extra={
                    "operation": "execution_outcome",
                    "provider": status.provider_type,
                    "workflow_id": status.workflow_id,
                    "execution_id": status.execution_id,
                    "attempt": attempt,
                    "duration_ms": None if duration is None else round(duration * 1000, 3),
                    "outcome": status.state.value,
                    "error": None if error is None else error.code,
                    "failed_at": None if error is None else error.failed_at,
                },
            )
        if self.hooks:
            details = ExecutionOutcome(
                execution_id=status.execution_id,
                workflow_id=status.workflow_id,
                provider=status.provider_type,
                state=status.state,
                duration=duration,
                error_code=None if error is None else error.code,
                failed_at=None if error is None else error.failed_at,
                attempt=attempt,
            )
            for hook in self.hooks:
                _safe_hook(self.logger, hook.on_execution, details)

    def _log_event(
        self, operation: str, provider: str, workflow_id: str, execution_id: str, attempt: int
    ) -> None:
        self.logger.info(
            "%s: %s attempt %d",
            operation,
            execution_id,
            attempt,
            extra={
                "operation": operation,
                "provider": provider,
                "workflow_id": workflow_id,
                "execution_id": execution_id,
                "attempt": attempt,
                "duration_ms": None,
                "outcome": "retry",
            },
        )

    def __repr__(self) -> str:
        return (
            f"Manager(providers={self.registry.list()!r}, "
            f"default_provider={self.default_provider!r})"
        )


def _check_text(field: str, value: object, *, allow_empty: bool = False) -> None:
    """Execution ids and stop reasons are strings; anything else never reaches a provider."""
    if not isinstance(value, str):
        kind = "None" if value is None else type(value).__name__
        raise InvalidSpecError.single(field, f"must be a string, got {kind}")
    if not value and not allow_empty:
        raise InvalidSpecError.single(field, "must not be empty")


def _safe_hook(logger: logging.Logger, method: Callable[[Any], None], details: object) -> None:
    try:
        method(details)
    except Exception:
        logger.exception("instrumentation hook %r failed", method)


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _generate_name(workflow_id: str) -> str:
    """A valid, unique execution name: ``<workflow_id prefix>-<32 hex>`` (<= 73 chars)."""
    return f"{workflow_id[:40]}-{uuid.uuid4().hex}"


def _retry_name(base: str, retry: int) -> str:
    suffix = f"-retry-{retry}"
    return base[: 80 - len(suffix)] + suffix
