"""The benchmark script still runs and still reports every figure.

Runs ``benchmarks/run.py --quick`` (every section on tiny inputs, moto
server and Temporal dev server included) and checks the JSON it writes. No timing is asserted:
benchmarks are not tests, this only keeps their code from rotting.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"

FIGURES = {
    # 1. the mock against its limit (no engine); Map, Parallel, JSONata
    "limit.n",
    "limit.baseline_executions_per_s",
    "limit.mock_executions_per_s",
    "limit.mock_over_baseline",
    "limit.mock_over_baseline_rounds",
    "limit.baseline_us_per_execution",
    "limit.mock_us_per_execution",
    "shapes.jsonata_executions_per_s",
    "shapes.jsonata_over_jsonpath",
    "shapes.map_items",
    "shapes.map_execution_ms",
    "shapes.map_iterations_per_s",
    "shapes.parallel_branches",
    "shapes.parallel_executions_per_s",
    "shapes.parallel_branches_per_s",
    # 1. mock engine against moto's ASL interpreter; growth with N
    "engines.n",
    "engines.moto_executions_per_s",
    "engines.mock_executions_per_s",
    "engines.mock_over_moto",
    "engines.task_resource",
    "growth.small_n",
    "growth.large_n",
    "growth.small_seconds",
    "growth.large_seconds",
    "growth.large_over_small",
    "growth.small_cpu_seconds",
    "growth.large_cpu_seconds",
    "growth.large_over_small_cpu",
    "growth.no_gc_large_over_small_cpu",
    # 2. Manager overhead
    "overhead.mock_iterations",
    "overhead.mock_direct_us",
    "overhead.mock_manager_us",
    "overhead.mock_manager_over_direct",
    "overhead.mock_manager_no_attempt_timeout_us",
    "overhead.mock_manager_no_attempt_timeout_over_direct",
    "overhead.run_n",
    "overhead.run_direct_executions_per_s",
    "overhead.run_manager_executions_per_s",
    "overhead.run_manager_over_direct",
    "overhead.run_manager_over_direct_rounds",
    "overhead.moto_rounds",
    "overhead.moto_raw_describe_us",
    "overhead.moto_adapter_us",
    "overhead.moto_manager_us",
    "overhead.moto_adapter_over_raw",
    "overhead.moto_manager_over_raw",
    # 3. waiting
    "waiting.duration_s",
    "waiting.execution_ran_s",
    "waiting.fixed_1s_calls",
    "waiting.fixed_1s_delay_s",
    "waiting.default_policy",
    "waiting.default_calls",
    "waiting.default_calls_over_fixed",
    "waiting.default_delay_s",
    "waiting.general_calls",
    "waiting.general_calls_over_fixed",
    "waiting.general_delay_s",
    "waiting.modelled_600s",
    "waiting.modelled_general_600s",
    "waiting.modelled_profile",
    # 4. memory
    "memory.retained_executions",
    "memory.bytes_per_retained_execution",
    "memory.concurrent_executions",
    "memory.peak_concurrent_bytes",
    "memory.peak_bytes_per_concurrent_execution",
    "memory.all_in_flight_bytes",
    # 4. scale: 100,000 executions against 10,000 (retention 10,000)
    "scale.small_n",
    "scale.large_n",
    "scale.retention",
    "scale.small_cpu_seconds",
    "scale.large_cpu_seconds",
    "scale.large_over_small_cpu",
    "scale.rounds",
    "scale.steady_small_cpu_seconds",
    "scale.steady_large_cpu_seconds",
    "scale.steady_large_over_small_cpu",
    "scale.no_gc_large_over_small_cpu",
    # 5. starts
    "starts.count",
    "starts.raw_per_s_1_in_flight",
    "starts.manager_per_s_1_in_flight",
    "starts.manager_over_raw_1_in_flight",
    "starts.raw_per_s_8_in_flight",
    "starts.manager_per_s_8_in_flight",
    "starts.manager_over_raw_8_in_flight",
    # 6. Temporal
    "temporal.n",
    "temporal.asl_executions_per_s",
    "temporal.native_executions_per_s",
    "temporal.asl_over_native",
    "temporal.start_rounds",
    "temporal.raw_start_us",
    "temporal.manager_start_us",
    "temporal.manager_over_raw_start",
    "temporal.manager_no_attempt_timeout_start_us",
    "temporal.manager_no_attempt_timeout_over_raw_start",
}
TARGETS = {
    "limit",
    "jsonata_over_jsonpath",
    "scale",
    "memory_retained",
    "mock_over_moto",
    "growth",
    "overhead_mock",
    "overhead_moto",
    "overhead_run",
    "waiting_10s_calls",
    "waiting_10s_delay",
    "waiting_600s_calls",
    "waiting_600s_delay",
    "temporal_asl_over_native",
    "temporal_start_latency",
}


@pytest.mark.moto
@pytest.mark.temporal
@pytest.mark.slow
def test_quick_benchmark_run_reports_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("PYTHONASYNCIODEBUG", None)  # aiohttp rejects moto's headers in debug mode
    env["PYTHONDEVMODE"] = ""
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]

    document = json.loads(output.read_text())
    assert document["quick"] is True
    figures = document["figures"]
    assert FIGURES - figures.keys() == set()
    for key in FIGURES:
        value = figures[key]
        if isinstance(value, float):
            assert math.isfinite(value), key
    assert set(document["targets"]) == TARGETS
    assert all(isinstance(target["met"], bool) for target in document["targets"].values())
    assert {"cpus", "cpu_model", "python", "memory_gib"} <= document["machine"].keys()
    # The table shows every section.
    sections = (
        "1 limit",
        "1 shapes",
        "1 engines",
        "1 growth",
        "2 overhead",
        "3 waiting",
        "4 memory",
        "4 scale",
        "5 starts",
    )
    for section in (*sections, "6 temporal"):
        assert section in completed.stdout
