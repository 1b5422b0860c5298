"""Load through the Manager: many concurrent runs, each exactly once.

* mock: MOCK_EXECUTIONS concurrent ``Manager.run`` calls with THROTTLE_RATE of
  the start attempts throttled (seeded); every run succeeds, each execution
  exists once, its task ran once, and the metrics count one retry per
  injected fault.
* Step Functions on moto: SFN_EXECUTIONS concurrent runs (polling).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import anyio
import pytest
from conftest import make_spec
from reliability.support import (
    MOCK,
    PASS,
    SFN,
    executions_of,
    manager_for,
    no_sleep_policy,
    other_tasks,
)

from landlord_workflow import ExecutionInput, ExecutionState, PollPolicy
from landlord_workflow.providers.mock import MockProvider
from landlord_workflow.testing._moto import LocalStepFunctions

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

# -- the numbers this module runs with --------------------------------------------------------
MOCK_EXECUTIONS = 2_000
THROTTLE_RATE = 0.1
"""Probability that a start attempt on the mock is throttled."""
THROTTLE_SEED = 20_240_501
EXPECTED_THROTTLES = 222
"""Throttles the seeded stream injects: 222 of 2,222 start attempts (10.0 %). Fixed by
the seed whatever the scheduling order: every attempt draws once from one stream."""
MOCK_MAX_ATTEMPTS = 8
"""CallPolicy.max_attempts: 8 throttles in a row (p = 1e-8 per start) never happen."""
SFN_EXECUTIONS = 100
WALL_CLOCK_BUDGET = 30.0
"""Seconds each load test may take (CI must stay fast)."""
SFN_POLLS = PollPolicy(
    initial_interval=timedelta(milliseconds=50),
    max_interval=timedelta(milliseconds=250),
    jitter=True,
)

PROVISION: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": "ready", "ResultPath": "$.prepared", "Next": "Work"},
        "Work": {"Type": "Task", "Resource": "provision", "ResultPath": "$.work", "End": True},
    },
}


async def test_two_thousand_concurrent_runs_on_the_mock_with_throttled_starts() -> None:
    ran: Counter[int] = Counter()

    async def provision(data: Any) -> Any:
        ran[data["n"]] += 1
        await asyncio.sleep(0)
        return {"tenant": data["n"]}

    provider = MockProvider(task_handlers={"provision": provision})
    manager, metrics = manager_for(
        provider, call_policy=no_sleep_policy(max_attempts=MOCK_MAX_ATTEMPTS)
    )
    begun = time.perf_counter()
    async with manager:
        await manager.create_workflow(make_spec(PROVISION, workflow_id="wf"))
        provider.faults.throttle("start_execution", rate=THROTTLE_RATE, seed=THROTTLE_SEED)
        finals: list[Any] = [None] * MOCK_EXECUTIONS

        async def one(n: int) -> None:
            finals[n] = await manager.run("wf", ExecutionInput(input={"n": n}))

        async with anyio.create_task_group() as group:
            for n in range(MOCK_EXECUTIONS):
                group.start_soon(one, n)

        engine_side = await executions_of(provider, "wf")
        injected = provider.faults.injected("start_execution")
        attempts = provider.faults.calls("start_execution")
    elapsed = time.perf_counter() - begun

    assert {f.state for f in finals} == {ExecutionState.SUCCEEDED}
    assert [f.output["work"] for f in finals] == [{"tenant": n} for n in range(MOCK_EXECUTIONS)]
    ids = {f.execution_id for f in finals}
    assert len(ids) == MOCK_EXECUTIONS, "2,000 distinct executions"
    assert {s.execution_id for s in engine_side} == ids, "and no other"
    assert ran == Counter(range(MOCK_EXECUTIONS)), "each execution's task ran exactly once"

    assert injected == EXPECTED_THROTTLES
    assert attempts == MOCK_EXECUTIONS + injected
    assert 0.07 < injected / attempts < 0.13, f"{injected} of {attempts} throttled"
    assert metrics.calls[("start_execution", MOCK)] == MOCK_EXECUTIONS
    assert metrics.retries[("start_execution", MOCK)] == injected, "one retry per throttle"
    assert metrics.executions[("wf", ExecutionState.SUCCEEDED)] == MOCK_EXECUTIONS
    assert not metrics.errors
    assert other_tasks() == set()
    assert elapsed < WALL_CLOCK_BUDGET


@pytest.mark.moto
async def test_a_hundred_concurrent_runs_on_step_functions(
    stepfunctions_engine: LocalStepFunctions,
) -> None:
    begun = time.perf_counter()
    async with stepfunctions_engine.provider(
        account_id="123456789012", max_pool_connections=20
    ) as provider:
        manager, metrics = manager_for(provider, poll_policy=SFN_POLLS)
        await manager.create_workflow(make_spec(PASS, workflow_id="wf", provider_type=SFN))
        finals: list[Any] = [None] * SFN_EXECUTIONS

        async def one(n: int) -> None:
            request = ExecutionInput(input={"n": n}, execution_name=f"tenant-{n}")
            finals[n] = await manager.run("wf", request)

        async with anyio.create_task_group() as group:
            for n in range(SFN_EXECUTIONS):
                group.start_soon(one, n)

        engine_side = await executions_of(provider, "wf")
    elapsed = time.perf_counter() - begun

    assert {f.state for f in finals} == {ExecutionState.SUCCEEDED}
    assert [f.output for f in finals] == [
        {"n": n, "result": {"ok": True}} for n in range(SFN_EXECUTIONS)
    ]
    ids = {f.execution_id for f in finals}
    assert len(ids) == SFN_EXECUTIONS
    assert sorted(s.execution_id for s in engine_side) == sorted(ids), "each exactly once"
    assert {s.state for s in engine_side} == {ExecutionState.SUCCEEDED}
    assert metrics.calls[("start_execution", SFN)] == SFN_EXECUTIONS
    assert metrics.executions[("wf", ExecutionState.SUCCEEDED)] == SFN_EXECUTIONS
    assert not metrics.errors
    assert elapsed < WALL_CLOCK_BUDGET
