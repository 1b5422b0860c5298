"""CallPolicy and PollPolicy arithmetic."""

from __future__ import annotations

from datetime import timedelta

import pytest

from landlord_workflow import CallPolicy, InvalidSpecError, PollPolicy, RetryPolicy


def test_call_backoff_grows_exponentially_and_is_capped() -> None:
    policy = CallPolicy(
        initial_interval=timedelta(milliseconds=100),
        backoff_rate=2.0,
        max_interval=timedelta(seconds=1),
        jitter=False,
    )
    assert [policy.backoff(n) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_call_backoff_jitter_stays_within_the_upper_half() -> None:
    policy = CallPolicy(initial_interval=timedelta(seconds=1), max_interval=timedelta(seconds=8))
    values = [policy.backoff(3) for _ in range(200)]
    assert all(2.0 <= v <= 4.0 for v in values)
    assert len(set(values)) > 1


def test_poll_intervals_grow_to_the_cap() -> None:
    policy = PollPolicy(
        initial_interval=timedelta(milliseconds=200),
        max_interval=timedelta(seconds=1),
        backoff_rate=2,
        jitter=False,
    )
    intervals = policy.intervals()
    assert [next(intervals) for _ in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]


def test_retry_policy_backoff_is_initial_times_rate_to_the_n_capped() -> None:
    policy = RetryPolicy(
        max_attempts=5,
        backoff_rate=3.0,
        initial_interval=timedelta(seconds=1),
        max_interval=timedelta(seconds=5),
    )
    assert [policy.backoff(n).total_seconds() for n in (1, 2, 3)] == [1.0, 3.0, 5.0]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"attempt_timeout": timedelta(0)}, "attempt_timeout"),
        ({"deadline": timedelta(seconds=-1)}, "deadline"),
        ({"initial_interval": timedelta(seconds=-1)}, "initial_interval"),
        ({"backoff_rate": 0.5}, "backoff_rate"),
    ],
)
def test_impossible_call_policies_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidSpecError) as info:
        CallPolicy(**kwargs)  # type: ignore[arg-type]
    assert info.value.problems[0][0] == field
