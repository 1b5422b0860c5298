"""The Manager: the facade a control plane awaits.

It validates before any engine call, routes to the right provider, applies
the `CallPolicy` (per-attempt timeouts, retries of transient errors,
deadline) to every provider call, waits for executions, retries or redrives
them under the workflow's `RetryPolicy`, and reports every attempt and
outcome to its hooks (logging is one of them).

A Manager remembers nothing it needs to be correct: which provider holds a
workflow or an execution, and the workflow's RetryPolicy, are read from the
engines (any number of Managers, in any number of processes, agree). It
keeps small caches of what it has read, never needed for a right answer.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractContextManager, ExitStack, aclosing, nullcontext
from functools import partial
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar, cast

import anyio
import attrs
from anyio.abc import AsyncResource

from landlord_workflow._instrumentation import (
    CallDetails,
    CallStart,
    ExecutionOutcome,
    Hook,
    LoggingHook,
    ScopedHook,
)
from landlord_workflow._limits import NAME_MAX_LENGTH
from landlord_workflow._policies import CallPolicy, CallRunner, PollPolicy, check_timeout
from landlord_workflow._provider import (
    Provider,
    SupportsListExecutions,
    SupportsListWorkflows,
    SupportsRedrive,
    SupportsTaskTokens,
    SupportsWatch,
    advertised_poll_policy,
)
from landlord_workflow._registry import Registry
from landlord_workflow._types import (
    CANCELLED_ERROR_CODE,
    CreateWorkflowResult,
    ExecutionError,
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
    ExecutionAlreadyExistsError,
    ExecutionFailedError,
    InvalidSpecError,
    OperationTimeoutError,
    ProviderError,
    ProviderNotFoundError,
    TransientError,
    UnsupportedOperationError,
    WorkflowError,
    WorkflowNotFoundError,
)

if TYPE_CHECKING:
    from datetime import timedelta

    from landlord_workflow.cli._config import WorkflowConfig

T = TypeVar("T")

_CACHE_SIZE = 10_000
"""Workflows whose provider and RetryPolicy a Manager keeps (least recently used go)."""
_RETRYABLE = frozenset({ExecutionState.FAILED, ExecutionState.TIMED_OUT})


class _KnownWorkflow:
    """What a Manager has read about a workflow (a cache; the engine is the truth)."""

    __slots__ = ("provider", "retry_policy")

    def __init__(self, provider: str, retry_policy: RetryPolicy | None) -> None:
        self.provider = provider
        self.retry_policy = retry_policy


class _Run:
    """`Manager.run` calls in progress on one execution (a stop through this Manager ends them)."""

    __slots__ = ("_event", "stop_reason", "stopped", "users")

    def __init__(self) -> None:
        self.stopped = False
        self.stop_reason: str | None = None
        self.users = 0
        self._event: anyio.Event | None = None  # made only for a run that waits on it

    def stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.stopped = True
        if self._event is not None:
            self._event.set()

    async def sleep_unless_stopped(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if a stop comes first."""
        if self.stopped:
            return
        if self._event is None:
            self._event = anyio.Event()
        with anyio.move_on_after(seconds):
            await self._event.wait()


class _NowhereError(ProviderNotFoundError):
    """No registered provider holds the workflow (and no default provider is set)."""


