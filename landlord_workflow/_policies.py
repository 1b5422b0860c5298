"""Call and poll policies, and the private machinery that applies them.

:class:`CallPolicy` governs every provider call the Manager makes: a
per-attempt timeout, retries of :class:`~landlord_workflow.TransientError`
with capped exponential backoff and jitter, and an optional deadline for the
whole call. :class:`PollPolicy` paces ``wait_for_completion`` when a provider
cannot push status changes.

tenacity drives the retry loop but is an implementation detail: it is
imported under a private alias and no tenacity type appears in a public
signature. The first attempt runs without it, so the happy path pays nothing
for retries it does not make.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from time import perf_counter
from typing import Any, TypeVar

import anyio
import attrs
import tenacity as _tenacity

from landlord_workflow.errors import InvalidSpecError, OperationTimeoutError, TransientError

__all__ = ["CallPolicy", "PollPolicy"]

T = TypeVar("T")

_testing = {"no_backoff": False}
"""Switched by :func:`landlord_workflow.testing.no_backoff`; never by users directly."""


def _positive_or_none(
    inst: object, attribute: attrs.Attribute[Any], value: timedelta | None
) -> None:
    if value is not None and value <= timedelta(0):
        raise InvalidSpecError.single(attribute.name, "must be positive (or None to disable)")


def _non_negative(inst: object, attribute: attrs.Attribute[Any], value: timedelta) -> None:
    if value < timedelta(0):
        raise InvalidSpecError.single(attribute.name, "must not be negative")


def _at_least_one(inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 1:
        raise InvalidSpecError.single(attribute.name, "must be >= 1")


@attrs.frozen(kw_only=True)
class CallPolicy:
    """How the Manager calls a provider.

    * ``max_attempts`` — attempts in all, including the first (>= 1).
    * ``initial_backoff``, ``backoff_multiplier``, ``max_backoff`` — the wait
      before retry ``n`` is ``initial_backoff * backoff_multiplier**(n-1)``,
      capped at ``max_backoff``; with ``jitter`` it is drawn uniformly from
      the upper half of that value so that concurrent callers spread out.
    * ``attempt_timeout`` — one attempt longer than this is cancelled and the
      call fails with :class:`~landlord_workflow.OperationTimeoutError` (not
      retried: the engine may still be working on it). ``None`` disables it.
    * ``deadline`` — bound on the whole call, retries and backoff included;
      ``None`` disables it.

    Only :class:`~landlord_workflow.TransientError` is retried.
    """

    max_attempts: int = attrs.field(default=5, validator=_at_least_one)
    initial_backoff: timedelta = attrs.field(
        default=timedelta(milliseconds=100), validator=_non_negative
    )
    max_backoff: timedelta = attrs.field(default=timedelta(seconds=5), validator=_non_negative)
    backoff_multiplier: float = attrs.field(default=2.0, validator=_at_least_one)
    jitter: bool = True
    attempt_timeout: timedelta | None = attrs.field(
        default=timedelta(seconds=30), validator=_positive_or_none
    )
    deadline: timedelta | None = attrs.field(default=None, validator=_positive_or_none)

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 = the first retry)."""
        if _testing["no_backoff"]:
            return 0.0
        base = self.initial_backoff.total_seconds() * self.backoff_multiplier ** (retry_number - 1)
        base = min(base, self.max_backoff.total_seconds())
        if self.jitter:
            return random.uniform(base / 2, base)  # noqa: S311 - jitter, not crypto
        return base


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How ``wait_for_completion`` polls a provider that cannot push changes.

    Intervals start at ``initial_interval`` and grow by ``multiplier`` up to
    ``max_interval``; with ``jitter`` each is drawn from its upper half. The
    end of an execution is therefore noticed at most ``max_interval`` late.
    """

    initial_interval: timedelta = attrs.field(
        default=timedelta(milliseconds=200), validator=_positive_or_none
    )
    max_interval: timedelta = attrs.field(default=timedelta(seconds=5), validator=_positive_or_none)
    multiplier: float = attrs.field(default=1.5, validator=_at_least_one)
    jitter: bool = True

    def intervals(self) -> Iterator[float]:
        """The successive sleeps, in seconds, between polls (endless)."""
        current = self.initial_interval.total_seconds()
        cap = self.max_interval.total_seconds()
        while True:
            value = min(current, cap)
            if _testing["no_backoff"]:
                yield 0.0
            elif self.jitter:
                yield random.uniform(value / 2, value)  # noqa: S311 - jitter, not crypto
            else:
                yield value
            current = value * self.multiplier


AttemptReport = Callable[[int, float, BaseException | None, bool], None]
"""``report(attempt, seconds, error_or_None, will_retry)`` called after each attempt."""


class _CallRunner:
    """Applies one CallPolicy to provider calls. Built once per Manager."""

    __slots__ = ("_attempt_timeout", "_deadline", "_max_attempts", "_policy")

    def __init__(self, policy: CallPolicy) -> None:
        self._policy = policy
        self._max_attempts = policy.max_attempts
        self._attempt_timeout = (
            None if policy.attempt_timeout is None else policy.attempt_timeout.total_seconds()
        )
        self._deadline = None if policy.deadline is None else policy.deadline.total_seconds()

    async def __call__(self, call: Callable[[], Awaitable[T]], report: AttemptReport) -> T:
        if self._deadline is None:
            return await self._attempts(call, report)
        with anyio.move_on_after(self._deadline) as scope:
            return await self._attempts(call, report)
        assert scope.cancelled_caught  # noqa: S101 - the scope returned otherwise
        raise OperationTimeoutError(
            f"call did not complete within its deadline of {self._deadline}s"
        )

    async def _attempts(self, call: Callable[[], Awaitable[T]], report: AttemptReport) -> T:
        try:
            return await self._attempt(call, 1, report)
        except TransientError:
            if self._max_attempts <= 1:
                raise
        await anyio.sleep(self._policy.backoff(1))
        retrying = _tenacity.AsyncRetrying(
            sleep=anyio.sleep,
            stop=_tenacity.stop_after_attempt(self._max_attempts - 1),
            wait=self._wait,
            retry=_tenacity.retry_if_exception_type(TransientError),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(call, attempt.retry_state.attempt_number + 1, report)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _wait(self, retry_state: _tenacity.RetryCallState) -> float:
        # tenacity counts from the second overall attempt: its attempt k is ours k + 1.
        return self._policy.backoff(retry_state.attempt_number + 1)

    async def _attempt(
        self, call: Callable[[], Awaitable[T]], number: int, report: AttemptReport
    ) -> T:
        start = perf_counter()
        try:
            if self._attempt_timeout is None:
                result = await call()
            else:
                with anyio.move_on_after(self._attempt_timeout) as scope:
                    result = await call()
                if scope.cancelled_caught:
                    raise OperationTimeoutError(
                        f"attempt {number} did not complete within {self._attempt_timeout}s"
                    )
        except Exception as exc:
            will_retry = isinstance(exc, TransientError) and number < self._max_attempts
            report(number, perf_counter() - start, exc, will_retry)
            raise
        report(number, perf_counter() - start, None, False)
        return result
