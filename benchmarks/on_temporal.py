"""6. Temporal: ASL against a hand-written native workflow, and start latency.

*Executions per second.* The 5-state workflow (Pass, Task, Pass, Task,
Pass) runs on one local dev server two ways: as ASL, interpreted by
landlord-workflow's workflow (its Tasks are activities calling a task
handler, in the worker the provider hosts), and as the same steps written
by hand as a native Temporal workflow (``temporal_workflows.FiveStates``,
its activity calling the same handler, in a plain temporalio worker). Both
kinds are started through the same Manager and provider, N at a time, and a
batch lasts from the first start to the last result. Batches alternate
between the two; the figures are medians.

*Start latency.* ``Manager.start_execution`` against the raw temporalio
client's ``start_workflow`` for the same workflow type, task queue and
input, one start at a time, alternating call by call; no worker polls that
queue, so both measure the start alone. A third case, a Manager whose
``CallPolicy`` has no ``attempt_timeout``, shows what the per-attempt
timeout costs (an informational figure).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from typing import Any

import temporal_workflows
from _common import (
    SQS_SEND,
    Results,
    alternating_latencies,
    five_state_definition,
    fmt_rate,
    fmt_ratio,
    interleaved,
    median,
    spec,
    tenant_input,
)
from temporalio.worker import Worker

from landlord_workflow import CallPolicy, ExecutionInput, Manager, Registry
from landlord_workflow.providers.temporal import TemporalProvider
from landlord_workflow.testing import LocalTemporal

ASL_WORKFLOW = "bench-temporal-asl"
NATIVE_WORKFLOW = "bench-temporal-native"
IDLE_WORKFLOW = "bench-temporal-idle"
ASL_QUEUE = "bench-asl"
NATIVE_QUEUE = "bench-native"
IDLE_QUEUE = "bench-idle"
RUN = uuid.uuid4().hex[:6]


async def _batch(manager: Manager, provider: TemporalProvider, workflow_id: str, n: int) -> float:
    """Executions per second: ``n`` started at once, until the last result."""
    tag = f"{RUN}-{next(_BATCHES)}"
    begin = time.perf_counter()
    await asyncio.gather(
        *(
            manager.start_execution(
                workflow_id, ExecutionInput(input=tenant_input(i), execution_name=f"{tag}-{i}")
            )
            for i in range(n)
        )
    )
    client = provider.client
    results = await asyncio.gather(
        *(client.get_workflow_handle(f"{workflow_id}/{tag}-{i}").result() for i in range(n))
    )
    seconds = time.perf_counter() - begin
    if any(result is None for result in results):
        raise RuntimeError(f"{workflow_id}: an execution returned nothing")
    return n / seconds


_BATCHES = itertools.count()


async def run(results: Results, quick: bool) -> None:
    """Measure section 6 into ``results``."""
    n = 4 if quick else 150
    repeats = 1 if quick else 5
    rounds = 6 if quick else 400
    async with LocalTemporal() as server:
        provider = server.provider(
            task_queue=ASL_QUEUE, task_handlers={SQS_SEND: temporal_workflows.send_message}
        )
        registry = Registry()
        registry.register(provider)
        async with Manager(registry, default_provider=provider.name) as manager:
            client = await server.connect()
            native_worker = Worker(
                client,
                task_queue=NATIVE_QUEUE,
                workflows=[temporal_workflows.FiveStates],
                activities=[temporal_workflows.send],
            )
            async with native_worker:
                await manager.create_workflow(
                    spec(ASL_WORKFLOW, provider.name, five_state_definition("q"))
                )
                native = {
                    "workflow_type": temporal_workflows.NATIVE_TYPE,
                    "task_queue": NATIVE_QUEUE,
                }
                await manager.create_workflow(spec(NATIVE_WORKFLOW, provider.name, native))
                # Warm both paths (worker caches, sandbox, connections).
                await _batch(manager, provider, ASL_WORKFLOW, 4)
                await _batch(manager, provider, NATIVE_WORKFLOW, 4)
                rates = await interleaved(
                    {
                        "asl": lambda: _batch(manager, provider, ASL_WORKFLOW, n),
                        "native": lambda: _batch(manager, provider, NATIVE_WORKFLOW, n),
                    },
                    repeats,
                )
            bare_registry = Registry()
            bare_registry.register(server.provider())
            bare = Manager(bare_registry, call_policy=CallPolicy(attempt_timeout=None))
            async with bare:
                latencies = await _start_latencies(manager, bare, client, rounds)
    section = "6 temporal"
    asl_rate, native_rate = median(rates["asl"]), median(rates["native"])
    ratio = asl_rate / native_rate
    results.add("temporal.n", n)
    results.add("temporal.asl_executions_per_s", asl_rate)
    results.add("temporal.native_executions_per_s", native_rate)
    results.add("temporal.asl_over_native", ratio)
    results.target(
        "temporal_asl_over_native",
        section=section,
        figure=f"5-state workflow, {n} at once: ASL / native workflow",
        value=f"{fmt_rate(asl_rate)} / {fmt_rate(native_rate)} ({fmt_ratio(ratio)})",
        target=">= 0.80x",
        met=ratio >= 0.8,
    )
    raw_us, manager_us = median(latencies["raw"]), median(latencies["manager"])
    bare_us = median(latencies["manager_no_attempt_timeout"])
    latency_ratio = manager_us / raw_us
    results.add("temporal.start_rounds", rounds)
    results.add("temporal.raw_start_us", raw_us)
    results.add("temporal.manager_start_us", manager_us)
    results.add("temporal.manager_over_raw_start", latency_ratio)
    results.target(
        "temporal_start_latency",
        section=section,
        figure="start latency: Manager / raw temporalio client",
        value=f"{manager_us:,.0f} us / {raw_us:,.0f} us ({fmt_ratio(latency_ratio)})",
        target="<= 1.05x",
        met=latency_ratio <= 1.05,
    )
    results.add("temporal.manager_no_attempt_timeout_start_us", bare_us)
    results.add("temporal.manager_no_attempt_timeout_over_raw_start", bare_us / raw_us)
    results.row(
        section,
        "start latency: Manager without attempt_timeout / raw",
        f"{bare_us:,.0f} us / {raw_us:,.0f} us ({fmt_ratio(bare_us / raw_us)})",
    )


async def _start_latencies(
    manager: Manager, bare: Manager, client: Any, rounds: int
) -> dict[str, list[float]]:
    idle = {"workflow_type": "BenchIdle", "task_queue": IDLE_QUEUE}
    await manager.create_workflow(spec(IDLE_WORKFLOW, "temporal", idle))
    names = itertools.count()

    async def raw() -> object:
        return await client.start_workflow(
            "BenchIdle",
            tenant_input(0),
            id=f"{IDLE_WORKFLOW}/raw-{RUN}-{next(names)}",
            task_queue=IDLE_QUEUE,
        )

    async def through_manager() -> object:
        execution_input = ExecutionInput(
            input=tenant_input(0), execution_name=f"manager-{RUN}-{next(names)}"
        )
        return await manager.start_execution(IDLE_WORKFLOW, execution_input)

    async def through_bare_manager() -> object:
        execution_input = ExecutionInput(
            input=tenant_input(0), execution_name=f"bare-{RUN}-{next(names)}"
        )
        return await bare.start_execution(IDLE_WORKFLOW, execution_input)

    await raw()  # warm every path
    await through_manager()
    await through_bare_manager()
    cases = {
        "raw": raw,
        "manager": through_manager,
        "manager_no_attempt_timeout": through_bare_manager,
    }
    return await alternating_latencies(cases, rounds)
