"""Run one ASL definition on the mock engine, on moto and on Temporal, and reduce
each run to the facts the differential tests compare.

The corpus (``corpus/*.json``, 76 entries): 41 on the states, paths,
Choice rules, Retry/Catch, waits and intrinsics of the JSONPath core, and 35
on the rest of the language: Parallel (5: branches, branch failure, Catch,
nesting, Retry), Map (10: inline with ItemSelector and ``$$.Map.Item``, the
legacy Iterator/Parameters, Catch, failure, empty, concurrency and
``MaxConcurrencyPath``, nesting, Distributed over ItemsPath, two runtime
errors), variables (5: Assign, reads, Choice, Map/Parallel scopes, a
catcher's Assign), JSONPath (3: filters, slices, unions, wildcards,
recursive descent, ``$.[n]``, empty indefinite paths), intrinsics (6),
``TimeoutSecondsPath``/``HeartbeatSecondsPath`` and heartbeats (5) and Retry
with ``MaxDelaySeconds``/``JitterStrategy`` (1). Where moto departs from AWS
an entry's ``quirk`` asserts moto's outcome precisely, with the AWS
reference that decides it.

The mock runs on a :class:`VirtualClock` (waits and retry intervals cost no
wall time); moto and Temporal run in real time, so corpus waits and retry
intervals stay at 1 s.

Task states: moto cannot run Python, but it does run its service integrations
in-process against the moto server itself. The corpus uses resources whose
moto behaviour is deterministic, and :data:`MOCK_TASKS` gives the mock task
handlers that model the same environment (what the integration answers; the
interpreter's Retry/Catch/data flow around it is what gets compared):

* ``arn:aws:states:::lambda:invoke`` of a function that does not exist fails
  with ``Lambda.ResourceNotFoundException`` (as on AWS);
* ``arn:aws:states:::dynamodb:getItem`` on a table that does not exist fails
  with ``DynamoDB.ResourceNotFoundException`` (as on AWS);
* ``arn:aws:states:::aws-sdk:sts:getCallerIdentity`` succeeds with moto's
  fixed identity;
* ``arn:aws:states:::events:putEvents.waitForTaskToken`` puts the event on
  moto's default bus and then waits for a callback nobody sends, so
  ``TimeoutSeconds(Path)`` and ``HeartbeatSeconds(Path)`` run out as on AWS.

Causes of service errors carry a random request id on moto (and on AWS):
:func:`normalise` replaces it, in causes and in outputs, with ``<request-id>``.

Concurrency: AWS interleaves the events of Parallel branches and of Map
iterations in no fixed order (each engine has its own). An entry marked
``"concurrent": true`` has those events compared as a multiset: see
:func:`in_comparable_order`; everything around them keeps its order.

What moto cannot oracle (the reason the corpus is what it is):

* JSONata: moto 5.2.5 embeds LocalStack's interpreter with the JSONata
  engine stripped out, so it cannot evaluate a single JSONata expression.
  JSONata (``QueryLanguage``, ``Arguments``/``Output``/``Condition``,
  ``$states``) is covered by the AWS-recorded corpus (``tests/recorded``),
  not here.
* Reading a variable: moto evaluates every ``$name`` reference through that
  same missing engine, so a JSONPath state that reads a variable fails on
  moto with ``States.Runtime`` ``TypeError('NoneType' object is not
  callable)``. Entries that read variables carry that as a quirk (AWS
  reads them: ``tests/recorded/cases/assign__*.json``); ``Assign`` itself
  (evaluating and storing) agrees.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import attrs
from conftest import make_spec

from landlord_workflow import ExecutionInput, ExecutionStatus, Provider, WorkflowSpec
from landlord_workflow.providers.mock import MockProvider, TaskFailure, VirtualClock
from landlord_workflow.providers.stepfunctions import StepFunctionsProvider

__all__ = [
    "CORPUS_DIR",
    "EXECUTION_NAME",
    "MOCK_TASKS",
    "Entry",
    "Outcome",
    "in_comparable_order",
    "load_corpus",
    "normalise",
    "outcome_of",
    "run_on_mock",
    "run_on_moto",
    "run_on_temporal",
    "runs_concurrently",
]

CORPUS_DIR = Path(__file__).parent / "corpus"
EXECUTION_NAME = "differential-run"
"""Both engines run the same execution name (``$$.Execution.Name`` agrees)."""
ACCOUNT = "123456789012"
REGION = "us-east-1"
MOTO_POLL_SECONDS = 0.05
MOTO_DEADLINE_SECONDS = 20.0

_REQUEST_ID = re.compile(r"Request ID: [^;)]+")


def normalise(value: Any) -> Any:
    """``value`` with service request ids replaced by ``<request-id>``."""
    if isinstance(value, str):
        return _REQUEST_ID.sub("Request ID: <request-id>", value)
    if isinstance(value, Mapping):
        return {key: normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    return value


# ------------------------------------------------------------ mock handlers


async def _dynamodb_get_item(task_input: Any) -> Any:
    raise TaskFailure(
        "DynamoDB.ResourceNotFoundException",
        "Requested resource not found (Service: AmazonDynamoDBv2; Status Code: 400; "
        "Error Code: ResourceNotFoundException; Request ID: <request-id>; Proxy: null)",
    )


async def _sts_get_caller_identity(task_input: Any) -> Any:
    return {
        "Account": ACCOUNT,
        "Arn": f"arn:aws:sts::{ACCOUNT}:user/moto",
        "UserId": "AKIAIOSFODNN7EXAMPLE",
    }


async def _events_put_events(task_input: Any) -> Any:
    return {"Entries": [{"EventId": "11111111-2222-3333-4444-555555555555"}], "FailedEntryCount": 0}


MOCK_TASKS: Mapping[str, Callable[[Any], Awaitable[Any]]] = {
    "arn:aws:states:::dynamodb:getItem": _dynamodb_get_item,
    "arn:aws:states:::aws-sdk:sts:getCallerIdentity": _sts_get_caller_identity,
    "arn:aws:states:::events:putEvents.waitForTaskToken": _events_put_events,
}
"""Mock task handlers answering as moto's integrations do for the corpus resources.

