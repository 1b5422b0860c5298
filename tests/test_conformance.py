"""The provider conformance suite, run once against each engine we ship.

This is exactly what a provider author writes for their own provider (see
docs/workflow-providers.md). The docs' made-up "checklist" engine runs it in
tests/test_minimal_provider.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from landlord_workflow.providers.mock import MockProvider
from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
from landlord_workflow.testing import LocalStepFunctions, ProviderConformance


class TestMockProviderConformance(ProviderConformance):
    provider_type = "mock"

    def make_provider(self) -> MockProvider:
        return MockProvider()


@pytest.mark.moto
class TestStepFunctionsConformance(ProviderConformance):
    provider_type = "step-functions"
    # moto does not implement RedriveExecution; redrive is covered with the
    # stubber in tests/stepfunctions/test_stubbed.py.
    check_redrive = False
    timeout = 15.0

    @pytest_asyncio.fixture
    async def provider(
        self, stepfunctions_engine: LocalStepFunctions
    ) -> AsyncIterator[StepFunctionsProvider]:
        async with stepfunctions_engine.provider() as provider:
            yield provider
