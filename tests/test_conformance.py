"""The provider conformance suite, run against both engines we ship.

This is exactly what a provider author writes for their own provider (see
docs/workflow-providers.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from landlord_workflow.providers.mock import MockProvider
from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
from landlord_workflow.testing import LocalStepFunctions, ProviderConformance


class TestMockProviderConformance(ProviderConformance):
    provider_type = "mock"

    def make_provider(self) -> MockProvider:
        return MockProvider()


class TestStepFunctionsConformance(ProviderConformance):
    provider_type = "step-functions"
    # moto does not implement RedriveExecution; redrive is covered with the
    # stubber in tests/stepfunctions.
    check_redrive = False

    @pytest_asyncio.fixture
    async def provider(
        self, stepfunctions_engine: LocalStepFunctions
    ) -> AsyncIterator[StepFunctionsProvider]:
        async with stepfunctions_engine.provider() as provider:
            yield provider
