"""4. Memory of the mock engine, measured with tracemalloc.

* Bytes per retained finished execution: traced memory after K executions
  of the 5-state workflow finished (and a full collection), minus before,
  divided by K. What a retained execution keeps: its record, its history
  (12 events with their state data), input and output.
* Peak of N concurrent executions: every execution parks in its first Task
  (a handler waits on an event) until all N run at once; then they are
  released and finish. The figure is tracemalloc's peak above the level
  before the first start.

Runs before the moto server starts, so that no server thread allocates while
tracing.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from typing import Any

from _common import (
    SQS_SEND,
    Results,
    five_state_definition,
    fmt_bytes,
    spec,
    tenant_input,
    wait_until_idle,
)

from landlord_workflow import ExecutionInput
from landlord_workflow.providers.mock import MockProvider

WORKFLOW = "bench-memory"


async def _start(provider: MockProvider, first: int, count: int) -> None:
    for number in range(first, first + count):
        execution_input = ExecutionInput(input=tenant_input(number), execution_name=f"e-{number}")
        await provider.start_execution(WORKFLOW, execution_input)


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def _retained(results: Results, retained: int) -> None:
    warm_up = 100
    async with MockProvider(retention=retained + warm_up, echo_unknown_tasks=True) as provider:
        await provider.create_workflow(spec(WORKFLOW, provider.name, five_state_definition("q")))
        # Warm caches (compiled paths, interned strings, loop internals) first.
        await _start(provider, 0, warm_up)
        await wait_until_idle(provider, WORKFLOW, 0.01)
        before = _traced()
        await _start(provider, warm_up, retained)
        await wait_until_idle(provider, WORKFLOW, 0.01)
        after = _traced()
    per_execution = (after - before) / retained
    results.add("memory.retained_executions", retained)
    results.add("memory.bytes_per_retained_execution", per_execution)
    results.target(
        "memory_retained",
        section="4 memory",
        figure=f"mock: per retained finished execution (K = {retained:,})",
        value=fmt_bytes(per_execution),
        target="<= 4,000 B",
        met=per_execution <= 4_000,
    )


async def _peak(results: Results, concurrent: int) -> None:
    gate = asyncio.Event()
    all_parked = asyncio.Event()
    parked = 0

    async def held_task(task_input: Any) -> Any:
        nonlocal parked
        parked += 1
        if parked == concurrent:
            all_parked.set()
        await gate.wait()
        return task_input

    async with MockProvider(task_handlers={SQS_SEND: held_task}, retention=concurrent) as provider:
        await provider.create_workflow(spec(WORKFLOW, provider.name, five_state_definition("q")))
        base = _traced()
        tracemalloc.reset_peak()
        await _start(provider, 0, concurrent)
        await all_parked.wait()
        in_flight = tracemalloc.get_traced_memory()[0] - base
        gate.set()
        await wait_until_idle(provider, WORKFLOW, 0.01)
        peak = tracemalloc.get_traced_memory()[1] - base
    results.add("memory.concurrent_executions", concurrent)
    results.add("memory.peak_concurrent_bytes", peak)
    results.add("memory.peak_bytes_per_concurrent_execution", peak / concurrent)
    results.add("memory.all_in_flight_bytes", in_flight)
    results.row(
        "4 memory",
        f"mock: peak, {concurrent:,} concurrent executions",
        f"{fmt_bytes(peak)} ({fmt_bytes(peak / concurrent)} each)",
    )


async def run(results: Results, quick: bool) -> None:
    """Measure section 4 into ``results`` (tracing only while it runs)."""
    tracemalloc.start()
    try:
        await _retained(results, 100 if quick else 2_000)
        await _peak(results, 200 if quick else 10_000)
    finally:
        tracemalloc.stop()
