"""Fault injection at the mock provider's API boundary.

``provider.faults`` makes API calls fail or slow down the way a real engine
sometimes does, so retry logic (the Manager's ``CallPolicy``) is testable
without monkeypatching::

    provider.faults.throttle("start_execution", times=2)     # ThrottledError x2
    provider.faults.unavailable("get_execution_status", times=1)
    provider.faults.drop_response("start_execution", times=1)  # done, then lost
    provider.faults.throttle("get_execution_status", rate=0.1, seed=7)
    provider.faults.latency("start_execution", 0.2)          # +200 ms of real time

Faults are consumed in the order they were added. ``throttle`` and
``unavailable`` raise *before* the operation runs; ``drop_response`` runs
the operation and then raises
[`ProviderUnavailableError`][landlord_workflow.errors.ProviderUnavailableError] (a lost
response - a retried start must not create a second execution). Latency is
**real (wall-clock) time**, so it can trip the Manager's per-attempt timeout
even when the provider runs on a `VirtualClock`.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import timedelta
from typing import Literal

from landlord_workflow.errors import ProviderUnavailableError, ThrottledError, TransientError

__all__ = ["OPERATIONS", "Faults"]

OPERATIONS = frozenset(
    {
        "validate",
        "create_workflow",
        "get_workflow",
        "list_workflows",
        "start_execution",
        "get_execution_status",
        "stop_execution",
        "delete_workflow",
        "redrive_execution",
        "watch_execution",
        "list_executions",
    }
)
"""Provider method names that accept faults."""

_Kind = Literal["throttle", "unavailable", "drop"]


class _Rule:
    __slots__ = ("kind", "rate", "remaining", "rng")

    def __init__(
        self, kind: _Kind, times: int | None, rate: float | None, seed: int | None
    ) -> None:
        self.kind = kind
        self.remaining = times
        self.rate = rate
        self.rng = random.Random(seed)  # noqa: S311 - simulation, not security

    def fires(self) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.rate is not None and self.rng.random() >= self.rate:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


class Faults:
    """Injected failures and latency per provider operation."""

    def __init__(self) -> None:
        self._rules: dict[str, list[_Rule]] = {}
        self._latency: dict[str, float] = {}
        self._calls: dict[str, int] = {}
        self._injected: Counter[str] = Counter()

    def throttle(
        self,
        operation: str,
        *,
        times: int | None = None,
        rate: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Raise [`ThrottledError`][landlord_workflow.errors.ThrottledError] before ``operation``.

        ``times`` calls in a row (default 1), or - with ``rate`` - each call
        with that probability (``times`` then caps how often; ``seed`` makes
        the sequence reproducible).
        """
        self._add(operation, "throttle", times, rate, seed)

    def unavailable(
        self,
        operation: str,
        *,
        times: int | None = None,
        rate: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Raise [`ProviderUnavailableError`][landlord_workflow.errors.ProviderUnavailableError]
        before ``operation`` (see `throttle`)."""
        self._add(operation, "unavailable", times, rate, seed)

    def drop_response(
        self,
        operation: str,
        *,
        times: int | None = None,
        rate: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Run ``operation``, then raise
        [`ProviderUnavailableError`][landlord_workflow.errors.ProviderUnavailableError] (response
        lost)."""
        self._add(operation, "drop", times, rate, seed)

    def latency(self, operation: str, delay: float | timedelta | None) -> None:
        """Add ``delay`` of real time before every ``operation`` (``None``/0 removes it)."""
        self._check(operation)
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else (delay or 0.0)
        if seconds < 0:
            raise ValueError("latency must not be negative")
        if seconds:
            self._latency[operation] = float(seconds)
        else:
            self._latency.pop(operation, None)

    @property
    def delays_calls(self) -> bool:
        """Whether any operation has injected latency."""
        return bool(self._latency)

    def clear(self, operation: str | None = None) -> None:
        """Remove every fault (or only those of ``operation``)."""
        if operation is None:
            self._rules.clear()
            self._latency.clear()
            return
        self._check(operation)
        self._rules.pop(operation, None)
        self._latency.pop(operation, None)

    def calls(self, operation: str) -> int:
        """How many times ``operation`` was called (including failed attempts)."""
        self._check(operation)
        return self._calls.get(operation, 0)

    def injected(self, operation: str) -> int:
        """How many faults were injected into ``operation`` so far."""
        self._check(operation)
        return self._injected[operation]

    def pending(self, operation: str) -> int:
        """How many counted faults of ``operation`` are still to fire (rate-only rules: 0)."""
        self._check(operation)
        return sum(rule.remaining or 0 for rule in self._rules.get(operation, ()))

    # ----------------------------------------------------------- internals

    @staticmethod
    def _check(operation: str) -> None:
        if operation not in OPERATIONS:
            known = ", ".join(sorted(OPERATIONS))
            raise ValueError(f"unknown operation {operation!r} (one of: {known})")

    def _add(
        self, operation: str, kind: _Kind, times: int | None, rate: float | None, seed: int | None
    ) -> None:
        self._check(operation)
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if times is None and rate is None:
            times = 1
        if times is not None and times < 0:
            raise ValueError("times must not be negative")
        self._rules.setdefault(operation, []).append(_Rule(kind, times, rate, seed))

    def _next(self, operation: str, kinds: tuple[_Kind, ...]) -> _Rule | None:
        """The first live rule of ``kinds`` decides (FIFO); exhausted rules go away."""
        rules = self._rules.get(operation)
        if not rules:
            return None
        for rule in list(rules):
            if rule.kind not in kinds:
                continue
            if rule.exhausted:
                rules.remove(rule)
                continue
            fired = rule.fires()
            if rule.remaining == 0:
                rules.remove(rule)
            return rule if fired else None
        return None

    async def before(self, operation: str) -> None:
        """Apply latency, then throttle/unavailable faults (called by the provider)."""
        delay = self._arrive(operation)
        if delay:
            await asyncio.sleep(delay)
        self._admit(operation)

    def _arrive(self, operation: str) -> float | None:
        """Count a call; its injected latency in seconds, if any (`before`, in two halves)."""
        calls = self._calls
        calls[operation] = calls.get(operation, 0) + 1
        return self._latency.get(operation)

    def _admit(self, operation: str) -> None:
        """Raise the throttle/unavailable fault due for this call, if any (after the latency)."""
        if not self._rules.get(operation):
            return
        rule = self._next(operation, ("throttle", "unavailable"))
        if rule is None:
            return
        self._injected[operation] += 1
        raise _error(rule.kind, operation)

    def after(self, operation: str) -> None:
        """Drop the response of a completed call if a drop fault is due."""
        if self._rules.get(operation) and self._next(operation, ("drop",)) is not None:
            self._injected[operation] += 1
            raise _error("drop", operation)


def _error(kind: _Kind, operation: str) -> TransientError:
    if kind == "throttle":
        return ThrottledError(f"injected fault: {operation} throttled")
    if kind == "unavailable":
        return ProviderUnavailableError(f"injected fault: {operation} unavailable")
    return ProviderUnavailableError(f"injected fault: {operation} response lost after it completed")
