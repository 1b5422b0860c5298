"""Call and poll policies, the one backoff computation, and the call runner.

[`CallPolicy`][landlord_workflow.CallPolicy] governs every provider call the Manager makes: a
per-attempt timeout, retries of [`TransientError`][landlord_workflow.errors.TransientError]
with capped exponential backoff and jitter, and an optional deadline for the
whole call. [`PollPolicy`][landlord_workflow.PollPolicy] paces waiting when a provider cannot push
status changes. Both speak the vocabulary of the seed's
[`RetryPolicy`][landlord_workflow.RetryPolicy] (``initial_interval``,
``max_interval``, ``backoff_rate``), and all three compute their waits with
`backoff_seconds`.

tenacity drives retries but is an implementation detail: imported under a
private alias, no tenacity type in a public signature. The first attempt
runs without it, so a call that succeeds pays nothing for retries it does
not make; the first transient error hands the call to tenacity (stop, wait
and retry predicates, a before-sleep hook that reports the retry).
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from time import perf_counter
from typing import Any, TypeVar

import anyio
import attrs
import tenacity as _tenacity

from landlord_workflow.errors import InvalidSpecError, OperationTimeoutError, TransientError

T = TypeVar("T")

_testing = {"no_backoff": False}
"""Switched by [`landlord_workflow.testing.no_backoff`][landlord_workflow.testing.no_backoff]; never
by users directly."""


def backoff_seconds(initial: float, rate: float, cap: float, retry: int) -> float:
    """Seconds before retry ``retry`` (1 = the first): ``initial * rate**(retry-1)``, capped.

    The cap is applied before multiplying, so no attempt count or rate
    overflows: once the product would pass ``cap`` the answer is ``cap``.
    """
    if initial >= cap:
        return cap
    if retry <= 1 or rate <= 1.0:
        return initial
    if initial <= 0.0:
        return 0.0
    if retry - 1 >= math.log(cap / initial, rate):
        return cap
    return min(initial * rate ** (retry - 1), cap)


def jittered(seconds: float) -> float:
    """A wait drawn uniformly from the upper half of ``seconds`` (spreads concurrent callers)."""
    return random.uniform(seconds / 2, seconds)  # noqa: S311 - jitter, not crypto


def check_timeout(name: str, value: object) -> float | None:
    """``value`` (a ``timedelta`` or ``None``) in seconds, refusing anything else.

    The one rule for every duration argument of the library: durations are
    `timedelta` (a number is a `TypeError` naming
    the parameter), ``None`` disables, a negative one is an
    [`InvalidSpecError`][landlord_workflow.errors.InvalidSpecError] naming the parameter.
    """
    if value is None:
        return None
    if not isinstance(value, timedelta):
        raise TypeError(
            f"{name} must be a datetime.timedelta or None, got {type(value).__name__}"
            f" (write timedelta(seconds={value!r}))"
            if isinstance(value, int | float) and not isinstance(value, bool)
            else f"{name} must be a datetime.timedelta or None, got {type(value).__name__}"
        )
    if value < timedelta(0):
        raise InvalidSpecError.single(name, "must not be negative")
    return value.total_seconds()


Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _duration(*, optional: bool, positive: bool) -> Validator:
    def check(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, timedelta):
            kinds = "a datetime.timedelta or None" if optional else "a datetime.timedelta"
            raise TypeError(f"{attribute.name} must be {kinds}, got {type(value).__name__}")
        if positive and value <= timedelta(0):
            suffix = " (or None to disable)" if optional else ""
            raise InvalidSpecError.single(attribute.name, f"must be positive{suffix}")
        if value < timedelta(0):
            raise InvalidSpecError.single(attribute.name, "must not be negative")

    return check


def _rate(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"{attribute.name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 1:
        raise InvalidSpecError.single(attribute.name, "must be a finite number >= 1")


def _attempts(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{attribute.name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise InvalidSpecError.single(attribute.name, "must be >= 1")


@attrs.frozen(kw_only=True)
class CallPolicy:
    """How the Manager calls a provider.

    * ``max_attempts`` - attempts in all, including the first (>= 1).
    * ``initial_interval``, ``backoff_rate``, ``max_interval`` - the wait
      before retry ``n`` is ``initial_interval * backoff_rate**(n-1)``,
      capped at ``max_interval``; with ``jitter`` it is drawn uniformly from
      the upper half of that value so that concurrent callers spread out.
    * ``attempt_timeout`` - one attempt longer than this is cancelled and the
      call fails with `OperationTimeoutError` (not retried: the engine may
      still be working on it). ``None`` disables it.
    * ``deadline`` - bound on the whole call, retries and backoff included;
      ``None`` disables it.

    Only `TransientError` is retried. Durations are `datetime.timedelta`;
    anything else is a `TypeError` naming the field.
    """

    max_attempts: int = attrs.field(default=5, validator=_attempts)
    initial_interval: timedelta = attrs.field(
        default=timedelta(milliseconds=100), validator=_duration(optional=False, positive=False)
    )
    max_interval: timedelta = attrs.field(
        default=timedelta(seconds=5), validator=_duration(optional=False, positive=False)
    )
    backoff_rate: float = attrs.field(default=2.0, validator=_rate)
    jitter: bool = True
    attempt_timeout: timedelta | None = attrs.field(
        default=timedelta(seconds=30), validator=_duration(optional=True, positive=True)
    )
    deadline: timedelta | None = attrs.field(
        default=None, validator=_duration(optional=True, positive=True)
    )

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry ``retry`` (1 = the first retry)."""
        if _testing["no_backoff"]:
            return 0.0
        seconds = backoff_seconds(
            self.initial_interval.total_seconds(),
            self.backoff_rate,
            self.max_interval.total_seconds(),
            retry,
        )
        return jittered(seconds) if self.jitter else seconds


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How waiting polls a provider that cannot push status changes.

    The wait before poll ``n + 1`` is ``initial_interval * backoff_rate**(n-1)``,
    capped at ``max_interval``; with ``jitter`` each is drawn from its upper
    half. The end of an execution is therefore noticed at most
    ``max_interval`` late.
    """

    initial_interval: timedelta = attrs.field(
        default=timedelta(milliseconds=200), validator=_duration(optional=False, positive=True)
    )
    max_interval: timedelta = attrs.field(
        default=timedelta(seconds=5), validator=_duration(optional=False, positive=True)
    )
    backoff_rate: float = attrs.field(default=1.5, validator=_rate)
    jitter: bool = True

    def intervals(self) -> Iterator[float]:
        """The successive sleeps, in seconds, between polls (endless)."""
        initial = self.initial_interval.total_seconds()
        cap = self.max_interval.total_seconds()
        poll = 1
        while True:
            if _testing["no_backoff"]:
                yield 0.0
                continue
            seconds = backoff_seconds(initial, self.backoff_rate, cap, poll)
            yield jittered(seconds) if self.jitter else seconds
            if seconds < cap:
                poll += 1


Report = Callable[[int, float, BaseException | None, float | None], None]
"""``report(attempt, seconds, error_or_None, retry_in)``: called once per attempt;
``retry_in`` is the backoff before the next attempt when the error is retried, else None."""


class _CallState:
    """One call's last attempt, for reporting it once tenacity has decided."""

    __slots__ = ("attempt", "seconds")

    def __init__(self) -> None:
        self.attempt = 0
        self.seconds = 0.0


