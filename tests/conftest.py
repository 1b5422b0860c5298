"""Shared fixtures and the one spec factory of the whole suite.

``make_spec`` is a plain function: modules import it as ``from conftest import
make_spec`` (``tests`` is on ``sys.path`` through pytest's ``pythonpath``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from landlord_workflow import CallPolicy, PollPolicy, WorkflowSpec
from landlord_workflow.testing import fast_call_policy, fast_poll_policy

if TYPE_CHECKING:
    from landlord_workflow.testing import LocalTemporal

# The local engines' fixtures (moto server, Temporal dev server), as users enable them.
pytest_plugins = ["landlord_workflow.testing.pytest_plugin"]

FAST_CALLS = fast_call_policy(attempt_timeout=timedelta(seconds=5))
FAST_POLLS = fast_poll_policy()

PASSING: Mapping[str, Any] = {
    "StartAt": "Done",
    "States": {"Done": {"Type": "Pass", "End": True}},
}
"""The default definition: one Pass state (valid ASL on the mock and Step Functions)."""


def make_spec(
    definition: Mapping[str, Any] = PASSING,
    *,
    workflow_id: str = "tenant-provisioning",
    provider_type: str = "mock",
    name: str | None = None,
    **fields: Any,
) -> WorkflowSpec:
    """A valid WorkflowSpec; ``name`` defaults to the workflow id, ``fields`` are the
    optional spec fields (description, timeout, retry_policy, tags)."""
    return WorkflowSpec(
        workflow_id=workflow_id,
        provider_type=provider_type,
        name=workflow_id if name is None else name,
        definition=definition,
        **fields,
    )


@pytest.fixture
def fast_calls() -> CallPolicy:
    return FAST_CALLS


@pytest.fixture
def fast_polls() -> PollPolicy:
    return FAST_POLLS


@pytest.fixture(scope="session")
def native_worker(local_temporal: LocalTemporal) -> Iterator[str]:
    """The user's own Temporal worker for the workflows in ``temporal/workflows.py``,
    on its own event loop in a thread; yields its task queue."""
    from temporal import workflows
    from temporal.support import WorkerThread

    thread = WorkerThread(
        local_temporal,
        task_queue=workflows.NATIVE_TASK_QUEUE,
        workflows=workflows.WORKFLOWS,
        activities=workflows.ACTIVITIES,
    )
    thread.start()
    yield workflows.NATIVE_TASK_QUEUE
    thread.stop()


@pytest.fixture(scope="session")
def asl_worker(local_temporal: LocalTemporal) -> Iterator[str]:
    """A TemporalProvider given the handlers of ``temporal/asl_handlers.py``, hosting
    the ASL worker in its own thread; yields its task queue."""
    from temporal.asl_handlers import ASL_TASK_QUEUE, HANDLERS
    from temporal.support import ProviderThread

    thread = ProviderThread(
        local_temporal,
        task_queue=ASL_TASK_QUEUE,
        task_handlers=HANDLERS,
        graceful_shutdown=timedelta(seconds=1),
    )
    thread.start()
    yield ASL_TASK_QUEUE
    thread.stop()
