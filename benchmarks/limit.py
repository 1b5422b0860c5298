"""1. The mock engine against its limit, and the shapes beyond five Pass states.

The limit: the same data work with no engine. The 5-state Pass workflow
(`five_pass_definition`: five Pass states, each merging a constant ``Result``
into the data at ``$.<key>``) runs on the mock, driven directly: N sequential
``MockProvider.start_execution`` calls, then a wait until none runs. The
baseline does what any engine must do for it, and nothing else: one asyncio
task per execution that keeps a private copy of the input (JSON text and
value), yields to the event loop once per state as the engine does, applies
the same five merges, records the same 12 events (``ExecutionStarted``,
``StateEntered``/``StateExited`` per state, ``ExecutionSucceeded``) as plain
tuples with a ``time.time_ns()`` timestamp and the data, and keeps the events
and the output's JSON text per execution. No limit checks, no history
numbering, no context object, no API. It is driven as the mock is: one start
(a task created) per pass of the event loop, then polled every 5 ms until
none runs.

Both are timed with the process's CPU time, in interleaved rounds, each from
a collected heap (``gc.collect()`` first, untimed: the cyclic collector's
full passes cost in proportion to everything alive, so garbage left by an
earlier section would tax whichever subject allocates more), and the figure
is the baseline's time over the mock's (the share of the limit the mock
reaches).

The shapes: the same five merges in JSONata (``Output`` with ``$merge``)
against the JSONPath version; a Map over 1,000 items (an inline Map whose
iterations run one Pass state); a Parallel state with 10 branches (one Pass
state each). Same harness: sequential starts, CPU time, medians.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import time
from typing import Any

from _common import (
    MERGES,
    Results,
    five_pass_definition,
    five_pass_jsonata_definition,
    fmt_rate,
    interleaved,
    median,
    spec,
    tenant_input,
    wait_until_idle,
)

from landlord_workflow import ExecutionInput, ExecutionState
from landlord_workflow.providers.mock import MockProvider

WORKFLOW = "bench-limit"
TICK_SECONDS = 0.005


# -- the baseline: the data work with no engine ------------------------------------


_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


async def _baseline_execution(
    name: str, execution_input: Any, kept: dict[str, tuple[list[Any], str]]
) -> None:
    stamp = time.time_ns
    text = _ENCODE(execution_input)
    data = json.loads(text)
    events: list[Any] = [(stamp(), "ExecutionStarted", None, data)]
    for state, key, result in MERGES:
        await asyncio.sleep(0)  # one pass of the event loop per state, as the engine
        events.append((stamp(), "StateEntered", state, data))
        merged = dict(data)
        merged[key] = result
        events.append((stamp(), "StateExited", state, merged))
        data = merged
    events.append((stamp(), "ExecutionSucceeded", None, data))
    kept[name] = (events, _ENCODE(data))


async def _baseline(n: int) -> float:
    """CPU seconds for ``n`` baseline executions, driven as the mock is."""
    kept: dict[str, tuple[list[Any], str]] = {}
    loop = asyncio.get_running_loop()
    gc.collect()  # each round starts from a collected heap, whatever ran before
    cpu = time.process_time()
    tasks = []
    for i in range(n):
        # One start per pass of the event loop, as sequential awaited starts make.
        tasks.append(loop.create_task(_baseline_execution(f"e-{i}", tenant_input(i), kept)))
        await asyncio.sleep(0)
    # Polled until none runs, newest first, as `wait_until_idle` polls the mock.
    while any(not task.done() for task in reversed(tasks)):  # noqa: ASYNC110
        await asyncio.sleep(TICK_SECONDS)
    seconds = time.process_time() - cpu
    if len(kept) != n:
        raise RuntimeError(f"baseline: {len(kept)} of {n} executions ended")
    return seconds


# -- the mock, driven directly -------------------------------------------------------


async def mock_cpu(definition: dict[str, Any], n: int, execution_input: Any = None) -> float:
    """CPU seconds for ``n`` executions of ``definition`` on a fresh mock (sequential starts)."""
    async with MockProvider(retention=n) as provider:
        await provider.create_workflow(spec(WORKFLOW, provider.name, definition))
        gc.collect()
        cpu = time.process_time()
        for i in range(n):
            value = tenant_input(i) if execution_input is None else execution_input
            await provider.start_execution(
                WORKFLOW, ExecutionInput(input=value, execution_name=f"e-{i}")
            )
        await wait_until_idle(provider, WORKFLOW, TICK_SECONDS)
        seconds = time.process_time() - cpu
        states = {s.state async for s in provider.list_executions(WORKFLOW)}
    if states != {ExecutionState.SUCCEEDED}:
        raise RuntimeError(f"{definition.get('Comment', 'bench')}: executions ended {states}")
    return seconds


async def run(results: Results, quick: bool) -> None:
    """The limit (target: the mock reaches >= 60 % of it) and the JSONata ratio."""
    n = 100 if quick else 2_000
    repeats = 1 if quick else 7
    jsonpath, jsonata = five_pass_definition(), five_pass_jsonata_definition()
    # Warm up: the allocator's arenas, compiled caches.
    await _baseline(n)
    await mock_cpu(jsonpath, n)
    await mock_cpu(jsonata, n)
    samples = await interleaved(
        {
            "baseline": lambda: _baseline(n),
            "mock": lambda: mock_cpu(jsonpath, n),
            "jsonata": lambda: mock_cpu(jsonata, n),
        },
        repeats,
    )
    baseline = median(samples["baseline"])
    mock = median(samples["mock"])
    jsonata_seconds = median(samples["jsonata"])
    share = baseline / mock
    spread = sorted(b / m for b, m in zip(samples["baseline"], samples["mock"], strict=True))
    results.add("limit.n", n)
    results.add("limit.baseline_executions_per_s", n / baseline)
    results.add("limit.mock_executions_per_s", n / mock)
    results.add("limit.mock_over_baseline", share)
    results.add("limit.mock_over_baseline_rounds", spread)
    results.add("limit.baseline_us_per_execution", baseline / n * 1e6)
    results.add("limit.mock_us_per_execution", mock / n * 1e6)
    results.add("shapes.jsonata_executions_per_s", n / jsonata_seconds)
    results.add("shapes.jsonata_over_jsonpath", mock / jsonata_seconds)
    section = "1 limit"
    results.row(
        section,
        f"baseline, no engine: {n:,} executions of 5 merges (CPU)",
        f"{fmt_rate(n / baseline)}, {baseline / n * 1e6:.1f} µs each",
    )
    results.row(
        section,
        "mock, 5-state Pass workflow, sequential starts (CPU)",
        f"{fmt_rate(n / mock)}, {mock / n * 1e6:.1f} µs each",
    )
    results.target(
        "limit",
        section=section,
        figure="mock / baseline executions per second",
        value=f"{share:.0%} (rounds {spread[0]:.0%}-{spread[-1]:.0%})",
        target=">= 60%",
        met=share >= 0.60,
    )
    section = "1 shapes"
    results.row(
        section,
        "5-state Pass workflow in JSONata (CPU)",
        f"{fmt_rate(n / jsonata_seconds)}, {jsonata_seconds / n * 1e6:.1f} µs each",
    )
    results.target(
        "jsonata_over_jsonpath",
        section=section,
        figure="JSONata / JSONPath executions per second",
        value=f"{mock / jsonata_seconds:.0%}",
        target=">= 30%",
        met=mock / jsonata_seconds >= 0.30,
    )
    await _shapes(results, quick)


# -- Map and Parallel ----------------------------------------------------------------


def map_definition() -> dict[str, Any]:
    """An inline Map over ``$.items``; each iteration runs one Pass state."""
    return {
        "Comment": "landlord-workflow benchmark: Map",
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Tag",
                    "States": {
                        "Tag": {
                            "Type": "Pass",
                            "Result": {"tagged": True},
                            "ResultPath": "$.tag",
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }


def parallel_definition(branches: int) -> dict[str, Any]:
    """A Parallel state with ``branches`` branches, one Pass state each."""
    return {
        "Comment": "landlord-workflow benchmark: Parallel",
        "StartAt": "All",
        "States": {
            "All": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": f"Step{index}",
                        "States": {
                            f"Step{index}": {
                                "Type": "Pass",
                                "Result": {"branch": index},
                                "ResultPath": "$.branch",
                                "End": True,
                            }
                        },
                    }
                    for index in range(branches)
                ],
                "End": True,
            }
        },
    }


async def _shapes(results: Results, quick: bool) -> None:
    items = 50 if quick else 1_000
    maps = 2 if quick else 10
    branches = 10
    parallels = 50 if quick else 1_000
    repeats = 1 if quick else 5
    map_input = {"items": [{"id": i, "tenant": f"tenant-{i:06d}"} for i in range(items)]}
    counter = itertools.count()

    async def map_run() -> float:
        next(counter)
        return await mock_cpu(map_definition(), maps, map_input)

    async def parallel_run() -> float:
        return await mock_cpu(parallel_definition(branches), parallels)

    await map_run()
    await parallel_run()
    samples = await interleaved({"map": map_run, "parallel": parallel_run}, repeats)
    map_seconds = median(samples["map"]) / maps
    parallel_seconds = median(samples["parallel"]) / parallels
    results.add("shapes.map_items", items)
    results.add("shapes.map_execution_ms", map_seconds * 1e3)
    results.add("shapes.map_iterations_per_s", items / map_seconds)
    results.add("shapes.parallel_branches", branches)
    results.add("shapes.parallel_executions_per_s", 1 / parallel_seconds)
    results.add("shapes.parallel_branches_per_s", branches / parallel_seconds)
    section = "1 shapes"
    results.row(
        section,
        f"Map over {items:,} items, one Pass each: one execution (CPU)",
        f"{map_seconds * 1e3:,.1f} ms, {fmt_rate(items / map_seconds)} iterations",
    )
    results.row(
        section,
        f"Parallel, {branches} branches of one Pass (CPU)",
        f"{fmt_rate(1 / parallel_seconds)}, {fmt_rate(branches / parallel_seconds)} branches",
    )
