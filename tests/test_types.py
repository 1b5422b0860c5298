"""Value types: frozen, keyword-only, and refusing only values that can never be valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from landlord_workflow import (
    ExecutionEvent,
    ExecutionInput,
    ExecutionState,
    ExecutionStatus,
    InvalidSpecError,
    RetryPolicy,
    WorkflowSpec,
)


def test_terminal_states() -> None:
    terminal = {s for s in ExecutionState if s.is_terminal}
    assert terminal == {
        ExecutionState.SUCCEEDED,
        ExecutionState.FAILED,
        ExecutionState.TIMED_OUT,
        ExecutionState.CANCELLED,
    }
    assert ExecutionState("timed_out") is ExecutionState.TIMED_OUT
    assert str(ExecutionState.RUNNING) == "running"


def test_values_are_frozen_and_keyword_only() -> None:
    value = ExecutionInput(input={"a": 1})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        value.execution_name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ExecutionInput({"a": 1})  # type: ignore[misc]
    assert not hasattr(value, "__dict__"), "slotted"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (
            lambda: WorkflowSpec(
                workflow_id="w",
                provider_type="mock",
                name="n",
                definition={},
                timeout=timedelta(seconds=-1),
            ),
            "timeout",
        ),
        (lambda: RetryPolicy(initial_interval=timedelta(seconds=-1)), "initial_interval"),
        (
            lambda: ExecutionEvent(timestamp=datetime(2026, 1, 1), type="ExecutionStarted"),
            "timestamp",
        ),
        (lambda: ExecutionEvent(timestamp="2026-01-01", type="ExecutionStarted"), "timestamp"),
    ],
)
def test_impossible_values_raise_a_field_precise_error(build: object, field: str) -> None:
    with pytest.raises(InvalidSpecError) as info:
        build()  # type: ignore[operator]
    assert [f for f, _ in info.value.problems] == [field]


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (
            lambda: WorkflowSpec(
                workflow_id="w", provider_type="mock", name="n", definition={}, timeout="30m"
            ),
            "timeout",
        ),
        (lambda: RetryPolicy(initial_interval=5), "initial_interval"),
        (lambda: RetryPolicy(max_interval=1.5), "max_interval"),
    ],
)
def test_a_duration_of_another_type_is_a_type_error_naming_the_field(
    build: object, field: str
) -> None:
    with pytest.raises(TypeError, match=rf"^{field} must be a datetime\.timedelta"):
        build()  # type: ignore[operator]


def test_history_is_stored_as_a_tuple() -> None:
    now = datetime.now(UTC)
    event = ExecutionEvent(timestamp=now, type="ExecutionStarted")
    status = ExecutionStatus(
        execution_id="e",
        workflow_id="w",
        provider_type="mock",
        state=ExecutionState.RUNNING,
        start_time=now,
        history=[event],  # type: ignore[arg-type]
    )
    assert status.history == (event,)
