"""Fixtures for the mock engine tests: a virtual clock and provider factories."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
import pytest_asyncio

from landlord_workflow import ExecutionInput, ExecutionStatus, WorkflowSpec
from landlord_workflow.providers.mock import MockProvider, VirtualClock

START = datetime(2024, 1, 1, tzinfo=UTC)


class MakeProvider(Protocol):
    def __call__(self, **kwargs: Any) -> MockProvider: ...


class RunWorkflow(Protocol):
    def __call__(
        self,
        definition: Mapping[str, Any],
        input: Any = None,
        *,
        handlers: Mapping[str, Callable[[Any], Awaitable[Any]]] | None = None,
        timeout: timedelta | None = None,
    ) -> Awaitable[ExecutionStatus]: ...


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=START)


@pytest_asyncio.fixture
async def make_provider(clock: VirtualClock) -> AsyncIterator[MakeProvider]:
    """Build providers on the virtual clock (unless given one); all closed at teardown."""
    made: list[MockProvider] = []

    def make(**kwargs: Any) -> MockProvider:
        kwargs.setdefault("clock", clock)
        provider = MockProvider(**kwargs)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


async def _finish(provider: MockProvider, execution_id: str) -> ExecutionStatus:
    """Wait (by watching) until the execution is terminal; return it with history."""
    async with aclosing(provider.watch_execution(execution_id)) as statuses:
        async for status in statuses:
            if status.state.is_terminal:
                break
    return await provider.get_execution_status(execution_id, include_history=True)


def _spec(definition: Mapping[str, Any], workflow_id: str = "wf", **kwargs: Any) -> WorkflowSpec:
    return WorkflowSpec(
        workflow_id=workflow_id,
        provider_type="mock",
        name=workflow_id,
        definition=definition,
        **kwargs,
    )


@pytest_asyncio.fixture
async def run(make_provider: MakeProvider) -> RunWorkflow:
    """Create ``definition`` on a fresh provider, run it once, return the final status."""

    async def run_once(
        definition: Mapping[str, Any],
        input: Any = None,
        *,
        handlers: Mapping[str, Callable[[Any], Awaitable[Any]]] | None = None,
        timeout: timedelta | None = None,
    ) -> ExecutionStatus:
        provider = make_provider(task_handlers=handlers or {})
        await provider.create_workflow(_spec(definition, timeout=timeout))
        result = await provider.start_execution(
            "wf", ExecutionInput(input={} if input is None else input)
        )
        return await _finish(provider, result.execution_id)

    return run_once


class Finish(Protocol):
    def __call__(self, provider: MockProvider, execution_id: str) -> Awaitable[ExecutionStatus]: ...


class MakeSpec(Protocol):
    def __call__(
        self, definition: Mapping[str, Any], workflow_id: str = "wf", **kwargs: Any
    ) -> WorkflowSpec: ...


@pytest.fixture
def finish() -> Finish:
    """``await finish(provider, execution_id)``: the final status, with history."""
    return _finish


@pytest.fixture
def make_spec() -> MakeSpec:
    """``make_spec(definition, workflow_id="wf", **fields)``: a mock WorkflowSpec."""
    return _spec
