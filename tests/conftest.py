"""Shared fixtures for the whole suite."""

from __future__ import annotations

from datetime import timedelta

import pytest

from landlord_workflow import CallPolicy, PollPolicy

# The local Step Functions engine (moto server) fixtures, as users enable them.
pytest_plugins = ["landlord_workflow.testing.pytest_plugin"]

FAST_CALLS = CallPolicy(
    max_attempts=5,
    initial_backoff=timedelta(0),
    max_backoff=timedelta(0),
    jitter=False,
    attempt_timeout=timedelta(seconds=5),
)
FAST_POLLS = PollPolicy(
    initial_interval=timedelta(milliseconds=1), max_interval=timedelta(milliseconds=5), jitter=False
)


@pytest.fixture
def fast_calls() -> CallPolicy:
    return FAST_CALLS


@pytest.fixture
def fast_polls() -> PollPolicy:
    return FAST_POLLS
