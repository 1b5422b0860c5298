"""2. Manager overhead on a status read, the call a control plane makes most.

On the mock: ``Manager.get_execution_status`` against
``MockProvider.get_execution_status`` called directly, per call in µs. A
third case, a Manager whose CallPolicy has ``attempt_timeout=None``, splits
the overhead into the per-attempt timeout and the rest of the plumbing.

On moto: ``Manager.get_execution_status`` (through the Step Functions
adapter) and the adapter alone, against a raw aioboto3 ``describe_execution``
on the same client (same connection pool). The three alternate call by
call; the figures are the medians of single-call wall times.

On the mock the cases run in interleaved rounds of sequential calls, timed
with the process's CPU time; the figures are medians over the rounds.
All cases read the same finished execution.

And the whole path a control plane takes, on the mock: ``Manager.run`` of
1,000 concurrent executions (each call starts one and waits for its end,
under the CallPolicy, with the retry machinery armed) against the direct
engine doing the same work: 1,000 concurrent ``MockProvider.start_execution``
calls, then one ``list_executions(state=RUNNING)`` poll every 5 ms until none
runs. Both on a fresh engine per batch, timed with the process's CPU time
from a collected heap, interleaved, medians; the figure is the Manager's
executions per CPU second over the direct engine's.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from typing import TYPE_CHECKING

from _common import (
    Results,
    alternating_latencies,
    five_state_definition,
    fmt_rate,
    fmt_ratio,
    interleaved,
    median,
    moto_provider,
    per_call_us,
    spec,
    tenant_input,
    wait_until_idle,
)

from landlord_workflow import CallPolicy, ExecutionInput, ExecutionState, Manager, Registry
from landlord_workflow.providers.mock import MockProvider
from landlord_workflow.testing import fast_poll_policy

if TYPE_CHECKING:
    from landlord_workflow.testing._moto import LocalStepFunctions

WORKFLOW = "bench-overhead"


async def run_mock(results: Results, quick: bool) -> None:
    """Section 2 on the mock engine."""
    iterations = 200 if quick else 4_000
    repeats = 2 if quick else 9
    provider = MockProvider(echo_unknown_tasks=True)
    registry = Registry()
    registry.register(provider)
    async with Manager(registry, default_provider=provider.name) as manager:
        bare = Manager(
            registry, default_provider=provider.name, call_policy=CallPolicy(attempt_timeout=None)
        )
        await manager.create_workflow(spec(WORKFLOW, provider.name, five_state_definition("q")))
        started = await manager.start_execution(WORKFLOW, ExecutionInput(input=tenant_input(1)))
        execution_id = started.execution_id
        await manager.wait_for_completion(execution_id)

        async def direct() -> float:
            return await per_call_us(
                lambda: provider.get_execution_status(execution_id), iterations
            )

        async def via_manager() -> float:
            return await per_call_us(lambda: manager.get_execution_status(execution_id), iterations)

        async def no_attempt_timeout() -> float:
            return await per_call_us(lambda: bare.get_execution_status(execution_id), iterations)

        samples = await interleaved(
            {"direct": direct, "manager": via_manager, "no_timeout": no_attempt_timeout}, repeats
        )
    direct_us = median(samples["direct"])
    manager_us = median(samples["manager"])
    bare_us = median(samples["no_timeout"])
    ratio = manager_us / direct_us
    results.add("overhead.mock_iterations", iterations)
    results.add("overhead.mock_direct_us", direct_us)
    results.add("overhead.mock_manager_us", manager_us)
    results.add("overhead.mock_manager_over_direct", ratio)
    results.add("overhead.mock_manager_no_attempt_timeout_us", bare_us)
    results.add("overhead.mock_manager_no_attempt_timeout_over_direct", bare_us / direct_us)
    section = "2 overhead"
    results.row(section, "mock: provider.get_execution_status", f"{direct_us:.1f} µs")
    results.row(section, "mock: Manager.get_execution_status", f"{manager_us:.1f} µs")
    results.row(
        section,
        "mock: Manager, attempt_timeout=None",
        f"{bare_us:.1f} µs ({fmt_ratio(bare_us / direct_us)})",
    )
    results.target(
        "overhead_mock",
        section=section,
        figure="mock: Manager / direct",
        value=fmt_ratio(ratio),
        target="<= 1.3x",
        met=ratio <= 1.3,
    )


async def run_moto(
    results: Results, engine: LocalStepFunctions, queue_url: str, quick: bool
) -> None:
    """Section 2 on moto, through the Step Functions adapter."""
    rounds = 10 if quick else 300
    async with moto_provider(engine) as provider:
        registry = Registry()
        registry.register(provider)
        async with Manager(
            registry, default_provider=provider.name, poll_policy=fast_poll_policy()
        ) as manager:
            definition = five_state_definition(queue_url)
            await manager.create_workflow(spec(WORKFLOW, provider.name, definition))
            started = await manager.start_execution(WORKFLOW, ExecutionInput(input=tenant_input(1)))
            arn = started.execution_id
            await manager.wait_for_completion(arn)
            client = provider.client
            cases = {
                "raw": lambda: client.describe_execution(executionArn=arn),
                "adapter": lambda: provider.get_execution_status(arn),
                "manager": lambda: manager.get_execution_status(arn),
            }
            await alternating_latencies(cases, 3)  # warm up: connections, caches
            samples = await alternating_latencies(cases, rounds)
    raw_us = median(samples["raw"])
    adapter_us = median(samples["adapter"])
    manager_us = median(samples["manager"])
    ratio = manager_us / raw_us
    results.add("overhead.moto_rounds", rounds)
    results.add("overhead.moto_raw_describe_us", raw_us)
    results.add("overhead.moto_adapter_us", adapter_us)
    results.add("overhead.moto_manager_us", manager_us)
    results.add("overhead.moto_adapter_over_raw", adapter_us / raw_us)
    results.add("overhead.moto_manager_over_raw", ratio)
    section = "2 overhead"
    results.row(section, "moto: raw aioboto3 describe_execution", f"{raw_us:,.0f} µs")
    results.row(
        section,
        "moto: adapter get_execution_status",
        f"{adapter_us:,.0f} µs ({fmt_ratio(adapter_us / raw_us)})",
    )
    results.row(section, "moto: Manager.get_execution_status", f"{manager_us:,.0f} µs")
    results.target(
        "overhead_moto",
        section=section,
        figure="moto: Manager / raw describe_execution",
        value=fmt_ratio(ratio),
        target="<= 1.02x",
        met=ratio <= 1.02,
    )


RUN_WORKFLOW = "bench-run"


async def _run_batch(n: int, batch: str, *, through_manager: bool) -> float:
    """CPU seconds for ``n`` concurrent executions on a fresh mock, to their ends."""
    provider = MockProvider(retention=n, echo_unknown_tasks=True)
    registry = Registry()
    registry.register(provider)
    async with Manager(registry) as manager:
        await manager.create_workflow(spec(RUN_WORKFLOW, provider.name, five_state_definition("q")))
        inputs = [
            ExecutionInput(input=tenant_input(i), execution_name=f"{batch}-{i}") for i in range(n)
        ]
        gc.collect()
        cpu = time.process_time()
        if through_manager:
            ended = await asyncio.gather(*(manager.run(RUN_WORKFLOW, each) for each in inputs))
            states = {status.state for status in ended}
        else:
            await asyncio.gather(*(provider.start_execution(RUN_WORKFLOW, each) for each in inputs))
            await wait_until_idle(provider, RUN_WORKFLOW, 0.005)
            states = {s.state async for s in provider.list_executions(RUN_WORKFLOW)}
        seconds = time.process_time() - cpu
    if states != {ExecutionState.SUCCEEDED}:
        raise RuntimeError(f"{batch}: executions ended {sorted(s.value for s in states)}")
    return seconds


async def run_concurrent(results: Results, quick: bool) -> None:
    """Manager.run of N concurrent executions against the direct engine (throughput)."""
    n = 50 if quick else 1_000
    repeats = 1 if quick else 5
    batches = itertools.count()
    await _run_batch(n, "warm-up", through_manager=True)
    samples = await interleaved(
        {
            "direct": lambda: _run_batch(n, f"d{next(batches)}", through_manager=False),
            "manager": lambda: _run_batch(n, f"m{next(batches)}", through_manager=True),
        },
        repeats,
    )
    direct_rate = n / median(samples["direct"])
    manager_rate = n / median(samples["manager"])
    share = manager_rate / direct_rate
    results.add("overhead.run_n", n)
    results.add("overhead.run_direct_executions_per_s", direct_rate)
    results.add("overhead.run_manager_executions_per_s", manager_rate)
    results.add("overhead.run_manager_over_direct", share)
    results.add(
        "overhead.run_manager_over_direct_rounds",
        [d / m for d, m in zip(samples["direct"], samples["manager"], strict=True)],
    )
    section = "2 overhead"
    results.row(
        section,
        f"mock: {n:,} concurrent, direct engine / Manager.run",
        f"{fmt_rate(direct_rate)} / {fmt_rate(manager_rate)}",
    )
    results.target(
        "overhead_run",
        section=section,
        figure=f"mock: Manager.run throughput / direct ({n:,} concurrent)",
        value=f"{share:.0%}",
        target=">= 50%",
        met=share >= 0.50,
    )
