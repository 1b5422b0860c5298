"""The provider conformance suite, run against TemporalProvider on the dev server for
both kinds of definition: the user's own (native) Temporal workflows, and Amazon
States Language documents run by the built-in interpreter workflow."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporal.support import native
from temporal.workflows import NATIVE_TASK_QUEUE

from landlord_workflow.providers.temporal import TemporalProvider
from landlord_workflow.testing import ProviderConformance
from landlord_workflow.testing._conformance import Scenarios
from landlord_workflow.testing._temporal import LocalTemporal


class TestTemporalConformance(ProviderConformance):
    """Native definitions: ``{"workflow_type", "task_queue"}`` run by the user's worker."""

    provider_type = "temporal"
    scenarios = Scenarios(
        succeed=native("ConformanceSucceed"),
        succeed_states=("Prepare", "Finish"),
        succeed_output_key="result",
        fail=native("ConformanceFail"),
        fail_state="Explode",
        fail_error="Tenant.Broken",
        slow=native("ConformanceSlow"),
        slow_seconds=60,
        invalid={"workflow_type": "", "task_queue": NATIVE_TASK_QUEUE},
    )
    timeout = 15.0

    @pytest_asyncio.fixture
    async def provider(
        self, local_temporal: LocalTemporal, native_worker: str
    ) -> AsyncIterator[TemporalProvider]:
        async with local_temporal.provider() as provider:
            yield provider


class TestTemporalAslConformance(ProviderConformance):
    """ASL definitions (the suite's own scenarios, as on the mock and Step Functions),
    driven by a provider that hosts no worker; the session's ASL worker runs them."""

    provider_type = "temporal"
    scenarios = Scenarios.asl()
    timeout = 15.0

    @pytest_asyncio.fixture
    async def provider(
        self, local_temporal: LocalTemporal, asl_worker: str
    ) -> AsyncIterator[TemporalProvider]:
        async with local_temporal.provider(task_queue=asl_worker) as provider:
            yield provider
