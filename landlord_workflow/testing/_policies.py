"""Fast policies and a backoff switch for tests (modelled on stamina's set_testing)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from landlord_workflow._policies import CallPolicy, PollPolicy, _testing

__all__ = ["fast_call_policy", "fast_poll_policy", "no_backoff"]


def fast_call_policy(
    *, max_attempts: int = 5, attempt_timeout: timedelta | None = timedelta(seconds=10)
) -> CallPolicy:
    """A CallPolicy that retries without sleeping between attempts."""
    return CallPolicy(
        max_attempts=max_attempts,
        initial_interval=timedelta(0),
        max_interval=timedelta(0),
        jitter=False,
        attempt_timeout=attempt_timeout,
    )


def fast_poll_policy() -> PollPolicy:
    """A PollPolicy polling every millisecond (for providers without watch)."""
    return PollPolicy(
        initial_interval=timedelta(milliseconds=1),
        max_interval=timedelta(milliseconds=10),
        jitter=False,
    )


@contextmanager
def no_backoff(enabled: bool = True) -> Iterator[None]:
    """Within the block, every CallPolicy/PollPolicy backoff is zero.

    For tests of code that builds its own Manager: retries still happen and
    are counted, they just do not sleep. Restores the previous setting on
    exit. Affects the whole process (not thread- or task-local).
    """
    previous = _testing["no_backoff"]
    _testing["no_backoff"] = enabled
    try:
        yield
    finally:
        _testing["no_backoff"] = previous
