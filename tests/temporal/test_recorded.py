"""Executions recorded against real AWS run the same as ASL on Temporal.

A representative sample of ``tests/recorded`` (every sixth case by corpus
order, and every third of those that call Lambda emulations; minus the few
whose retry back-offs may wait more than 3 s of real time) runs on the dev
server through the interpreter workflow, all at once; each outcome (status,
output, error, cause, entered states) must match the recording, as it does
on the mock engine (``tests/asl/test_recorded_corpus.py``). The whole corpus
runs the same way with ``cd tests && python -m temporal.recorded`` (it
prints the match rate; about 40 s on a 2-core machine).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
import pytest_asyncio
from recorded.corpus import load_cases, matches
from temporal.recorded import observe, workers

from landlord_workflow.testing._temporal import LocalTemporal

pytestmark = pytest.mark.temporal

CASES = load_cases()
MAX_BACKOFF_SECONDS = 3.0


def backoff_bound(node: Any) -> float:
    """Most seconds the Retry back-offs of any one state of ``node`` may wait in all."""
    worst = 0.0
    if isinstance(node, Mapping):
        for retrier in node.get("Retry") or ():
            interval = float(retrier.get("IntervalSeconds", 1))
            rate = float(retrier.get("BackoffRate", 2.0))
            attempts = int(retrier.get("MaxAttempts", 3))
            worst = max(worst, sum(interval * rate**n for n in range(min(attempts, 10))))
        nodes = list(node.values())
    elif isinstance(node, list):
        nodes = node
    else:
        return worst
    return max([worst, *(backoff_bound(child) for child in nodes)])


SAMPLE = [
    case
    for index, case in enumerate(CASES)
    if index % (3 if case.handlers else 6) == 0
    and backoff_bound(case.definition) <= MAX_BACKOFF_SECONDS
]
IN_FLIGHT = 300


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def observed(local_temporal: LocalTemporal) -> AsyncIterator[Mapping[str, Any]]:
    """Case id -> the outcome observed on Temporal."""
    limit = asyncio.Semaphore(IN_FLIGHT)
    async with workers(local_temporal, SAMPLE) as providers:

        async def one(case: Any) -> Any:
            async with limit:
                return await observe(case, providers)

        results = await asyncio.gather(*(one(case) for case in SAMPLE))
    yield {case.id: result for case, result in zip(SAMPLE, results, strict=True)}


def test_the_sample_covers_every_area_of_the_corpus() -> None:
    assert len(SAMPLE) >= 150
    assert {case.id.split("/")[0] for case in SAMPLE} == {case.id.split("/")[0] for case in CASES}
    assert any(case.id.startswith("timeouts/") for case in SAMPLE)
    assert any("Retry" in str(case.definition) for case in SAMPLE)


@pytest.mark.parametrize("case", SAMPLE, ids=[case.id for case in SAMPLE])
def test_recorded_execution_matches_aws_on_temporal(case: Any, observed: Mapping[str, Any]) -> None:
    assert matches(case.expected, observed[case.id]) == []
