"""Instrumentation: hooks called with frozen details, logging, in-memory metrics.

A hook is any object with ``on_call(details: CallDetails)`` and
``on_execution(details: ExecutionOutcome)`` methods (see `Hook`). The
Manager calls ``on_call`` once per provider call *attempt* and
``on_execution`` once per execution outcome it observes (when
``wait_for_completion``/``run`` see a terminal state). Hooks run inline on
the event loop: keep them fast and never raise (an exception from a hook is
logged and swallowed).

The Manager knows no log format: logging is one built-in hook,
`LoggingHook`, installed first on every Manager. `MetricsCollector` is a
ready-made hook that counts calls, retries, errors, latencies and execution
outcomes in memory.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from contextlib import AbstractContextManager
from typing import Any, Final, Protocol, runtime_checkable

import attrs

from landlord_workflow._types import ExecutionState

WRITE_OPERATIONS: Final = frozenset(
    {
        "create_workflow",
        "start_execution",
        "stop_execution",
        "delete_workflow",
        "redrive_execution",
        "send_task_success",
        "send_task_failure",
        "send_task_heartbeat",
    }
)
"""Operations that change something on the engine: logged at INFO when they succeed."""


@attrs.frozen(kw_only=True)
class CallDetails:
    """One attempt of one provider call.

    ``outcome`` is ``"ok"``, ``"retry"`` (a transient error that will be
    retried after ``retry_in`` seconds) or ``"error"`` (the error ends the
    call). ``error`` is the exception class name, never its message (which
    may carry payloads). ``duration`` is the attempt's wall time in seconds.
    """

    operation: str
    provider: str
    attempt: int
    duration: float
    outcome: str
    error: str | None = None
    workflow_id: str | None = None
    execution_id: str | None = None
    retry_in: float | None = None


@attrs.frozen(kw_only=True)
class ExecutionOutcome:
    """The terminal state of an execution, as the Manager observed it."""

    execution_id: str
    workflow_id: str
    provider: str
    state: ExecutionState
    duration: float | None
    """Seconds between start and stop as reported by the engine."""
    error_code: str | None = None
    failed_at: str | None = None
    attempt: int = 1
    """Execution-level attempt (``Manager.run`` retries count up)."""


@attrs.frozen(kw_only=True)
class CallStart:
    """An operation about to run, as a scoped hook hears of it (see `Hook`).

    ``operation`` is a provider method (``"start_execution"``, ...) for a
    provider call, or ``"run"`` / ``"wait_for_completion"`` for the Manager
    operations made of several calls; ``composite`` tells them apart.
    """

    operation: str
    provider: str | None
    """The provider's name (``None`` for a ``run`` not yet routed to one)."""
    workflow_id: str | None = None
    execution_id: str | None = None
    composite: bool = False


@runtime_checkable
class Hook(Protocol):
    """Receives instrumentation details from the Manager."""

    def on_call(self, details: CallDetails) -> None:
        """Called after each provider call attempt."""
        ...

    def on_execution(self, details: ExecutionOutcome) -> None:
        """Called when the Manager observes an execution reach a terminal state."""
        ...


@runtime_checkable
class ScopedHook(Hook, Protocol):
    """A hook that also wraps each operation in a context of its own.

    ``call_scope(start)`` returns a context manager the Manager enters
    before the operation and leaves after it (with the exception, if it
    failed), in the task that awaits the operation: a tracer makes its span
    current there, so what the provider does inside (aiobotocore, temporalio)
    nests under it. Provider calls are wrapped once around all their
    attempts (``on_call`` runs inside, once per attempt); ``run`` and
    ``wait_for_completion`` are wrapped around the calls they make.
    """

    def call_scope(self, start: CallStart) -> AbstractContextManager[object]:
        """The context to run the operation ``start`` describes in."""
        ...


LOG_FIELDS: Final = (
    "operation",
    "provider",
    "workflow_id",
    "execution_id",
    "attempt",
    "duration_ms",
    "outcome",
    "error",
    "failed_at",
    "retry_in_ms",
)
"""The ``extra`` keys of every record `LoggingHook` writes (one schema; ``None`` where
a key does not apply). Execution outcomes use ``operation="execution"``, the
execution state as ``outcome`` and its error code as ``error``."""


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


