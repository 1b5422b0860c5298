"""Shared pieces of the benchmarks: the workflows, timing helpers, result records.

Every figure is either a count or a ratio against a baseline measured in the
same run. Timed runs of a subject and its baseline are interleaved
(baseline, subject, baseline, subject, ...) and summarised by their medians,
so that load from other processes on the machine hits both alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from landlord_workflow import ExecutionState, WorkflowSpec
from landlord_workflow._provider import SupportsListExecutions
from landlord_workflow.testing._moto import FAKE_ACCOUNT_ID

if TYPE_CHECKING:
    from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
    from landlord_workflow.testing._moto import LocalStepFunctions

T = TypeVar("T")

SQS_SEND = "arn:aws:states:::sqs:sendMessage"
"""The Task resource of the benchmark workflow.

moto's ASL interpreter runs this service integration for real: it sends the
message to moto's own SQS through ``MOTO_PORT``. (Lambda tasks would need
Docker.) The mock engine has no handler for it, so its Task returns the
task input after ``default_task_duration`` (0 s).
"""


def five_state_definition(queue_url: str) -> dict[str, Any]:
    """The benchmark workflow: Pass, Task, Pass, Task, Pass (5 states).

    The Tasks send a message to ``queue_url`` and discard the answer
    (``ResultPath: null``), so both engines produce the same output.
    """
    return {
        "Comment": "landlord-workflow benchmark: 5 states, Pass and Task",
        "StartAt": "Prepare",
        "States": {
            "Prepare": {
                "Type": "Pass",
                "Result": {"plan": "small", "region": "eu-west-1"},
                "ResultPath": "$.prepared",
                "Next": "Notify",
            },
            "Notify": {
                "Type": "Task",
                "Resource": SQS_SEND,
                "Parameters": {"QueueUrl": queue_url, "MessageBody.$": "$.prepared"},
                "ResultPath": None,
                "Next": "Shape",
            },
            "Shape": {
                "Type": "Pass",
                "Parameters": {"tenant.$": "$.tenant", "plan.$": "$.prepared.plan"},
                "Next": "Announce",
            },
            "Announce": {
                "Type": "Task",
                "Resource": SQS_SEND,
                "Parameters": {"QueueUrl": queue_url, "MessageBody.$": "$.tenant"},
                "ResultPath": None,
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }


MERGES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("Reserve", "reserved", {"plan": "small", "region": "eu-west-1"}),
    ("Network", "network", {"vpc": "vpc-0a1b2c", "subnets": 3}),
    ("Database", "database", {"engine": "postgres", "version": "16"}),
    ("Dns", "dns", {"zone": "tenants.example.com", "ttl": 300}),
    ("Notify", "notified", {"channel": "email", "template": "welcome"}),
)
"""The five merges of the 5-state Pass workflow: (state, key, constant result)."""


def five_pass_definition() -> dict[str, Any]:
    """Five Pass states; each merges a constant ``Result`` into the data at ``$.<key>``."""
    states: dict[str, Any] = {}
    for index, (name, key, result) in enumerate(MERGES):
        state: dict[str, Any] = {"Type": "Pass", "Result": result, "ResultPath": f"$.{key}"}
        if index + 1 < len(MERGES):
            state["Next"] = MERGES[index + 1][0]
        else:
            state["End"] = True
        states[name] = state
    return {
        "Comment": "landlord-workflow benchmark: five JSON merges",
        "StartAt": MERGES[0][0],
        "States": states,
    }


def five_pass_jsonata_definition() -> dict[str, Any]:
    """The same five merges written in JSONata (``Output`` with ``$merge``)."""
    definition = five_pass_definition()
    definition["QueryLanguage"] = "JSONata"
    for name, key, result in MERGES:
        state = definition["States"][name]
        del state["Result"], state["ResultPath"]
        addition = json.dumps({key: result}, separators=(",", ":"))
        state["Output"] = f"{{% $merge([$states.input, {addition}]) %}}"
    return definition


def wait_definition(seconds: int) -> dict[str, Any]:
    """A workflow that runs ``seconds`` (one Wait state), then succeeds."""
    return {
        "StartAt": "Provisioning",
        "States": {
            "Provisioning": {"Type": "Wait", "Seconds": seconds, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }


def spec(workflow_id: str, provider_type: str, definition: dict[str, Any]) -> WorkflowSpec:
    """A WorkflowSpec for ``definition`` on ``provider_type``."""
    return WorkflowSpec(
        workflow_id=workflow_id,
        provider_type=provider_type,
        name=workflow_id,
        definition=definition,
    )


def tenant_input(number: int) -> dict[str, Any]:
    """A small execution input (44 bytes of compact JSON)."""
    return {"tenant": f"tenant-{number:06d}", "tier": "standard"}


async def any_running(provider: SupportsListExecutions, workflow_id: str) -> bool:
    """Whether ``workflow_id`` still has a running execution (stops at the first)."""
    running = provider.list_executions(workflow_id, state=ExecutionState.RUNNING)
    async with contextlib.aclosing(running):
        async for _ in running:
            return True
    return False


async def wait_until_idle(
    provider: SupportsListExecutions, workflow_id: str, tick_seconds: float
) -> None:
    """Ask the engine every ``tick_seconds`` until no execution runs.

    One API call per tick whatever the number of executions: polling the
    engine, not each execution, is the cheapest observer both engines share.
    """
    while await any_running(provider, workflow_id):  # noqa: ASYNC110 - polling is the point
        await asyncio.sleep(tick_seconds)


def moto_provider(engine: LocalStepFunctions) -> StepFunctionsProvider:
    """A provider bound to ``engine`` that knows its account (no STS call, no STS client)."""
    return engine.provider(account_id=FAKE_ACCOUNT_ID)


# -- timing ---------------------------------------------------------------------


async def per_call_us(
    call: Callable[[], Awaitable[object]],
    iterations: int,
    clock: Callable[[], float] = time.process_time,
) -> float:
    """Microseconds per awaited ``call()``, over ``iterations`` sequential calls.

    The default clock is this process's CPU time: for work that never waits
    on I/O it is the wall time without the slices other processes took.
    """
    start = clock()
    for _ in range(iterations):
        await call()
    return (clock() - start) / iterations * 1e6


async def alternating_latencies(
    cases: dict[str, Callable[[], Awaitable[object]]], rounds: int
) -> dict[str, list[float]]:
    """Wall-clock µs of single calls, the cases alternating call by call.

    For calls that wait on I/O: each round calls every case once (rotating
    the order), so a slow moment of the machine hits all cases alike; the
    median of the single-call times then ignores the outliers.
    """
    names = list(cases)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            await cases[name]()
            samples[name].append((time.perf_counter() - start) * 1e6)
    return samples


async def interleaved(
    cases: dict[str, Callable[[], Awaitable[T]]], repeats: int
) -> dict[str, list[T]]:
    """Run every case once per round, ``repeats`` rounds; the samples per case.

    The order within a round rotates, so no case always runs first.
    """
    names = list(cases)
    samples: dict[str, list[T]] = {name: [] for name in names}
    for round_number in range(repeats):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(await cases[name]())
    return samples


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off inside (a diagnostic: what the rest costs)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


def median(values: list[float]) -> float:
    """The median (a figure that one noisy sample does not move)."""
    return statistics.median(values)


# -- results --------------------------------------------------------------------


@dataclass
class Row:
    """One line of the printed table."""

    section: str
    figure: str
    value: str
    target: str = ""
    verdict: str = ""


@dataclass
class Results:
    """Figures (for JSON) and table rows (for people), filled by each section."""

    figures: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, key: str, value: Any) -> None:
        """Record one figure under ``key`` (``section.name``)."""
        self.figures[key] = value

    def row(self, section: str, figure: str, value: str) -> None:
        """A table line without a target."""
        self.rows.append(Row(section, figure, value))

    def target(
        self,
        name: str,
        *,
        section: str,
        figure: str,
        value: str,
        target: str,
        met: bool,
    ) -> None:
        """A table line checked against a target from the issue."""
        self.targets[name] = {"target": target, "met": met}
        self.rows.append(Row(section, figure, value, target, "met" if met else "MISSED"))


def fmt_ratio(value: float) -> str:
    """``2.31x``."""
    return f"{value:.2f}x" if value < 100 else f"{value:,.0f}x"


def fmt_rate(value: float) -> str:
    """``1,234 /s``."""
    return f"{value:,.1f} /s" if value < 100 else f"{value:,.0f} /s"


def fmt_bytes(value: float) -> str:
    """``1,234 B`` or ``12.3 MiB``."""
    if value >= 1024 * 1024:
        return f"{value / (1024 * 1024):,.1f} MiB"
    return f"{value:,.0f} B"
