"""Clocks for the mock engine: real time, or simulated time that jumps.

The engine reads the time (event timestamps, ``Timestamp`` waits) and waits
(``Wait`` states, simulated task durations, retry intervals, timeouts) only
through a `Clock`, so a `VirtualClock` can make hours of
workflow time pass in milliseconds of wall time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "RealClock", "TimerHandle", "VirtualClock"]


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
        """``asyncio.sleep``."""
        await asyncio.sleep(max(seconds, 0))

    def call_later(self, seconds: float, callback: Callable[[], object]) -> TimerHandle:
        """``loop.call_later``."""
        return asyncio.get_running_loop().call_later(max(seconds, 0), callback)

    async def quiesce(self) -> None:
        """Nothing to do: the real clock owns no tasks."""


class _Timer:
    __slots__ = ("callback", "cancelled", "seq", "when")

    def __init__(self, when: float, seq: int, callback: Callable[[], object]) -> None:
        self.when = when
        self.seq = seq
        self.callback = callback
        self.cancelled = False

    def __lt__(self, other: _Timer) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)

    def cancel(self) -> None:
        self.cancelled = True


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
        self._offset = 0.0
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
        return sum(1 for timer in self._timers if not timer.cancelled)

    def now(self) -> datetime:
        """The simulated current time (UTC)."""
        return self._start + timedelta(seconds=self._offset)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time; ``<= 0`` only yields to the loop."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_later(seconds, wake)
        try:
            await future
        finally:
            timer.cancel()

    def call_later(self, seconds: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback`` once ``seconds`` of simulated time have passed."""
        timer = _Timer(self._offset + max(seconds, 0.0), next(self._seq), callback)
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
        while self._timers and (self._timers[0].cancelled or self._timers[0].when <= target):
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._offset = max(self._offset, timer.when)
            timer.cancelled = True
            timer.callback()
        self._offset = max(self._offset, target)

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)

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