class CallRunner:
    """Applies one CallPolicy to provider calls."""

    __slots__ = ("_attempt_timeout", "_deadline", "_max_attempts", "_policy", "_retry_on", "_stop")

    def __init__(self, policy: CallPolicy) -> None:
        self._policy = policy
        self._max_attempts = policy.max_attempts
        self._attempt_timeout = (
            None if policy.attempt_timeout is None else policy.attempt_timeout.total_seconds()
        )
        self._deadline = None if policy.deadline is None else policy.deadline.total_seconds()
        self._stop = _tenacity.stop_after_attempt(policy.max_attempts)
        self._retry_on = _tenacity.retry_if_exception_type(TransientError)

    async def __call__(
        self, call: Callable[[], Awaitable[T]], report: Report, *, timed: bool = True
    ) -> T:
        """Run ``call`` under the policy; ``report`` hears about every attempt.

        ``timed=False`` skips the per-attempt timeout: for a provider whose
        calls complete in process (they cannot hang on a network), the
        cancel scope would cost more than the call. The deadline still holds.
        """
        if self._deadline is None:
            return await self._run(call, report, timed)
        with anyio.move_on_after(self._deadline) as scope:
            return await self._run(call, report, timed)
        assert scope.cancelled_caught  # noqa: S101 - the scope returned otherwise
        raise OperationTimeoutError(
            f"call did not complete within its deadline of {self._deadline}s"
        )

    @property
    def deadline(self) -> float | None:
        """The policy's deadline in seconds (None: none)."""
        return self._deadline

    async def _run(self, call: Callable[[], Awaitable[T]], report: Report, timed: bool) -> T:
        # The first attempt, inline: a call that succeeds pays for no retry machinery.
        timeout = self._attempt_timeout if timed else None
        start = perf_counter()
        try:
            result = await _timed(call, timeout, 1)
        except TransientError as exc:
            return await self._retry(call, report, start, timeout, exc)
        except Exception as exc:
            report(1, perf_counter() - start, exc, None)
            raise
        report(1, perf_counter() - start, None, None)
        return result

    async def retry_after_first(
        self, call: Callable[[], Awaitable[T]], report: Report, start: float, first: TransientError
    ) -> T:
        """Go on after an untimed first attempt, begun at ``start``, failed with ``first``."""
        return await self._retry(call, report, start, None, first)

    async def _retry(
        self,
        call: Callable[[], Awaitable[T]],
        report: Report,
        start: float,
        timeout: float | None,
        first: TransientError,
    ) -> T:
        """Attempts 2..n under tenacity, after the first failed with ``first``."""
        if self._max_attempts <= 1:
            report(1, perf_counter() - start, first, None)
            raise first
        state = _CallState()
        state.attempt = 1
        state.seconds = perf_counter() - start
        replay: TransientError | None = first

        def before_sleep(retry_state: _tenacity.RetryCallState) -> None:
            outcome = retry_state.outcome
            error = outcome.exception() if outcome is not None else None
            report(state.attempt, state.seconds, error, retry_state.upcoming_sleep)

        retrying = _tenacity.AsyncRetrying(
            sleep=anyio.sleep,
            stop=self._stop,
            wait=self._wait,
            retry=self._retry_on,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if replay is not None:
                        # tenacity's attempt 1 is the one already made: it
                        # decides whether and when to retry it like any other.
                        error, replay = replay, None
                        raise error
                    return await self._attempt(call, state, report, timeout)
        except Exception as exc:
            report(state.attempt, state.seconds, exc, None)
            raise
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _wait(self, retry_state: _tenacity.RetryCallState) -> float:
        return self._policy.backoff(retry_state.attempt_number)

    async def _attempt(
        self,
        call: Callable[[], Awaitable[T]],
        state: _CallState,
        report: Report,
        timeout: float | None,
    ) -> T:
        state.attempt += 1
        start = perf_counter()
        try:
            result = await _timed(call, timeout, state.attempt)
        finally:
            state.seconds = perf_counter() - start
        report(state.attempt, state.seconds, None, None)
        return result


async def _timed(call: Callable[[], Awaitable[T]], timeout: float | None, attempt: int) -> T:
    """One attempt, bounded by ``timeout`` seconds (None: unbounded)."""
    if timeout is None:
        return await call()
    with anyio.move_on_after(timeout):
        return await call()
    raise OperationTimeoutError(f"attempt {attempt} did not complete within {timeout}s")
