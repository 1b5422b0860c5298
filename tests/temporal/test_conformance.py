"""The provider conformance suite, run against TemporalProvider on the dev server,
with definitions that start the user's own (native) Temporal workflows."""

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
