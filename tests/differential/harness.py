"""Run one ASL definition on the mock engine, on moto and on Temporal, and reduce
each run to the facts the differential tests compare.

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
  fixed identity.

Causes of service errors carry a random request id on moto (and on AWS):
:func:`normalise` replaces it, in causes and in outputs, with ``<request-id>``.
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
    "load_corpus",
    "normalise",
    "outcome_of",
    "run_on_mock",
    "run_on_moto",
    "run_on_temporal",
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


MOCK_TASKS: Mapping[str, Callable[[Any], Awaitable[Any]]] = {
    "arn:aws:states:::dynamodb:getItem": _dynamodb_get_item,
    "arn:aws:states:::aws-sdk:sts:getCallerIdentity": _sts_get_caller_identity,
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
            )
        )
    return entries


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


async def run_on_temporal(provider: Provider, entry: Entry) -> ExecutionStatus:
    """Run ``entry`` once as ASL on Temporal through ``provider`` (which hosts the ASL
    worker with :data:`MOCK_TASKS`); final status with history."""
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