class LoggingHook:
    """The built-in hook that writes one structured record per attempt and outcome.

    Records go to ``logger`` (default ``logging.getLogger("landlord_workflow")``)
    with the ``extra`` keys of `LOG_FIELDS`. Levels: a successful write
    operation INFO, a successful read DEBUG, a retried or failed attempt
    WARNING; an execution that succeeded INFO, any other outcome WARNING.
    Payloads and error messages are never logged (only class names and
    engine error codes).
    """

    __slots__ = ("logger",)

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger if logger is not None else logging.getLogger("landlord_workflow")

    def wants(self, operation: str, failed: bool) -> bool:
        """Whether ``on_call`` would write anything (lets the Manager skip building details)."""
        return self.logger.isEnabledFor(_level(operation, failed))

    def on_call(self, details: CallDetails) -> None:
        """Log one attempt."""
        level = _level(details.operation, details.error is not None)
        if not self.logger.isEnabledFor(level):
            return
        self.logger.log(
            level,
            "%s %s on %s (attempt %d, %.1f ms)%s",
            details.operation,
            details.outcome,
            details.provider,
            details.attempt,
            details.duration * 1000,
            f": {details.error}" if details.error else "",
            extra=_extra(
                operation=details.operation,
                provider=details.provider,
                workflow_id=details.workflow_id,
                execution_id=details.execution_id,
                attempt=details.attempt,
                duration_ms=_ms(details.duration),
                outcome=details.outcome,
                error=details.error,
                retry_in_ms=_ms(details.retry_in),
            ),
        )

    def wants_execution(self, state: ExecutionState) -> bool:
        """Whether ``on_execution`` would write anything for an execution that ended ``state``."""
        return self.logger.isEnabledFor(_outcome_level(state))

    def on_execution(self, details: ExecutionOutcome) -> None:
        """Log one execution outcome."""
        level = _outcome_level(details.state)
        if not self.logger.isEnabledFor(level):
            return
        self.logger.log(
            level,
            "execution %s ended %s",
            details.execution_id,
            details.state.value,
            extra=_extra(
                operation="execution",
                provider=details.provider,
                workflow_id=details.workflow_id,
                execution_id=details.execution_id,
                attempt=details.attempt,
                duration_ms=_ms(details.duration),
                outcome=details.state.value,
                error=details.error_code,
                failed_at=details.failed_at,
            ),
        )


def _level(operation: str, failed: bool) -> int:
    if failed:
        return logging.WARNING
    return logging.INFO if operation in WRITE_OPERATIONS else logging.DEBUG


def _extra(**values: Any) -> dict[str, Any]:
    return {field: values.get(field) for field in LOG_FIELDS}


@attrs.frozen(kw_only=True)
class LatencySummary:
    """Latency of one operation over the calls recorded, in seconds."""

    count: int
    total: float
    max: float
    p50: float
    p99: float

    @property
    def mean(self) -> float:
        """Average latency."""
        return self.total / self.count if self.count else 0.0


@attrs.define
class _Latencies:
    count: int = 0
    total: float = 0.0
    max: float = 0.0
    recent: deque[float] = attrs.field(factory=lambda: deque(maxlen=1024))

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.max = max(self.max, value)
        self.recent.append(value)

    def summary(self) -> LatencySummary:
        ordered = sorted(self.recent)

        def pick(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

        return LatencySummary(
            count=self.count, total=self.total, max=self.max, p50=pick(0.5), p99=pick(0.99)
        )


@attrs.define
class MetricsCollector:
    """An in-memory metrics hook; thread-safe; cheap enough for the hot path.

    Counters are keyed by ``(operation, provider)``; percentiles are computed
    over the last 1,024 attempts of each operation.
    """

    calls: Counter[tuple[str, str]] = attrs.field(factory=Counter, init=False)
    """Logical calls (first attempts) per (operation, provider)."""
    attempts: Counter[tuple[str, str]] = attrs.field(factory=Counter, init=False)
    retries: Counter[tuple[str, str]] = attrs.field(factory=Counter, init=False)
    """Attempts that failed with a transient error and were retried."""
    errors: Counter[tuple[str, str, str]] = attrs.field(factory=Counter, init=False)
    """Calls that ended in an error, per (operation, provider, error class)."""
    executions: Counter[tuple[str, ExecutionState]] = attrs.field(factory=Counter, init=False)
    """Execution outcomes per (workflow_id, state)."""
    _latencies: dict[str, _Latencies] = attrs.field(factory=dict, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)

    def on_call(self, details: CallDetails) -> None:
        """Record one attempt."""
        key = (details.operation, details.provider)
        with self._lock:
            self.attempts[key] += 1
            if details.attempt == 1:
                self.calls[key] += 1
            if details.outcome == "retry":
                self.retries[key] += 1
            elif details.outcome == "error":
                self.errors[(details.operation, details.provider, details.error or "")] += 1
            latencies = self._latencies.get(details.operation)
            if latencies is None:
                latencies = self._latencies[details.operation] = _Latencies()
            latencies.add(details.duration)

    def on_execution(self, details: ExecutionOutcome) -> None:
        """Record one execution outcome."""
        with self._lock:
            self.executions[(details.workflow_id, details.state)] += 1

    def latency(self, operation: str) -> LatencySummary:
        """Latency summary of ``operation`` (zeros if never called)."""
        with self._lock:
            latencies = self._latencies.get(operation) or _Latencies()
            return latencies.summary()

    def total_retries(self, operation: str | None = None) -> int:
        """Retries in all, or of one operation."""
        with self._lock:
            return sum(n for (op, _), n in self.retries.items() if operation in (None, op))

    def snapshot(self) -> dict[str, object]:
        """A plain-dict copy of every counter, for logging or export."""
        with self._lock:
            return {
                "calls": {f"{op}/{prov}": n for (op, prov), n in self.calls.items()},
                "attempts": {f"{op}/{prov}": n for (op, prov), n in self.attempts.items()},
                "retries": {f"{op}/{prov}": n for (op, prov), n in self.retries.items()},
                "errors": {f"{op}/{prov}/{err}": n for (op, prov, err), n in self.errors.items()},
                "executions": {f"{wf}/{st.value}": n for (wf, st), n in self.executions.items()},
            }


def _outcome_level(state: ExecutionState) -> int:
    return logging.INFO if state is ExecutionState.SUCCEEDED else logging.WARNING
