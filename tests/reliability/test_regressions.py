"""Regression tests for library bugs the reliability work found (each fails without its fix)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_spec
from reliability.support import (
    FLAKY,
    GATED,
    Flaky,
    manager_for,
    mock_provider,
    named,
    offline_provider,
)

from landlord_workflow import ExecutionState, InvalidSpecError

pytestmark = pytest.mark.asyncio

EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:wf:run-1"


@pytest.mark.parametrize("failures_after_redrive", [0, 1])
async def test_a_retried_redrive_whose_answer_was_lost_redrives_once(
    failures_after_redrive: int,
) -> None:
    """Mock engine: the retry of a redrive whose response was lost returns that redrive.

    Step Functions makes RedriveExecution idempotent with a client token (the
    adapter reuses it for a retry). The mock used to treat the Manager's retry
    as a second redrive: a ProviderError when the redriven run was still
    running or had succeeded (0), or the failed task run twice for one
    logical redrive when it had failed again (1).
    """
    flaky = Flaky(failures=1 + failures_after_redrive)
    provider, _, _ = mock_provider(task_handlers={"flaky": flaky})
    manager, metrics = manager_for(provider)
    async with manager:
        await manager.create_workflow(make_spec(FLAKY, workflow_id="wf"))
        execution_id = (await manager.start_execution("wf", named("run-1"))).execution_id
        assert (await manager.wait_for_completion(execution_id)).state is ExecutionState.FAILED
        provider.faults.drop_response("redrive_execution", times=1)

        result = await manager.redrive_execution(execution_id)

        final = await manager.wait_for_completion(execution_id)
    assert result.execution_id == execution_id
    assert metrics.retries[("redrive_execution", "mock")] == 1
    assert final.metadata["redrive_count"] == 1, "one logical redrive, one redrive"
    assert flaky.calls == 2
    expected = ExecutionState.FAILED if failures_after_redrive else ExecutionState.SUCCEEDED
    assert final.state is expected


@pytest.mark.parametrize("kind", ["throttle", "unavailable", "drop_response"])
async def test_wait_for_completion_retries_a_transient_error_opening_the_watch(kind: str) -> None:
    """Manager: the push-based watch is opened under the CallPolicy like every provider call.

    ``wait_for_completion`` (and so ``run``) used to fail at once with the
    ThrottledError / ProviderUnavailableError of the provider's
    ``watch_execution``, where polling providers have every status call
    retried; the attempt was invisible to metrics and the attempt timeout.
    """
    provider, gate, _ = mock_provider()
    manager, metrics = manager_for(provider)
    async with manager:
        await manager.create_workflow(make_spec(GATED, workflow_id="wf"))
        execution_id = (await manager.start_execution("wf", named("run-1"))).execution_id
        getattr(provider.faults, kind)("watch_execution", times=2)
        gate.open()

        final = await manager.wait_for_completion(execution_id)
        run = await manager.run("wf", named("run-2"))

    assert final.state is ExecutionState.SUCCEEDED
    assert run.state is ExecutionState.SUCCEEDED
    assert provider.faults.injected("watch_execution") == 2
    assert metrics.retries[("watch_execution", "mock")] == 2
    assert metrics.calls[("watch_execution", "mock")] == 2, "one watch per wait"
    assert not metrics.errors


@pytest.mark.parametrize("provider_name", ["mock", "step-functions"])
@pytest.mark.parametrize("execution_id", [["a"], {"a": 1}, {1}, None, 5, b"arn", ""])
async def test_execution_ids_that_are_not_strings_are_invalid_input(
    provider_name: str, execution_id: Any
) -> None:
    """Manager: a non-string execution id used to crash with a raw TypeError /
    AttributeError (unhashable key, ``.split`` of an int) inside the provider."""
    provider = offline_provider() if provider_name == "step-functions" else mock_provider()[0]
    manager, metrics = manager_for(provider)
    async with manager:
        calls = (
            lambda: manager.get_execution_status(execution_id),
            lambda: manager.stop_execution(execution_id, "reason"),
            lambda: manager.redrive_execution(execution_id),
            lambda: manager.wait_for_completion(execution_id),
        )
        for call in calls:
            with pytest.raises(InvalidSpecError, match="execution_id"):
                await call()
    assert sum(metrics.attempts.values()) == 0, "nothing reached the provider"


@pytest.mark.parametrize("reason", [5, None, b"bytes", ["a"]])
async def test_a_stop_reason_that_is_not_a_string_is_invalid_input(reason: Any) -> None:
    """Manager: Step Functions used to fail with a raw TypeError (``reason[:n]``)."""
    provider = offline_provider()
    manager, metrics = manager_for(provider)
    async with manager:
        with pytest.raises(InvalidSpecError, match="reason"):
            await manager.stop_execution(EXECUTION_ARN, reason)
    assert sum(metrics.attempts.values()) == 0
