"""5. Start throughput on moto: ``Manager.start_execution`` against raw aioboto3.

Both send StartExecution to the same moto server over the same client
(same connection pool), one start at a time and 8 in flight, in interleaved
rounds. moto's ASL execution is switched off for this section so that
running executions do not compete with the starts for the CPU; both sides
then measure the API call alone.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio.to_thread
from _common import (
    Results,
    fmt_rate,
    fmt_ratio,
    interleaved,
    median,
    moto_provider,
    spec,
    tenant_input,
)

from landlord_workflow import ExecutionInput, Manager, Registry

if TYPE_CHECKING:
    from landlord_workflow.testing._moto import LocalStepFunctions

WORKFLOW = "bench-starts"
IN_FLIGHT = (1, 8)
# One Pass state: with ASL execution off moto never runs it anyway.
DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


async def _execute_state_machines(engine: LocalStepFunctions, enabled: bool) -> None:
    """Switch moto's ASL interpreter on or off (process-wide)."""
    settings = {"stepfunctions": {"execute_state_machine": enabled}}
    await anyio.to_thread.run_sync(engine.configure, settings)


async def _throughput(
    start_one: Callable[[int], Awaitable[object]], count: int, in_flight: int
) -> float:
    """Starts per second for ``count`` starts, ``in_flight`` at a time."""
    numbers = iter(range(count))

    async def worker() -> None:
        for number in numbers:
            await start_one(number)

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return count / (time.perf_counter() - begin)


async def run(results: Results, engine: LocalStepFunctions, quick: bool) -> None:
    """Measure section 5 into ``results``."""
    count = 4 if quick else 60
    repeats = 2 if quick else 5
    names = itertools.count()
    await _execute_state_machines(engine, False)
    try:
        async with moto_provider(engine) as provider:
            registry = Registry()
            registry.register(provider)
            async with Manager(registry, default_provider=provider.name) as manager:
                created = await manager.create_workflow(spec(WORKFLOW, provider.name, DEFINITION))
                machine = created.resource_ids["state_machine_arn"]
                client = provider.client

                async def raw_start(number: int) -> object:
                    # The same bytes the adapter sends: sorted, compact JSON.
                    payload = json.dumps(
                        tenant_input(number), sort_keys=True, separators=(",", ":")
                    )
                    return await client.start_execution(
                        stateMachineArn=machine, name=f"raw-{next(names)}", input=payload
                    )

                async def manager_start(number: int) -> object:
                    execution_input = ExecutionInput(
                        input=tenant_input(number), execution_name=f"manager-{next(names)}"
                    )
                    return await manager.start_execution(WORKFLOW, execution_input)

                await raw_start(0)  # warm the connection pool
                cases = {
                    f"{kind}-{in_flight}": functools.partial(_throughput, start, count, in_flight)
                    for in_flight in IN_FLIGHT
                    for kind, start in (("raw", raw_start), ("manager", manager_start))
                }
                samples = await interleaved(cases, repeats)
    finally:
        await _execute_state_machines(engine, True)
    results.add("starts.count", count)
    section = "5 starts"
    for in_flight in IN_FLIGHT:
        raw_rate = median(samples[f"raw-{in_flight}"])
        manager_rate = median(samples[f"manager-{in_flight}"])
        ratio = manager_rate / raw_rate
        results.add(f"starts.raw_per_s_{in_flight}_in_flight", raw_rate)
        results.add(f"starts.manager_per_s_{in_flight}_in_flight", manager_rate)
        results.add(f"starts.manager_over_raw_{in_flight}_in_flight", ratio)
        results.row(
            section,
            f"moto, {in_flight} in flight: raw start_execution / Manager",
            f"{fmt_rate(raw_rate)} / {fmt_rate(manager_rate)} ({fmt_ratio(ratio)})",
        )
