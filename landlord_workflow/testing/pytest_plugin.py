"""pytest fixtures for tests against a local Step Functions engine (moto server).

Enable them in your ``conftest.py``::

    pytest_plugins = ["landlord_workflow.testing.pytest_plugin"]

Fixtures:

``local_stepfunctions`` (session)
    A running :class:`~landlord_workflow.testing._moto.LocalStepFunctions`
    (moto server on 127.0.0.1, OS-chosen port, ``MOTO_PORT`` set, ASL
    execution enabled), shared by the whole session.
``stepfunctions_engine``
    The same engine, reset (every resource deleted) before the test.
``stepfunctions_provider``
    An open :class:`~landlord_workflow.providers.stepfunctions.StepFunctionsProvider`
    bound to the reset engine with fake credentials; closed after the test.
    Async tests using it need ``@pytest.mark.asyncio`` (strict mode).

Needs ``pytest-asyncio``, ``moto[server] >= 5.2.3`` and the ``aws`` extra.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from landlord_workflow.testing._moto import LocalStepFunctions

if TYPE_CHECKING:
    from landlord_workflow.providers.stepfunctions import StepFunctionsProvider

__all__ = ["local_stepfunctions", "stepfunctions_engine", "stepfunctions_provider"]


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
