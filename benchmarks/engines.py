"""1. The mock engine against moto's ASL interpreter, and the mock's growth with N.

Both engines run the same 5-state workflow (Pass, Task, Pass, Task, Pass; the
Tasks are ``sqs:sendMessage`` integrations, which moto really performs
against its own SQS). A batch starts N executions concurrently through the
Manager, then waits until the engine reports none running (one
``list_executions(state=RUNNING)`` call per 50 ms tick, the same code on both
engines). The batch's time is from just before the first start to the latest
``stop_time`` the engine recorded, so the polling tick does not count.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from _common import (
    SQS_SEND,
    Results,
    five_state_definition,
    fmt_rate,
    fmt_ratio,
    gc_paused,
    interleaved,
    median,
    moto_provider,
    spec,
    tenant_input,
    wait_until_idle,
)

from landlord_workflow import ExecutionInput, ExecutionState, Manager, Registry
from landlord_workflow.providers.mock import MockProvider

if TYPE_CHECKING:
    from landlord_workflow._provider import SupportsListExecutions
    from landlord_workflow.testing._moto import LocalStepFunctions

WORKFLOW = "bench-five-states"
TICK_SECONDS = 0.05
RUN = uuid.uuid4().hex[:8]
"""Part of every execution name on moto, so that runs against one server never collide."""


async def _batch(manager: Manager, provider: SupportsListExecutions, n: int, batch: str) -> float:
    """Run ``n`` executions concurrently; seconds from the first start to the last stop."""
    begin = datetime.now(UTC)
    started = await asyncio.gather(
        *(
            manager.start_execution(
                WORKFLOW,
                ExecutionInput(input=tenant_input(i), execution_name=f"{batch}-{i}"),
            )
            for i in range(n)
        )
    )
    await wait_until_idle(provider, WORKFLOW, TICK_SECONDS)
    ids = {result.execution_id for result in started}
    finished = [s async for s in provider.list_executions(WORKFLOW) if s.execution_id in ids]
    if len(finished) != n or any(s.state is not ExecutionState.SUCCEEDED for s in finished):
        states = sorted({s.state.value for s in finished})
        raise RuntimeError(f"{batch}: expected {n} succeeded executions, got {states}")
    last_stop = max(s.stop_time for s in finished if s.stop_time is not None)
    return (last_stop - begin).total_seconds()


async def _mock_batch(n: int, batch: str) -> tuple[float, float]:
    """A batch on a fresh mock engine: (engine seconds, CPU seconds of this process)."""
    provider = MockProvider(retention=n, echo_unknown_tasks=True)
    registry = Registry()
    registry.register(provider)
    async with Manager(registry, default_provider=provider.name) as manager:
        await manager.create_workflow(spec(WORKFLOW, provider.name, five_state_definition("q")))
        cpu = time.process_time()
        seconds = await _batch(manager, provider, n, batch)
        return seconds, time.process_time() - cpu


async def run_compare(
    results: Results, engine: LocalStepFunctions, queue_url: str, quick: bool
) -> None:
    """The same N concurrent executions on moto and on the mock: executions per second."""
    n = 2 if quick else 50
    repeats = 1 if quick else 2
    batches = itertools.count()
    async with moto_provider(engine) as provider:
        registry = Registry()
        registry.register(provider)
        async with Manager(registry, default_provider=provider.name) as manager:
            definition = five_state_definition(queue_url)
            await manager.create_workflow(spec(WORKFLOW, provider.name, definition))

            async def moto() -> float:
                return await _batch(manager, provider, n, f"moto-{next(batches)}-{RUN}")

            async def mock() -> float:
                # A mock batch is far shorter: three per round, their median.
                runs = [await _mock_batch(n, f"mock-{next(batches)}") for _ in range(3)]
                return median([seconds for seconds, _ in runs])

            # Warm up: moto builds its SQS client on the first Task, the mock its caches.
            await _batch(manager, provider, 1, f"warm-up-{RUN}")
            await _mock_batch(1, "warm-up")
            samples = await interleaved({"moto": moto, "mock": mock}, repeats)

    moto_rate = n / median(samples["moto"])
    mock_rate = n / median(samples["mock"])
    speedup = mock_rate / moto_rate
    results.add("engines.n", n)
    results.add("engines.moto_executions_per_s", moto_rate)
    results.add("engines.mock_executions_per_s", mock_rate)
    results.add("engines.mock_over_moto", speedup)
    results.add("engines.task_resource", SQS_SEND)
    section = "1 engines"
    results.row(section, f"moto ASL interpreter: {n} concurrent", fmt_rate(moto_rate))
    results.row(section, f"mock engine: {n} concurrent", fmt_rate(mock_rate))
    results.target(
        "mock_over_moto",
        section=section,
        figure="mock / moto executions per second",
        value=fmt_ratio(speedup),
        target=">= 100x",
        met=speedup >= 100,
    )


async def run_growth(results: Results, quick: bool) -> None:
    """The mock with 1,000 and with 10,000 concurrent executions: how time grows."""
    small, large = (50, 200) if quick else (1_000, 10_000)
    repeats = 1 if quick else 3
    batches = itertools.count()

    async def small_batches() -> tuple[float, float]:
        # A small batch is 10x shorter, so noisier: three per round, the median of each.
        runs = [await _mock_batch(small, f"small-{next(batches)}") for _ in range(3)]
        return median([s for s, _ in runs]), median([c for _, c in runs])

    await _mock_batch(small, "warm-up")  # the allocator's arenas, the interpreter's caches
    samples = await interleaved(
        {"small": small_batches, "large": lambda: _mock_batch(large, f"large-{next(batches)}")},
        repeats,
    )
    with gc_paused():  # diagnostic: what the cyclic collector's passes add to the growth
        no_gc = [(await _mock_batch(size, f"no-gc-{next(batches)}"))[1] for size in (small, large)]
    results.add("growth.no_gc_large_over_small_cpu", no_gc[1] / no_gc[0])
    wall = {size: median([s for s, _ in samples[size]]) for size in samples}
    cpu = {size: median([c for _, c in samples[size]]) for size in samples}
    wall_ratio = wall["large"] / wall["small"]
    cpu_ratio = cpu["large"] / cpu["small"]
    results.add("growth.small_n", small)
    results.add("growth.large_n", large)
    results.add("growth.small_seconds", wall["small"])
    results.add("growth.large_seconds", wall["large"])
    results.add("growth.large_over_small", wall_ratio)
    results.add("growth.small_cpu_seconds", cpu["small"])
    results.add("growth.large_cpu_seconds", cpu["large"])
    results.add("growth.large_over_small_cpu", cpu_ratio)
    section = "1 growth"
    for size, label in (("small", small), ("large", large)):
        results.row(
            section,
            f"mock: {label:,} concurrent, wall (CPU)",
            f"{wall[size]:.2f} s ({cpu[size]:.2f} s), {label / wall[size]:,.0f} /s",
        )
    results.row(section, f"wall time({large:,}) / time({small:,})", fmt_ratio(wall_ratio))
    results.row(
        section,
        "CPU time ratio with the cyclic GC off (diagnostic)",
        fmt_ratio(no_gc[1] / no_gc[0]),
    )
    results.target(
        "growth",
        section=section,
        figure=f"CPU time({large:,}) / time({small:,})",
        value=fmt_ratio(cpu_ratio),
        target="<= 12x",
        met=cpu_ratio <= 12,
    )
