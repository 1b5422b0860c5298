"""4. Scale: 100,000 executions against 10,000 on a VirtualClock, retention 10,000.

The Pass/Task workflow (`five_state_definition`) on a mock with a
`VirtualClock`, its Tasks taking 1 s of simulated time each; executions are
started directly in waves of 1,000 at once, each wave followed until its last
execution ends (by watching it: no polling). A fresh provider per run, with
``retention=10_000``: from the 10,001st execution on, every execution that
ends evicts the oldest finished one. Timed with the process's CPU time,
10,000 and 100,000 alternating; the figure is their ratio (target: at most
10.5, i.e. no cost grows with the number of executions run or evicted).

The 10,000 run never evicts and runs on a heap that grows from empty; the
100,000 run spends nine tenths of its executions on a full one (10,000
retained) and evicting. The same two runs on a provider that already holds
10,000 finished executions (untimed) compare like with like: what is left
of the ratio then is what grows with the number of executions.
"""

from __future__ import annotations

import gc
import time
from contextlib import aclosing

from _common import (
    Results,
    five_state_definition,
    fmt_ratio,
    gc_paused,
    interleaved,
    median,
    spec,
)

from landlord_workflow import ExecutionInput, ExecutionState
from landlord_workflow.providers.mock import MockProvider, VirtualClock

WORKFLOW = "bench-scale"
RETENTION = 10_000
WAVE = 1_000


async def _waves(provider: MockProvider, first: int, n: int, wave: int) -> None:
    """Run executions ``first`` to ``first + n - 1`` in waves of ``wave``."""
    for start in range(first, first + n, wave):
        last = None
        for number in range(start, min(start + wave, first + n)):
            last = await provider.start_execution(
                WORKFLOW,
                ExecutionInput(
                    input={"tenant": f"tenant-{number:06d}", "tier": "standard"},
                    execution_name=f"e-{number}",
                ),
            )
        assert last is not None
        async with aclosing(provider.watch_execution(last.execution_id)) as statuses:
            async for status in statuses:
                if status.state.is_terminal:
                    break


async def _run(n: int, retention: int, wave: int, *, prefill: int = 0) -> float:
    """CPU seconds to run ``n`` executions in waves of ``wave`` (after ``prefill``
    untimed ones, which leave the provider holding them)."""
    clock = VirtualClock()
    async with MockProvider(
        clock=clock, retention=retention, echo_unknown_tasks=True, default_task_duration=1.0
    ) as provider:
        await provider.create_workflow(spec(WORKFLOW, provider.name, five_state_definition("q")))
        await _waves(provider, 0, prefill, wave)
        gc.collect()  # from a collected heap, whatever ran before
        cpu = time.process_time()
        await _waves(provider, prefill, n, wave)
        seconds = time.process_time() - cpu
        # Untimed: every execution ended, and retention kept the newest.
        retained = [s.state async for s in provider.list_executions(WORKFLOW)]
    if len(retained) != min(n + prefill, retention) or set(retained) != {ExecutionState.SUCCEEDED}:
        raise RuntimeError(f"scale: {len(retained)} retained, states {set(retained)}")
    return seconds


async def run(results: Results, quick: bool) -> None:
    """Measure the scale target into ``results``."""
    small, large = (200, 2_000) if quick else (10_000, 100_000)
    retention = small
    wave = 100 if quick else WAVE
    repeats = 1 if quick else 3
    await _run(wave, retention, wave)  # warm up
    samples = await interleaved(
        {
            "small": lambda: _run(small, retention, wave),
            "large": lambda: _run(large, retention, wave),
        },
        repeats,
    )
    # The same, both on a provider already holding ``retention`` finished
    # executions (so both evict from the first and run on a full heap).
    steady = await interleaved(
        {
            "small": lambda: _run(small, retention, wave, prefill=retention),
            "large": lambda: _run(large, retention, wave, prefill=retention),
        },
        1 if quick else 2,
    )
    # Diagnostic: the same pair with the cyclic garbage collector off. Its
    # full collections walk everything alive (the retained executions too),
    # so they cost more per execution when 10,000 are retained throughout.
    with gc_paused():
        no_gc = {
            "small": await _run(small, retention, wave),
            "large": await _run(large, retention, wave),
        }
    no_gc_ratio = no_gc["large"] / no_gc["small"]
    results.add("scale.no_gc_large_over_small_cpu", no_gc_ratio)
    steady_ratio = median(steady["large"]) / median(steady["small"])
    results.add("scale.steady_small_cpu_seconds", median(steady["small"]))
    results.add("scale.steady_large_cpu_seconds", median(steady["large"]))
    results.add("scale.steady_large_over_small_cpu", steady_ratio)
    small_cpu, large_cpu = median(samples["small"]), median(samples["large"])
    ratio = large_cpu / small_cpu
    spread = sorted(b / a for a, b in zip(samples["small"], samples["large"], strict=True))
    results.add("scale.small_n", small)
    results.add("scale.large_n", large)
    results.add("scale.retention", retention)
    results.add("scale.small_cpu_seconds", small_cpu)
    results.add("scale.large_cpu_seconds", large_cpu)
    results.add("scale.large_over_small_cpu", ratio)
    results.add("scale.rounds", spread)
    section = "4 scale"
    for n, cpu in ((small, small_cpu), (large, large_cpu)):
        results.row(
            section,
            f"VirtualClock, retention {retention:,}: {n:,} executions (CPU)",
            f"{cpu:.2f} s, {cpu / n * 1e6:.0f} µs each",
        )
    results.row(
        section,
        f"the same after {retention:,} already held (both evicting throughout)",
        f"{fmt_ratio(steady_ratio)}",
    )
    results.row(section, "the same with the cyclic GC off (diagnostic)", fmt_ratio(no_gc_ratio))
    results.target(
        "scale",
        section=section,
        figure=f"CPU time({large:,}) / CPU time({small:,})",
        value=f"{fmt_ratio(ratio)} (rounds {spread[0]:.2f}-{spread[-1]:.2f})",
        target="<= 10.5x",
        met=ratio <= 10.5,
    )
