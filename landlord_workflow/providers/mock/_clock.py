"""Clocks for the mock engine: real time, or simulated time that jumps.

The engine reads the time (event timestamps, ``Timestamp`` waits) and waits
(``Wait`` states, simulated task durations, retry intervals, timeouts) only
through a `Clock`, so a `VirtualClock` can make hours of
workflow time pass in milliseconds of wall time.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import time
import types
from collections.abc import Callable, Coroutine, Generator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast, runtime_checkable

__all__ = [
    "Clock",
    "RealClock",
    "Stamps",
    "TimerHandle",
    "VirtualClock",
    "pause_for",
    "stamps_for",
    "yield_once",
]

_LAST_MOMENT = datetime.max.replace(tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@types.coroutine
def _one_pass() -> Generator[None, None, None]:
    # A bare yield: the task gives the loop one pass, exactly what
    # ``asyncio.sleep(0)`` does, without its two coroutine frames.
    yield


yield_once = cast("Callable[[], Coroutine[Any, Any, None]]", _one_pass)
"""Give the event loop one pass (``await yield_once()`` is ``await asyncio.sleep(0)``)."""


@runtime_checkable
class TimerHandle(Protocol):
    """A scheduled callback that can be cancelled."""

    def cancel(self) -> None:
        """Stop the callback from running (no effect once it ran)."""
        ...


@runtime_checkable
class Clock(Protocol):
    """What the mock engine needs from time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time (``<= 0`` just yields)."""
        ...

    def call_later(self, seconds: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback`` on the event loop after ``seconds`` of this clock's time."""
        ...

    async def quiesce(self) -> None:
        """Let the clock's own background work finish once nothing waits on it."""
        ...


class RealClock:
    """Wall-clock time and the event loop's timers (the default)."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep`` (``<= 0`` just yields to the loop once)."""
        if seconds <= 0:
            await yield_once()
        else:
            await asyncio.sleep(seconds)

    def call_later(self, seconds: float, callback: Callable[[], object]) -> TimerHandle:
        """``loop.call_later``."""
        return asyncio.get_running_loop().call_later(max(seconds, 0), callback)

    async def quiesce(self) -> None:
        """Nothing to do: the real clock owns no tasks."""