class Manager(AsyncResource):
    """Create, start, watch, stop and delete workflows on registered providers.

    ``registry`` holds the providers (a new empty one by default). The
    Manager owns them: `aclose` closes every registered provider. Its
    settings (`registry`, `default_provider`, `call_policy`, `poll_policy`,
    `hooks`, `logger`) are fixed at construction.

    Provider resolution needs no memory of earlier calls: an explicit
    ``provider_type``; else, for an execution id, the provider whose
    `Provider.owns_execution` recognises it; else, for a workflow id, the
    provider that holds the workflow (asked with `Provider.get_workflow`,
    the answer cached); else ``default_provider``; else
    `ProviderNotFoundError`. With one provider registered, it is the one.
    """

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        default_provider: str | None = None,
        call_policy: CallPolicy = CallPolicy(),  # noqa: B008 - frozen value
        poll_policy: PollPolicy | None = None,
        hooks: Iterable[Hook] = (),
        logger: logging.Logger | None = None,
    ) -> None:
        if registry is not None and not isinstance(registry, Registry):
            raise TypeError(f"registry must be a Registry, got {type(registry).__name__}")
        if default_provider is not None and not isinstance(default_provider, str):
            raise TypeError(
                f"default_provider must be a str or None, got {type(default_provider).__name__}"
            )
        if not isinstance(call_policy, CallPolicy):
            raise TypeError(f"call_policy must be a CallPolicy, got {type(call_policy).__name__}")
        if poll_policy is not None and not isinstance(poll_policy, PollPolicy):
            raise TypeError(
                f"poll_policy must be a PollPolicy or None, got {type(poll_policy).__name__}"
            )
        self._registry = registry if registry is not None else Registry()
        self._default_provider = default_provider
        self._call_policy = call_policy
        self._poll_policy = poll_policy
        self._hooks: tuple[Hook, ...] = tuple(hooks)
        self._logger = logger if logger is not None else logging.getLogger("landlord_workflow")
        self._log_hook = LoggingHook(self._logger)
        self._reporters: tuple[Hook, ...] = (self._log_hook, *self._hooks)
        self._scoped: tuple[ScopedHook, ...] = tuple(
            hook for hook in self._hooks if isinstance(hook, ScopedHook)
        )
        self._runner = CallRunner(call_policy)
        self._known: OrderedDict[str, _KnownWorkflow] = OrderedDict()
        self._runs: dict[str, _Run] = {}
        self._closed = False

    # -- settings (read-only) ----------------------------------------------------------

    @property
    def registry(self) -> Registry:
        """The providers this Manager routes to (and closes)."""
        return self._registry

    @property
    def default_provider(self) -> str | None:
        """The provider used when nothing else decides (``None``: no default)."""
        return self._default_provider

    @property
    def call_policy(self) -> CallPolicy:
        """Timeouts and retries of every provider call."""
        return self._call_policy

    @property
    def poll_policy(self) -> PollPolicy | None:
        """Pacing of waits on providers that cannot push status changes; ``None``
        (the default): each provider's own (`SupportsPollPolicy`), `PollPolicy()`
        for a provider that advertises none."""
        return self._poll_policy

    @property
    def hooks(self) -> tuple[Hook, ...]:
        """The instrumentation hooks given at construction (logging comes first, built in)."""
        return self._hooks

    @property
    def logger(self) -> logging.Logger:
        """Where the built-in logging hook writes."""
        return self._logger

    # -- construction and lifecycle ----------------------------------------------------

    @classmethod
    def from_config(cls, config: WorkflowConfig, *, hooks: Iterable[Hook] = ()) -> Manager:
        """Build a Manager with the providers and policies ``config`` describes."""
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
        """Close every registered provider, even when cancelled; idempotent.

        Each provider is closed to the end whatever cancels the caller (an
        anyio scope, or a native ``task.cancel()``); the cancellation is
        delivered once every provider has been closed. The first error a
        provider raised is raised after all had their turn (the others are
        logged).
        """
        if self._closed:
            return
        self._closed = True
        errors: list[BaseException] = []
        cancelled = False
        with anyio.CancelScope(shield=True):
            for provider in self._registry.providers():
                try:
                    cancelled |= await _close_to_the_end(provider)
                except Exception as exc:
                    errors.append(exc)
                    self._logger.warning(
                        "closing provider %s failed: %s", provider.name, type(exc).__name__
                    )
        if cancelled:
            raise asyncio.CancelledError
        if errors:
            raise errors[0]

    def list_providers(self) -> list[str]:
        """Names of the registered providers, sorted."""
        return self._registry.list()

    # -- workflows ---------------------------------------------------------------------

    async def validate_workflow_spec(self, spec: WorkflowSpec) -> None:
        """Check ``spec`` (structure, then the provider's own rules); no engine change."""
        validate_workflow_spec(spec)
        await self._named(spec.provider_type).validate(spec)

    async def create_workflow(self, spec: WorkflowSpec) -> CreateWorkflowResult:
        """Validate ``spec`` and create (or update) the workflow on its provider."""
        validate_workflow_spec(spec)
        provider = self._named(spec.provider_type)
        await provider.validate(spec)
        result = await self._call(
            "create_workflow", provider, lambda: provider.create_workflow(spec), spec.workflow_id
        )
        self._remember(spec.workflow_id, provider.name, spec.retry_policy)
        return result

    async def get_workflow(
        self, workflow_id: str, *, provider_type: str | None = None
    ) -> WorkflowSpec:
        """The workflow's spec as its engine holds it (every field, RetryPolicy included)."""
        validate_workflow_id(workflow_id)
        _check_provider_type(provider_type)
        if provider_type is not None or len(self._registry.list()) == 1:
            provider = self._for_name_or_only(provider_type)
            spec = await self._get_workflow(provider, workflow_id)
            self._remember(workflow_id, provider.name, spec.retry_policy)
            return spec
        return (await self._locate(workflow_id))[1]

    async def list_workflows(
        self, *, provider_type: str | None = None
    ) -> AsyncIterator[WorkflowSpec]:
        """Yield the spec of every workflow: of one provider, or of each that can list them."""
        _check_provider_type(provider_type)
        if provider_type is not None:
            provider = self._named(provider_type)
            if not isinstance(provider, SupportsListWorkflows):
                raise UnsupportedOperationError(provider.name, "list_workflows")
            providers = [provider]
        else:
            self._check_open()
            providers = [
                p for p in self._registry.providers() if isinstance(p, SupportsListWorkflows)
            ]
        for provider in providers:
            lister = cast("SupportsListWorkflows", provider)
            stream = self._stream("list_workflows", provider, lister.list_workflows)
            async with aclosing(stream) as specs:
                async for spec in specs:
                    yield spec

    async def delete_workflow(self, workflow_id: str, *, provider_type: str | None = None) -> None:
        """Delete the workflow (idempotent)."""
        validate_workflow_id(workflow_id)
        try:
            provider = await self._for_workflow(workflow_id, provider_type)
        except _NowhereError:
            return  # no provider holds it: deleting an unknown workflow succeeds
        await self._call(
            "delete_workflow", provider, lambda: provider.delete_workflow(workflow_id), workflow_id
        )
        self._known.pop(workflow_id, None)

    # -- executions --------------------------------------------------------------------

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
        execution_input = _named_input(workflow_id, execution_input)
        provider = await self._for_workflow(workflow_id, provider_type)
        return await self._start(provider, workflow_id, execution_input)

    async def _start(
        self, provider: Provider, workflow_id: str, execution_input: ExecutionInput
    ) -> ExecutionResult:
        return await self._call(
            "start_execution",
            provider,
            lambda: provider.start_execution(workflow_id, execution_input),
            workflow_id,
        )

    async def get_execution_status(
        self,
        execution_id: str,
        *,
        provider_type: str | None = None,
        include_history: bool = False,
    ) -> ExecutionStatus:
        """Describe one execution (history only when asked: it costs API calls)."""
        provider = self._for_execution(execution_id, provider_type)
        return await self._call(
            "get_execution_status",
            provider,
            lambda: provider.get_execution_status(execution_id, include_history=include_history),
            execution_id=execution_id,
        )

    async def stop_execution(
        self, execution_id: str, reason: str, *, provider_type: str | None = None
    ) -> None:
        """Stop a running execution (idempotent; a terminal one is left as is).

        A stop of an execution that this Manager's `run` is retrying wins
        over the retry: the run ends ``cancelled`` and starts nothing more.
        """
        _check_text("reason", reason, allow_empty=True)
        provider = self._for_execution(execution_id, provider_type)
        run = self._runs.get(execution_id)
        if run is not None:
            run.stop(reason)
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
        provider = self._for_execution(execution_id, provider_type)
        if not isinstance(provider, SupportsRedrive):
            raise UnsupportedOperationError(provider.name, "redrive_execution")
        redrivable = provider
        return await self._call(
            "redrive_execution",
            provider,
            lambda: redrivable.redrive_execution(execution_id),
            execution_id=execution_id,
        )

    async def list_executions(
        self,
        workflow_id: str,
        *,
        provider_type: str | None = None,
        state: ExecutionState | None = None,
    ) -> AsyncIterator[ExecutionStatus]:
        """Yield the executions of ``workflow_id`` (newest first where the engine orders them).

        Opening the listing is a provider call under the CallPolicy; the
        statuses carry no history.
        """
        validate_workflow_id(workflow_id)
        if state is not None and not isinstance(state, ExecutionState):
            raise TypeError(f"state must be an ExecutionState or None, got {type(state).__name__}")
        provider = await self._for_workflow(workflow_id, provider_type)
        if not isinstance(provider, SupportsListExecutions):
            raise UnsupportedOperationError(provider.name, "list_executions")
        lister = provider
        stream = self._stream(
            "list_executions",
            provider,
            lambda: lister.list_executions(workflow_id, state=state),
            workflow_id=workflow_id,
        )
        async with aclosing(stream) as statuses:
            async for status in statuses:
                yield status

    # -- callbacks ---------------------------------------------------------------------

    async def send_task_success(
        self, task_token: str, output: Any, *, provider_type: str | None = None
    ) -> None:
        """Complete a waiting ``.waitForTaskToken`` task with ``output`` (a JSON value)."""
        _check_text("task_token", task_token)
        _check_json("output", output)
        provider = self._for_tokens(task_token, provider_type)
        await self._call(
            "send_task_success", provider, lambda: provider.send_task_success(task_token, output)
        )

    async def send_task_failure(
        self,
        task_token: str,
        error: str,
        cause: str | None = None,
        *,
        provider_type: str | None = None,
    ) -> None:
        """Fail a waiting ``.waitForTaskToken`` task with ``error`` and ``cause``."""
        _check_text("task_token", task_token)
        _check_text("error", error, allow_empty=True)
        if cause is not None:
            _check_text("cause", cause, allow_empty=True)
        provider = self._for_tokens(task_token, provider_type)
        await self._call(
            "send_task_failure",
            provider,
            lambda: provider.send_task_failure(task_token, error, cause),
        )

    async def send_task_heartbeat(
        self, task_token: str, *, provider_type: str | None = None
    ) -> None:
        """Tell the engine a waiting ``.waitForTaskToken`` task is alive."""
        _check_text("task_token", task_token)
        provider = self._for_tokens(task_token, provider_type)
        await self._call(
            "send_task_heartbeat", provider, lambda: provider.send_task_heartbeat(task_token)
        )

    # -- waiting -----------------------------------------------------------------------

    async def watch(
        self, execution_id: str, *, provider_type: str | None = None
    ) -> AsyncIterator[ExecutionStatus]:
        """Yield the status now and after every change of its state, ending at a terminal state.

        Uses the provider's push-based watch when it has one; otherwise polls
        (without history) under the PollPolicy. Either way each state is
        yielded once.
        """
        provider = self._for_execution(execution_id, provider_type)
        last: ExecutionState | None = None
        async with aclosing(self._statuses(provider, execution_id)) as statuses:
            async for status in statuses:
                if status.state is not last:
                    last = status.state
                    yield status
                if status.state.is_terminal:
                    return

    async def _statuses(
        self, provider: Provider, execution_id: str
    ) -> AsyncGenerator[ExecutionStatus, None]:
        if _supports_watch(provider):
            watcher = cast("SupportsWatch", provider)
            # A transient error after the watch has yielded cannot be retried
            # inside the stream (it would repeat what was yielded): the watch is
            # opened again instead (its opening under the CallPolicy), at most
            # max_attempts times in a row without a status in between.
            broken = 0
            while True:
                opened: list[AsyncIterator[ExecutionStatus]] = []
                try:
                    try:
                        has_first, first = await self._open_stream(
                            "watch_execution",
                            provider,
                            lambda: watcher.watch_execution(execution_id),
                            opened,
                            execution_id=execution_id,
                        )
                        if has_first:
                            broken = 0
                            yield cast("ExecutionStatus", first)
                            async for status in opened[-1]:
                                broken = 0
                                yield status
                    finally:
                        await _close_streams(opened)
                    return
                except TransientError:
                    broken += 1
                    if broken >= self._call_policy.max_attempts:
                        raise
                    await anyio.sleep(self._call_policy.backoff(broken))
        polls = self._poll_policy or advertised_poll_policy(provider)
        intervals = polls.intervals()
        while True:
            yield await self._call(
                "get_execution_status",
                provider,
                lambda: provider.get_execution_status(execution_id),
                execution_id=execution_id,
            )
            await anyio.sleep(next(intervals))

    async def wait_for_completion(
        self,
        execution_id: str,
        *,
        provider_type: str | None = None,
        timeout: timedelta | None = None,
    ) -> ExecutionStatus:
        """Wait until the execution is terminal and return its final status.

        ``timeout`` (a `datetime.timedelta`, ``None``: as long as it takes)
        bounds the wait; when it passes, `OperationTimeoutError` is raised
        and the execution is left running.
        """
        seconds = check_timeout("timeout", timeout)
        provider = self._for_execution(execution_id, provider_type)
        with self._composite("wait_for_completion", provider.name, execution_id=execution_id):
            return await self._wait(provider, execution_id, seconds, attempt=1)

    async def _wait(
        self, provider: Provider, execution_id: str, seconds: float | None, *, attempt: int
    ) -> ExecutionStatus:
        final: ExecutionStatus | None = None
        # No scope at all when nothing bounds the wait (a scope that never
        # expires changes nothing; the caller's cancellation still reaches in).
        with nullcontext() if seconds is None else anyio.move_on_after(seconds):
            async with aclosing(self._statuses(provider, execution_id)) as statuses:
                async for status in statuses:
                    final = status
                    if status.state.is_terminal:
                        break
        if final is None or not final.state.is_terminal:
            raise OperationTimeoutError(
                f"execution {execution_id!r} did not finish within {seconds} seconds"
            )
        self._report_outcome(final, attempt)
        return final

    # -- run ---------------------------------------------------------------------------

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

        The RetryPolicy is the one stored with the workflow on its engine
        (read once per workflow and cached). On ``failed`` or ``timed_out``
        (never ``cancelled``) and while attempts remain, wait
        ``RetryPolicy.backoff(n)``, then redrive the execution when the
        provider supports it, else start a fresh execution named
        ``<name>-retry-<n>``. A stop through this Manager during the wait
        wins: the run ends cancelled and starts nothing more. Two runs with
        the same ``execution_name`` share one execution and see the same
        outcome. ``timeout`` bounds the whole run.

        ``on_attempt(result, attempt)``, if given, is awaited after each
        attempt starts (attempts count from 1), before the Manager waits for
        that attempt's end — a progress view can follow the execution there.

        Returns the final status if it succeeded; raises
        `ExecutionFailedError` carrying it otherwise.
        """
        seconds = check_timeout("timeout", timeout)
        execution_input = _named_input(workflow_id, execution_input)
        with self._composite("run", provider_type, workflow_id=workflow_id):
            if seconds is None:  # unbounded: no scope that could never expire
                provider, policy = await self._run_plan(workflow_id, provider_type)
                return await self._run(provider, workflow_id, execution_input, policy, on_attempt)
            with anyio.move_on_after(seconds) as scope:
                provider, policy = await self._run_plan(workflow_id, provider_type)
                return await self._run(provider, workflow_id, execution_input, policy, on_attempt)
            assert scope.cancelled_caught  # noqa: S101 - the scope returned otherwise
            raise OperationTimeoutError(
                f"run of workflow {workflow_id!r} did not finish within {timeout}"
            )

    async def _run_plan(
        self, workflow_id: str, provider_type: str | None
    ) -> tuple[Provider, RetryPolicy]:
        """The provider that holds the workflow and its RetryPolicy (from the engine)."""
        _check_provider_type(provider_type)
        known = self._known.get(workflow_id)
        if known is not None and provider_type in (None, known.provider):
            self._known.move_to_end(workflow_id)
            return self._named(known.provider), known.retry_policy or RetryPolicy()
        if provider_type is not None or len(self._registry._sorted) == 1:
            provider = self._for_name_or_only(provider_type)
            spec = await self._get_workflow(provider, workflow_id)
        else:
            provider, spec = await self._locate(workflow_id)
        self._remember(workflow_id, provider.name, spec.retry_policy)
        return provider, spec.retry_policy or RetryPolicy()

    async def _run(
        self,
        provider: Provider,
        workflow_id: str,
        execution_input: ExecutionInput,
        policy: RetryPolicy,
        on_attempt: Callable[[ExecutionResult, int], Awaitable[object]] | None,
    ) -> ExecutionStatus:
        base_name = execution_input.execution_name
        assert base_name is not None  # noqa: S101 - fixed by _named_input
        tracked: list[tuple[str, _Run]] = []
        try:
            started = await self._start_shared(provider, workflow_id, execution_input)
            attempts = max(policy.max_attempts, 1)
            attempt = 1
            while True:
                run = self._track(started.execution_id, tracked)
                if run.stopped:
                    # The stop may have reached the engine before this attempt started.
                    await self._stop_for_run(provider, started.execution_id, run)
                if on_attempt is not None:
                    await on_attempt(started, attempt)
                status = await self._wait(provider, started.execution_id, None, attempt=attempt)
                if status.state is ExecutionState.SUCCEEDED:
                    return status
                if status.state not in _RETRYABLE or attempt >= attempts or run.stopped:
                    raise ExecutionFailedError(_stopped(run, status))
                await run.sleep_unless_stopped(policy.backoff(attempt).total_seconds())
                if run.stopped:
                    raise ExecutionFailedError(_stopped(run, status))
                attempt += 1
                if isinstance(provider, SupportsRedrive):
                    started = await self._redrive_shared(provider, status)
                else:
                    retry_input = attrs.evolve(
                        execution_input, execution_name=_retry_name(base_name, attempt - 1)
                    )
                    started = await self._start_shared(provider, workflow_id, retry_input)
        finally:
            for execution_id, run in tracked:
                run.users -= 1
                if run.users == 0 and self._runs.get(execution_id) is run:
                    del self._runs[execution_id]

    def _track(self, execution_id: str, tracked: list[tuple[str, _Run]]) -> _Run:
        for known_id, known in tracked:
            if known_id == execution_id:
                return known
        run = self._runs.get(execution_id)
        if run is None:
            run = self._runs[execution_id] = _Run()
        run.users += 1
        tracked.append((execution_id, run))
        return run

    async def _stop_for_run(self, provider: Provider, execution_id: str, run: _Run) -> None:
        await self._call(
            "stop_execution",
            provider,
            lambda: provider.stop_execution(execution_id, run.stop_reason or ""),
            execution_id=execution_id,
        )

    async def _redrive_shared(
        self, provider: SupportsRedrive, before: ExecutionStatus
    ) -> ExecutionResult:
        """Redrive, or join the redrive another run (or process) already made."""
        name = cast("Provider", provider).name
        execution_id = before.execution_id
        try:
            return await self.redrive_execution(execution_id, provider_type=name)
        except ProviderError:
            now = await self.get_execution_status(execution_id, provider_type=name)
            redriven = now.metadata.get("redrive_count") != before.metadata.get("redrive_count")
            if now.state is ExecutionState.RUNNING or (redriven and now.state.is_terminal):
                return ExecutionResult(
                    execution_id=execution_id,
                    workflow_id=now.workflow_id,
                    provider_type=now.provider_type,
                    state=now.state,
                    started_at=now.start_time,
                    message="redriven by another caller",
                )
            raise

    async def _start_shared(
        self, provider: Provider, workflow_id: str, execution_input: ExecutionInput
    ) -> ExecutionResult:
        """Start, or join the execution of that name another run already started
        with the same input (even if it has ended: its outcome is this run's)."""
        try:
            return await self._start(provider, workflow_id, execution_input)
        except ExecutionAlreadyExistsError as exc:
            now = await self.get_execution_status(exc.execution_id, provider_type=provider.name)
            if now.input != execution_input.input:
                raise
            return ExecutionResult(
                execution_id=now.execution_id,
                workflow_id=now.workflow_id,
                provider_type=now.provider_type,
                state=now.state,
                started_at=now.start_time,
                message="started by another caller",
            )

    # -- provider resolution -----------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise WorkflowError("this Manager is closed")

    def _named(self, name: str | None) -> Provider:
        self._check_open()
        _check_provider_type(name)
        if name is None:
            name = self._default_provider
        if name is None:
            raise ProviderNotFoundError(
                "<none>",
                self._registry.list(),
                detail="no provider given: pass provider_type or configure default_provider",
            )
        return self._registry.get(name)

    def _for_name_or_only(self, provider_type: str | None) -> Provider:
        if provider_type is not None:
            return self._named(provider_type)
        self._check_open()
        return self._registry.providers()[0]

    def _for_execution(self, execution_id: str, provider_type: str | None) -> Provider:
        if execution_id.__class__ is not str or not execution_id:
            _check_text("execution_id", execution_id)
        if provider_type is not None:
            return self._named(provider_type)
        self._check_open()
        providers = self._registry._sorted
        for provider in providers:
            if provider.owns_execution(execution_id):
                return provider
        if len(providers) == 1:
            return providers[0]
        if self._default_provider is not None:
            return self._named(self._default_provider)
        raise ProviderNotFoundError(
            "<none>",
            self._registry.list(),
            detail=f"no registered provider recognises execution id {execution_id!r}",
        )

    def _for_tokens(self, task_token: str, provider_type: str | None) -> SupportsTaskTokens:
        """Explicit name; else the provider whose ``owns_task_token`` recognises the
        token; else the only provider that can answer callbacks; else the default."""
        _check_provider_type(provider_type)
        if provider_type is None:
            self._check_open()
            capable = [p for p in self._registry.providers() if isinstance(p, SupportsTaskTokens)]
            for candidate in capable:
                owns = getattr(candidate, "owns_task_token", None)
                if owns is not None and owns(task_token):
                    return cast("SupportsTaskTokens", candidate)
            if len(capable) == 1:
                return cast("SupportsTaskTokens", capable[0])
        provider = self._named(provider_type)
        if not isinstance(provider, SupportsTaskTokens):
            raise UnsupportedOperationError(provider.name, "task callbacks")
        return provider

    async def _for_workflow(self, workflow_id: str, provider_type: str | None) -> Provider:
        validate_workflow_id(workflow_id)
        _check_provider_type(provider_type)
        if provider_type is not None:
            return self._named(provider_type)
        self._check_open()
        providers = self._registry._sorted
        if len(providers) == 1:
            return providers[0]
        known = self._known.get(workflow_id)
        if known is not None and known.provider in self._registry:
            self._known.move_to_end(workflow_id)
            return self._registry.get(known.provider)
        return (await self._locate(workflow_id))[0]

    async def _locate(self, workflow_id: str) -> tuple[Provider, WorkflowSpec]:
        """Ask every provider (sorted by name) for the workflow; the first that has it wins."""
        self._check_open()
        for provider in self._registry.providers():
            try:
                spec = await self._get_workflow(provider, workflow_id)
            except WorkflowNotFoundError:
                continue
            self._remember(workflow_id, provider.name, spec.retry_policy)
            return provider, spec
        if self._default_provider is not None:
            # The default provider was asked too: it does not hold it either.
            raise WorkflowNotFoundError(workflow_id)
        raise _NowhereError(
            "<none>",
            self._registry.list(),
            detail=f"no registered provider holds workflow {workflow_id!r}",
        )

    async def _get_workflow(self, provider: Provider, workflow_id: str) -> WorkflowSpec:
        return await self._call(
            "get_workflow", provider, lambda: provider.get_workflow(workflow_id), workflow_id
        )

    def _remember(self, workflow_id: str, provider: str, retry_policy: RetryPolicy | None) -> None:
        known = self._known
        known[workflow_id] = _KnownWorkflow(provider, retry_policy)
        known.move_to_end(workflow_id)
        if len(known) > _CACHE_SIZE:
            known.popitem(last=False)

    # -- calls and instrumentation -----------------------------------------------------

    async def _call(
        self,
        operation: str,
        provider: Any,
        call: Callable[[], Awaitable[T]],
        workflow_id: str | None = None,
        execution_id: str | None = None,
    ) -> T:
        if self._closed:
            raise WorkflowError("this Manager is closed")
        provider_name: str = provider.name
        # An in-process provider's call cannot hang on a network: its attempts
        # run without the per-attempt timeout scope (the deadline still holds).
        timed = not getattr(provider, "in_process", False)
        if timed or self._scoped or self._runner.deadline is not None:
            report = partial(self._report_call, operation, provider_name, workflow_id, execution_id)
            if not self._scoped:
                return await self._runner(call, report, timed=timed)
            start = CallStart(
                operation=operation,
                provider=provider_name,
                workflow_id=workflow_id,
                execution_id=execution_id,
            )
            with self._scope(start):
                return await self._runner(call, report, timed=timed)
        # The hot path (in process, no deadline, no scoped hook): the first
        # attempt inline, the runner only once it failed with a transient error.
        begun = perf_counter()
        try:
            result = await call()
        except TransientError as exc:
            report = partial(self._report_call, operation, provider_name, workflow_id, execution_id)
            return await self._runner.retry_after_first(call, report, begun, exc)
        except Exception as exc:
            self._report_call(
                operation, provider_name, workflow_id, execution_id, 1, perf_counter() - begun, exc
            )
            raise
        if self._hooks or self._log_hook.wants(operation, False):
            self._report_call(
                operation, provider_name, workflow_id, execution_id, 1, perf_counter() - begun
            )
        return result

    def _report_call(  # noqa: PLR0917 - the runner passes attempt facts positionally
        self,
        operation: str,
        provider: str,
        workflow_id: str | None,
        execution_id: str | None,
        attempt: int,
        seconds: float,
        error: BaseException | None = None,
        retry_in: float | None = None,
    ) -> None:
        """One attempt, to the hooks that listen (no details are built for nobody)."""
        logged = self._log_hook.wants(operation, error is not None)
        if not (self._hooks or logged):
            return
        details = CallDetails(
            operation=operation,
            provider=provider,
            attempt=attempt,
            duration=seconds,
            outcome="ok" if error is None else ("retry" if retry_in is not None else "error"),
            error=None if error is None else type(error).__name__,
            workflow_id=workflow_id,
            execution_id=execution_id,
            retry_in=retry_in,
        )
        if logged:
            _safe_hook(self._logger, self._log_hook.on_call, details)
        for hook in self._hooks:
            _safe_hook(self._logger, hook.on_call, details)

    def _composite(
        self,
        operation: str,
        provider: str | None,
        *,
        workflow_id: str | None = None,
        execution_id: str | None = None,
    ) -> AbstractContextManager[object]:
        """The scoped hooks' contexts around a Manager operation made of several calls."""
        if not self._scoped:
            return nullcontext()
        start = CallStart(
            operation=operation,
            provider=provider,
            workflow_id=workflow_id,
            execution_id=execution_id,
            composite=True,
        )
        return self._scope(start)

    def _scope(self, start: CallStart) -> AbstractContextManager[object]:
        """The scoped hooks' contexts around one operation (a hook's failure is logged)."""
        stack = ExitStack()
        for hook in self._scoped:
            try:
                stack.enter_context(hook.call_scope(start))
            except Exception:
                self._logger.exception("instrumentation hook %r failed", hook)
        return stack

    async def _stream(
        self,
        operation: str,
        provider: Any,
        open_stream: Callable[[], AsyncIterator[T]],
        *,
        workflow_id: str | None = None,
        execution_id: str | None = None,
    ) -> AsyncGenerator[T, None]:
        """Items of a provider stream; opening it (up to the first item) is a call
        under the CallPolicy, retried from scratch on a transient error. Later
        items are not retried: a retry would repeat what was already yielded."""
        opened: list[AsyncIterator[T]] = []
        try:
            has_first, first = await self._open_stream(
                operation, provider, open_stream, opened, workflow_id, execution_id
            )
            if not has_first:
                return
            yield cast("T", first)
            async for item in opened[-1]:
                yield item
        finally:
            await _close_streams(opened)

    async def _open_stream(  # noqa: PLR0917 - _call's arguments and the list
        self,
        operation: str,
        provider: Any,
        open_stream: Callable[[], AsyncIterator[T]],
        opened: list[AsyncIterator[Any]],
        workflow_id: str | None = None,
        execution_id: str | None = None,
    ) -> tuple[bool, T | None]:
        """Open a provider stream up to its first item: a call under the
        CallPolicy. Every stream opened (one per attempt) is appended to
        ``opened``, which the caller closes with `_close_streams`."""

        async def first_item() -> tuple[bool, T | None]:
            stream = open_stream()
            opened.append(stream)
            try:
                return True, await anext(stream)
            except StopAsyncIteration:
                return False, None

        return await self._call(operation, provider, first_item, workflow_id, execution_id)

    def _report_outcome(self, status: ExecutionStatus, attempt: int) -> None:
        reporters = self._reporters if self._log_hook.wants_execution(status.state) else self._hooks
        if not reporters:
            return  # no details built for nobody
        duration = (
            (status.stop_time - status.start_time).total_seconds() if status.stop_time else None
        )
        error = status.error
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
        for hook in reporters:
            _safe_hook(self._logger, hook.on_execution, details)

    def __repr__(self) -> str:
        return (
            f"Manager(providers={self._registry.list()!r}, "
            f"default_provider={self._default_provider!r})"
        )


async def _close_streams(opened: list[AsyncIterator[T]]) -> None:
    """Close every stream opened (shielded: a cancelled caller still closes them)."""
    for stream in opened:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()


async def _close_to_the_end(provider: Provider) -> bool:
    """Close ``provider`` completely; whether a native cancellation arrived meanwhile.

    An anyio shield does not stop asyncio's edge-triggered ``task.cancel()``:
    on asyncio the close runs in a task of its own, awaited through
    `asyncio.shield` until it is done, so an interrupted close still finishes.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # another event loop (trio): anyio's shield is enough
        await provider.aclose()
        return False
    closing = asyncio.ensure_future(provider.aclose())
    cancelled = False
    while not closing.done():
        try:
            await asyncio.shield(closing)
        except asyncio.CancelledError:
            if closing.cancelled():
                raise
            cancelled = True
    closing.result()  # the close's own error, if it failed
    return cancelled


def _check_text(field: str, value: object, *, allow_empty: bool = False) -> None:
    """Ids, reasons and tokens are strings; anything else never reaches a provider."""
    if not isinstance(value, str):
        kind = "None" if value is None else type(value).__name__
        raise InvalidSpecError.single(field, f"must be a string, got {kind}")
    if not value and not allow_empty:
        raise InvalidSpecError.single(field, "must not be empty")


def _check_provider_type(value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"provider_type must be a str or None, got {type(value).__name__}")


def _check_json(field: str, value: object) -> None:
    from landlord_workflow._json import check_json
    from landlord_workflow._limits import MAX_PAYLOAD_BYTES

    problems = check_json(value, field, max_bytes=MAX_PAYLOAD_BYTES)
    if problems:
        raise InvalidSpecError(problems)


def _named_input(workflow_id: str, execution_input: ExecutionInput | None) -> ExecutionInput:
    """Validated input with its execution name fixed (generated once if absent)."""
    validate_workflow_id(workflow_id)
    execution_input = execution_input if execution_input is not None else ExecutionInput()
    validate_execution_input(execution_input)
    if execution_input.execution_name is None:
        execution_input = attrs.evolve(execution_input, execution_name=_generate_name(workflow_id))
    return execution_input


_WATCHES: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()


def _supports_watch(provider: object) -> bool:
    """``isinstance(provider, SupportsWatch)``, cached per class when the class
    has the method (a Protocol check walks the members on every call)."""
    kind = type(provider)
    known = _WATCHES.get(kind)
    if known is None:
        if not callable(getattr(kind, "watch_execution", None)):
            return isinstance(provider, SupportsWatch)  # an instance attribute may add it
        known = _WATCHES[kind] = isinstance(provider, SupportsWatch)
    return known


def _safe_hook(logger: logging.Logger, method: Callable[[Any], None], details: object) -> None:
    try:
        method(details)
    except Exception:
        logger.exception("instrumentation hook %r failed", method)


def _generate_name(workflow_id: str) -> str:
    """A valid, unique execution name: ``<workflow_id prefix>-<32 hex>`` (<= 73 chars)."""
    return f"{workflow_id[:40]}-{uuid.uuid4().hex}"


def _retry_name(base: str, retry: int) -> str:
    suffix = f"-retry-{retry}"
    return base[: NAME_MAX_LENGTH - len(suffix)] + suffix


def _stopped(run: _Run, status: ExecutionStatus) -> ExecutionStatus:
    """The status a run ends with after a stop through the Manager: cancelled, with its reason."""
    if not run.stopped or status.state is ExecutionState.CANCELLED:
        return status
    reason = run.stop_reason or ""
    return attrs.evolve(
        status,
        state=ExecutionState.CANCELLED,
        error=ExecutionError(
            code=CANCELLED_ERROR_CODE,
            message=reason or "the execution was stopped",
            cause=reason or None,
            failed_at=status.error.failed_at if status.error else None,
        ),
    )
