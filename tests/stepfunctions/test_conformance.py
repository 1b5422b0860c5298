"""The provider conformance suite, run against StepFunctionsProvider on moto server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
from landlord_workflow.testing import ProviderConformance
from landlord_workflow.testing._moto import LocalStepFunctions


@pytest.mark.moto
class TestStepFunctionsConformance(ProviderConformance):
    provider_type = "step-functions"
    # moto has no RedriveExecution; test_stubbed.py covers redrive.
    check_redrive = False
    timeout = 15.0

    @pytest_asyncio.fixture
    async def provider(
        self, stepfunctions_engine: LocalStepFunctions
    ) -> AsyncIterator[StepFunctionsProvider]:
        async with stepfunctions_engine.provider() as provider:
            yield provider