class _Timer:
    __slots__ = ("callback", "cancelled", "clock", "seq", "when")

    def __init__(
        self, when: float, seq: int, callback: Callable[[], object], clock: VirtualClock
    ) -> None:
        self.when = when
        self.seq = seq
        self.callback: Callable[[], object] | None = callback
        self.clock: VirtualClock | None = clock
        self.cancelled = False

    def __lt__(self, other: _Timer) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)

    def cancel(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        # Drop what the callback holds (an execution record, say) now, not
        # when the timer's deadline comes round: a cancelled 30-day timeout
        # must not keep an evicted execution alive for 30 simulated days.
        self.callback = None
        clock, self.clock = self.clock, None
        if clock is not None:
            clock._cancelled_one()


class VirtualClock:
    """Simulated time that jumps to the next deadline whenever the loop is idle.

    ``now()`` starts at ``start`` (default: the wall-clock time at creation)
    and only moves forward. Sleeps and timers register deadlines; while any
    is pending, a background task owned by the clock lets the event loop run
    until nothing else is runnable (``settle_yields`` consecutive idle passes,
    or ``max_yields`` passes at most), then advances time to the earliest
    deadline and fires everything due, in deadline order (ties in
    registration order). So a ``Wait`` of an hour ends as soon as every
    simulation is waiting, and runs are deterministic for a given program.

    Work that waits on *real* time or I/O (a task handler awaiting a network
    call or ``asyncio.sleep``) does not hold simulated time back: the clock
    may jump while it is outstanding. Handlers that want to take simulated
    time should ``await clock.sleep(...)``. `advance` moves time by
    hand (useful without any running simulation).

    The background task exists only while deadlines are pending and ends by
    itself; `quiesce` waits for that. One clock may serve several
    providers on the same event loop.
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        settle_yields: int = 3,
        max_yields: int = 100,
    ) -> None:
        if start is not None and start.utcoffset() is None:
            raise ValueError("start must be timezone-aware")
        if settle_yields < 1 or max_yields < settle_yields:
            raise ValueError("need 1 <= settle_yields <= max_yields")
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        # Simulated time stops at the last moment a datetime can hold: a
        # deadline beyond it (a retry delay grown for centuries) fires there,
        # so timestamps never overflow and every execution can still end.
        self._end = (_LAST_MOMENT - self._start).total_seconds()
        self._offset = 0.0
        self._cancelled = 0
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._settle_yields = settle_yields
        self._max_yields = max_yields
        self._advancer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"VirtualClock(now={self.now().isoformat()}, pending={self.pending})"

    @property
    def elapsed(self) -> timedelta:
        """How much simulated time has passed since ``start``."""
        return timedelta(seconds=self._offset)

    @property
    def pending(self) -> int:
        """How many deadlines are waiting (sleeps and timers not yet due)."""
        return len(self._timers) - self._cancelled

    def now(self) -> datetime:
        """The simulated current time (UTC); never later than `datetime.max`."""
        return self._start + timedelta(seconds=min(self._offset, self._end))

    def _stamp(self) -> object:
        """`now` as a number (the offset): `_at` turns it into the same datetime."""
        return min(self._offset, self._end)

    def _at(self, stamp: object) -> datetime:
        return self._start + timedelta(seconds=cast("float", stamp))

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time; ``<= 0`` only yields to the loop."""
        if seconds <= 0:
            await yield_once()
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self.call_later(seconds, functools.partial(_wake, future))
        try:
            await future
        finally:
            timer.cancel()

    def call_later(self, seconds: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback`` once ``seconds`` of simulated time have passed."""
        when = min(self._offset + max(seconds, 0.0), self._end)
        timer = _Timer(when, next(self._seq), callback, self)
        heapq.heappush(self._timers, timer)
        if self._advancer is None or self._advancer.done():
            self._advancer = asyncio.get_running_loop().create_task(
                self._advance_loop(), name="landlord-workflow-virtual-clock"
            )
        return timer

    def advance(self, seconds: float | timedelta) -> None:
        """Move time forward by hand, firing every timer that falls due."""
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._fire_until(self._offset + seconds)

    async def quiesce(self) -> None:
        """Wait until the background task has ended (once nothing is pending)."""
        advancer = self._advancer
        if advancer is None or advancer.done() or self.pending:
            return
        advancer.cancel()
        await asyncio.wait([advancer])

    def _fire_until(self, target: float) -> None:
        target = min(target, self._end)
        while self._timers and (self._timers[0].cancelled or self._timers[0].when <= target):
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                self._cancelled -= 1
                continue
            self._offset = max(self._offset, timer.when)
            callback = timer.callback
            timer.cancelled = True
            timer.callback = timer.clock = None
            if callback is not None:
                callback()
        self._offset = max(self._offset, target)

    def _cancelled_one(self) -> None:
        """A timer still in the heap was cancelled: compact once they are the majority."""
        self._cancelled += 1
        if self._cancelled > 64 and self._cancelled * 2 > len(self._timers):
            self._timers = [timer for timer in self._timers if not timer.cancelled]
            heapq.heapify(self._timers)
            self._cancelled = 0

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
            self._cancelled -= 1

    async def _advance_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._drop_cancelled()
            if not self._timers:
                return
            idle = 0
            for _ in range(self._max_yields):
                await asyncio.sleep(0)
                # Other handles waiting in the ready queue mean some task can
                # still run at the current time; wait for them to settle.
                ready = getattr(loop, "_ready", None)
                idle = idle + 1 if not ready else 0
                if idle >= self._settle_yields:
                    break
            self._drop_cancelled()
            if self._timers:
                self._fire_until(self._timers[0].when)


class Stamps:
    """Cheap timestamps for history events, read back as the clock's datetimes.

    ``stamp()`` is a number taken now; ``at(stamp)`` is the datetime the
    clock's ``now()`` returned at that moment. An execution takes a dozen
    stamps and most are never read, so the datetime is built only when the
    history is.
    """

    __slots__ = ("at", "stamp")

    def __init__(self, stamp: Callable[[], object], at: Callable[[object], datetime]) -> None:
        self.stamp = stamp
        self.at = at


def _real_at(nanoseconds: object) -> datetime:
    # datetime.now() floors the same system clock to the microsecond: the same value.
    return _EPOCH + timedelta(microseconds=cast("int", nanoseconds) // 1000)


def _same(moment: object) -> datetime:
    return moment  # type: ignore[return-value]


def pause_for(clock: Clock) -> Callable[[], Coroutine[Any, Any, None]]:
    """What gives the event loop one pass between two states on ``clock``: a bare
    yield for the built-in clocks (whose ``sleep(0)`` is exactly that),
    ``clock.sleep(0)`` for any other."""
    if type(clock) in (RealClock, VirtualClock):
        return yield_once
    return lambda: clock.sleep(0)


def stamps_for(clock: Clock) -> Stamps:
    """The `Stamps` of ``clock``: integer nanoseconds of the system clock for the
    `RealClock`, the simulated offset for the `VirtualClock`, ``now()`` itself
    for any other clock."""
    if type(clock) is RealClock:
        return Stamps(time.time_ns, _real_at)
    if type(clock) is VirtualClock:
        return Stamps(clock._stamp, clock._at)
    return Stamps(clock.now, _same)
