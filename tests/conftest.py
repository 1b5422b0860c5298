"""Shared fixtures for the whole suite."""

from __future__ import annotations

from datetime import timedelta

import pytest

from landlord_workflow import CallPolicy, PollPolicy
from landlord_workflow.testing import fast_call_policy, fast_poll_policy

# The local Step Functions engine (moto server) fixtures, as users enable them.
pytest_plugins = ["landlord_workflow.testing.pytest_plugin"]

FAST_CALLS = fast_call_policy(attempt_timeout=timedelta(seconds=5))
FAST_POLLS = fast_poll_policy()


@pytest.fixture
def fast_calls() -> CallPolicy:
    return FAST_CALLS


@pytest.fixture
def fast_polls() -> PollPolicy:
    return FAST_POLLS
