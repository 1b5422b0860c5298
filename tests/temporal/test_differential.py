"""The differential corpus runs the same on the mock engine and as ASL on Temporal.

Every ``tests/differential/corpus`` entry (Amazon States Language documents
whose outcome AWS documents) runs on :class:`MockProvider` (virtual clock)
and on :class:`TemporalProvider` (the built-in interpreter workflow on the
dev server, Tasks as activities calling the same handlers), all entries at
once. The two engines must agree on every compared fact: final state,
output, error code, cause, the entered states and the ``[type, state]``
sequence of state and task events; and the mock must still give the outcome
AWS documents. Every Temporal history then replays without nondeterminism
(the interpreter workflow is deterministic).

Parallel branches and Map iterations that run side by side interleave in no
fixed order on either engine: for a ``concurrent`` entry their events are
compared as a multiset (``harness.in_comparable_order``), as against moto.
One documented difference is normalised away: the context object shows each
engine's own identity and clock (``$$.Execution.Id``, the state machine id,
the role ARN, timestamps), so where a cause quotes it (a path that misses in
the context object) those values are replaced by placeholders on both sides.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
import pytest_asyncio
from differential.harness import (
    MOCK_TASKS,
    Entry,
    in_comparable_order,
    load_corpus,
    outcome_of,
    run_on_mock,
)
from differential.harness import run_on_temporal as run_entry_on_temporal
from differential.test_differential import canonical, mismatches, render
from temporalio.worker import Replayer

from landlord_workflow.providers.temporal._asl_workflow import AslWorkflow
from landlord_workflow.providers.temporal._worker import asl_sandbox_runner
from landlord_workflow.testing._temporal import LocalTemporal

pytestmark = pytest.mark.temporal

ENTRIES = load_corpus()
CONCURRENT_RUNS = 20
COMPARED = ("state", "output", "error", "cause", "entered", "events")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
ROLE_ARN = re.compile(r"arn:aws:iam::\d{12}:role/[A-Za-z0-9-]+")


def without_identity(outcome: Any, status: Any) -> dict[str, Any]:
    """The outcome's fields with the engine's ids, role and clock replaced by placeholders."""
    execution_id = status.execution_id
    machine_id = execution_id.rsplit("/", 1)[0] if "/" in execution_id else None
    if machine_id is None:  # the mock: mock:<workflow>:<name>
        machine_id = execution_id.rsplit(":", 1)[0]
    text = json.dumps(outcome.as_dict())
    for value, placeholder in ((execution_id, "<execution-id>"), (machine_id, "<machine-id>")):
        text = text.replace(json.dumps(value)[1:-1], placeholder)
    text = ROLE_ARN.sub("<role-arn>", TIMESTAMP.sub("<time>", text))
    result: dict[str, Any] = json.loads(text)
    return result


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def outcomes(local_temporal: LocalTemporal) -> AsyncIterator[Mapping[str, Any]]:
    """Every entry run on both engines, concurrently: name -> (mock outcome, mock status,
    Temporal outcome, Temporal status)."""
    queue = f"differential-{uuid.uuid4().hex[:8]}"
    async with local_temporal.provider(task_queue=queue, task_handlers=MOCK_TASKS) as provider:

        async def both(entry: Entry) -> tuple[Any, Any]:
            mock, temporal = await asyncio.gather(
                run_on_mock(entry), run_entry_on_temporal(provider, entry)
            )
            history = await provider.client.get_workflow_handle(
                str(temporal.metadata["temporal_workflow_id"])
            ).fetch_history()
            return outcome_of(mock), mock, outcome_of(temporal), temporal, history

        # Bounded: a worker flooded with runs starts some so late that an entry's
        # 1 s TimeoutSeconds runs out before its first state (a load artefact).
        slots = asyncio.Semaphore(CONCURRENT_RUNS)

        async def bounded(entry: Entry) -> tuple[Any, Any]:
            async with slots:
                return await both(entry)

        results = await asyncio.gather(*(bounded(entry) for entry in ENTRIES))
        yield {entry.name: result for entry, result in zip(ENTRIES, results, strict=True)}


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.name for entry in ENTRIES])
def test_mock_and_temporal_agree(entry: Entry, outcomes: Mapping[str, Any]) -> None:
    mock, mock_status, temporal, temporal_status, _ = outcomes[entry.name]
    wrong = mismatches(
        in_comparable_order(entry, mock.as_dict()), in_comparable_order(entry, entry.expected)
    )
    assert not wrong, f"mock differs from the expected AWS outcome:\n{render(wrong)}"
    mock_fields = in_comparable_order(entry, without_identity(mock, mock_status))
    temporal_fields = in_comparable_order(entry, without_identity(temporal, temporal_status))
    differing = {
        field: {"mock": mock_fields[field], "temporal": temporal_fields[field]}
        for field in COMPARED
        if canonical(mock_fields[field]) != canonical(temporal_fields[field])
    }
    assert temporal.state == mock.state
    assert not differing, f"the engines disagree:\n{render(differing)}"


@pytest.mark.asyncio(loop_scope="module")
async def test_every_temporal_history_replays_deterministically(
    outcomes: Mapping[str, Any],
) -> None:
    replayer = Replayer(workflows=[AslWorkflow], workflow_runner=asl_sandbox_runner())
    histories = [result[4] for result in outcomes.values()]

    async def each() -> AsyncIterator[Any]:
        for history in histories:
            yield history

    replayed = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    failures = {run_id: repr(error) for run_id, error in replayed.replay_failures.items()}
    assert len(histories) == len(ENTRIES)
    assert failures == {}