(A missing Lambda function needs no handler: the mock fails the Task as AWS
does, ``Lambda.ResourceNotFoundException``.)"""


# ------------------------------------------------------------------- corpus


@attrs.frozen
class Entry:
    """One corpus file."""

    name: str
    definition: Mapping[str, Any]
    input: Any
    expected: Mapping[str, Any]
    note: str = ""
    quirk: Mapping[str, Any] | None = None
    concurrent: bool = False
    """Whether Parallel branches or Map iterations run side by side (see
    :func:`in_comparable_order`)."""


def load_corpus() -> list[Entry]:
    """Every ``corpus/*.json``, sorted by name."""
    entries = []
    for path in sorted(CORPUS_DIR.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        entries.append(
            Entry(
                name=path.stem,
                definition=raw["definition"],
                input=raw["input"],
                expected=raw.get("expected", {}),
                note=raw.get("note", ""),
                quirk=raw.get("quirk"),
                concurrent=raw.get("concurrent", False),
            )
        )
    return entries


def runs_concurrently(machine: Mapping[str, Any]) -> bool:
    """Whether ``machine`` (a definition, a branch or an item processor) has a
    Parallel state with two or more branches or a Map that may run two
    iterations at once (``MaxConcurrency`` other than 1), at any depth."""
    for state in machine["States"].values():
        if state["Type"] == "Parallel":
            if len(state["Branches"]) > 1 or any(map(runs_concurrently, state["Branches"])):
                return True
        elif state["Type"] == "Map":
            if state.get("MaxConcurrency") != 1:
                return True
            if runs_concurrently(state.get("ItemProcessor") or state["Iterator"]):
                return True
    return False


def _in_blocks(items: list[Any], nested: Callable[[Any], bool]) -> list[Any]:
    result: list[Any] = []
    block: list[Any] = []
    for item in [*items, None]:
        if item is not None and nested(item):
            block.append(item)
            continue
        if block:
            result.append(sorted(block, key=json.dumps))
            block = []
        if item is not None:
            result.append(item)
    return result


def in_comparable_order(entry: Entry, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` (outcome or expected fields) ready to compare for ``entry``.

    For a ``concurrent`` entry, every run of consecutive ``entered`` names and
    ``events`` that belong to states inside Parallel branches or Map
    iterations (names that are not top-level states) is sorted and becomes
    one list: which events happened is compared, not how the branches
    interleaved. Top-level states keep their order around those runs.
    """
    result = dict(fields)
    if not entry.concurrent:
        return result
    top_level = set(entry.definition["States"])
    if "entered" in result:
        result["entered"] = _in_blocks(list(result["entered"]), lambda name: name not in top_level)
    if "events" in result:
        result["events"] = _in_blocks(
            [list(event) for event in result["events"]], lambda event: event[1] not in top_level
        )
    return result


# ------------------------------------------------------------------ outcome


@attrs.frozen
class Outcome:
    """What the differential tests compare about one finished execution."""

    state: str
    output: Any
    error: str | None
    cause: str | None
    entered: list[str]
    events: list[list[Any]]
    """``[type, state]`` of every StateEntered/StateExited/TaskFailed/TaskRetried."""

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


_STATE_EVENTS = frozenset({"StateEntered", "StateExited", "TaskFailed", "TaskRetried"})


def outcome_of(status: ExecutionStatus) -> Outcome:
    """Reduce a final status (with history) to an :class:`Outcome`."""
    error = status.error
    return Outcome(
        state=status.state.value,
        output=normalise(status.output),
        error=None if error is None else error.code,
        cause=None if error is None else normalise(error.cause),
        entered=[e.details["state"] for e in status.history if e.type == "StateEntered"],
        events=[
            [e.type, e.details.get("state")] for e in status.history if e.type in _STATE_EVENTS
        ],
    )


def _spec(entry: Entry, provider_type: str) -> WorkflowSpec:
    return make_spec(
        entry.definition,
        workflow_id=f"diff-{entry.name}".replace("_", "-")[:80],
        provider_type=provider_type,
        name=entry.name,
    )


async def run_on_mock(entry: Entry) -> ExecutionStatus:
    """Run ``entry`` once on a fresh MockProvider (virtual clock); final status with history."""
    clock = VirtualClock(start=datetime(2024, 6, 1, tzinfo=UTC))
    async with MockProvider(clock=clock, task_handlers=MOCK_TASKS) as provider:
        spec = _spec(entry, provider.name)
        await provider.create_workflow(spec)
        started = await provider.start_execution(
            spec.workflow_id, ExecutionInput(input=entry.input, execution_name=EXECUTION_NAME)
        )
        async for status in provider.watch_execution(started.execution_id):
            if status.state.is_terminal:
                break
        return await provider.get_execution_status(started.execution_id, include_history=True)


async def run_on_moto(provider: StepFunctionsProvider, entry: Entry) -> ExecutionStatus:
    """Run ``entry`` once on moto through ``provider``; final status with history."""
    return await _run_polled(provider, entry)


async def run_on_temporal(provider: Provider, entry: Entry) -> ExecutionStatus:
    """Run ``entry`` once as ASL on Temporal through ``provider`` (which hosts the ASL
    worker with :data:`MOCK_TASKS`); final status with history."""
    return await _run_polled(provider, entry)


async def _run_polled(provider: Provider, entry: Entry) -> ExecutionStatus:
    """Create, start, poll the status until it is terminal; the final status with history."""
    spec = _spec(entry, provider.name)
    await provider.create_workflow(spec)
    started = await provider.start_execution(
        spec.workflow_id, ExecutionInput(input=entry.input, execution_name=EXECUTION_NAME)
    )
    with anyio.fail_after(MOTO_DEADLINE_SECONDS):
        while True:
            status = await provider.get_execution_status(started.execution_id)
            if status.state.is_terminal:
                break
            await anyio.sleep(MOTO_POLL_SECONDS)
    return await provider.get_execution_status(started.execution_id, include_history=True)
