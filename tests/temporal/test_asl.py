"""Amazon States Language on Temporal: how the interpreter workflow maps onto Temporal.

The definitions run on the session's ASL worker (``asl_worker``: a provider
given the handlers of ``asl_handlers``, in its own thread); each test drives
them through a provider that hosts no worker, as a control plane does. Where
behaviour is compared, the same definition and handlers also run on the mock
engine.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
import pytest_asyncio
from temporal import sandbox_probe
from temporal.asl_handlers import CALLS, FAILURES_LEFT, HANDLERS, tokens_of
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, Worker

from landlord_workflow import ExecutionInput, ExecutionState, ExecutionStatus, WorkflowSpec
from landlord_workflow.errors import ProviderError, TaskTokenError
from landlord_workflow.providers.mock import MockProvider, VirtualClock
from landlord_workflow.providers.temporal import TemporalProvider
from landlord_workflow.providers.temporal._asl_activities import AslActivities
from landlord_workflow.providers.temporal._asl_wire import (
    LIVENESS_CAUSE,
    TASK_ACTIVITY,
    WORKFLOW_TYPE,
    seeded_random,
)
from landlord_workflow.providers.temporal._asl_workflow import AslWorkflow
from landlord_workflow.providers.temporal._worker import asl_sandbox_runner
from landlord_workflow.testing._conformance import wait_until_terminal
from landlord_workflow.testing._temporal import LocalTemporal

pytestmark = [pytest.mark.asyncio, pytest.mark.temporal]


@pytest_asyncio.fixture
async def provider(local_temporal: LocalTemporal, asl_worker: str) -> AsyncIterator[Any]:
    async with local_temporal.provider(task_queue=asl_worker) as provider:
        yield provider


def task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, **fields}


def chain(*states: tuple[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A definition running ``states`` in order."""
    body: dict[str, Any] = {}
    for index, (name, state) in enumerate(states):
        step = dict(state)
        if step["Type"] not in ("Succeed", "Fail", "Choice") and "Next" not in step:
            if index + 1 < len(states):
                step["Next"] = states[index + 1][0]
            else:
                step["End"] = True
        body[name] = step
    return {"StartAt": states[0][0], "States": body}


async def start(
    provider: TemporalProvider,
    definition: Mapping[str, Any],
    payload: Any = None,
    *,
    name: str | None = None,
    **spec_fields: Any,
) -> tuple[str, str]:
    """Create a workflow of ``definition`` and start it (as ``name``, else a fresh name);
    (execution id, execution name)."""
    spec = WorkflowSpec(
        workflow_id=f"asl-{uuid.uuid4().hex[:12]}",
        provider_type="temporal",
        name="ASL on Temporal",
        definition=definition,
        **spec_fields,
    )
    await provider.create_workflow(spec)
    name = name or f"run-{uuid.uuid4().hex[:10]}"
    started = await provider.start_execution(
        spec.workflow_id, ExecutionInput(input=payload or {"tenant": "t-1"}, execution_name=name)
    )
    return started.execution_id, name


async def run(
    provider: TemporalProvider, definition: Mapping[str, Any], payload: Any = None
) -> tuple[ExecutionStatus, str]:
    """Run ``definition`` to its end; the final status with history, and the execution name."""
    execution_id, name = await start(provider, definition, payload)
    await wait_until_terminal(provider, execution_id)
    return await provider.get_execution_status(execution_id, include_history=True), name


async def run_on_mock(definition: Mapping[str, Any], payload: Any = None) -> ExecutionStatus:
    """The same definition and handlers on the mock engine (simulated time)."""
    clock = VirtualClock(start=datetime(2024, 6, 1, tzinfo=UTC))
    async with MockProvider(task_handlers=HANDLERS, clock=clock) as mock:
        spec = WorkflowSpec(
            workflow_id=f"mock-{uuid.uuid4().hex[:12]}",
            provider_type="mock",
            name="ASL on the mock",
            definition=definition,
        )
        await mock.create_workflow(spec)
        started = await mock.start_execution(
            spec.workflow_id,
            ExecutionInput(
                input=payload or {"tenant": "t-1"}, execution_name=f"mock-{uuid.uuid4().hex[:8]}"
            ),
        )
        async for status in mock.watch_execution(started.execution_id):
            if status.state.is_terminal:
                break
        return await mock.get_execution_status(started.execution_id, include_history=True)


def shape(status: ExecutionStatus) -> dict[str, Any]:
    """What two engines must agree on: the outcome, the top-level events in order, and
    the events of every state.

    Events of concurrent branches and iterations interleave by timing (on AWS
    too: its recorded histories differ from run to run), so the events of a
    state that runs in several branches or iterations are compared as a
    multiset.
    """
    error = status.error
    top_level: list[tuple[str, Any, Any]] = []
    per_state: dict[str | None, list[tuple[str, Any]]] = {}
    depth = 0
    for event in status.history:
        kind, state, raw = event.type, event.details.get("state"), event.details.get("raw_type")
        if kind == "StateExited":
            depth -= 1
        if depth == 0:
            top_level.append((kind, state, raw))
        if kind == "StateEntered":
            depth += 1
        per_state.setdefault(state, []).append((kind, raw))
    return {
        "state": status.state,
        "output": status.output,
        "error": None if error is None else (error.code, error.cause, error.failed_at),
        "top_level": top_level,
        "events": {state: sorted(events) for state, events in per_state.items()},
    }


async def raw_history(provider: TemporalProvider, status: ExecutionStatus) -> WorkflowHistory:
    handle = provider.client.get_workflow_handle(
        str(status.metadata["temporal_workflow_id"]), run_id=str(status.metadata["run_id"])
    )
    return await handle.fetch_history()


async def assert_replays(provider: TemporalProvider, status: ExecutionStatus) -> None:
    """The run's Temporal history replays on the interpreter workflow: it is deterministic."""
    replayer = Replayer(workflows=[AslWorkflow], workflow_runner=asl_sandbox_runner())
    await replayer.replay_workflow(await raw_history(provider, status))


def of_type(history: WorkflowHistory, event_type: int) -> list[Any]:
    return [event for event in history.events if event.event_type == event_type]


# -- Tasks: activities calling the mock's handlers, retried by the ASL rules ------------------


async def test_tasks_retry_by_the_asl_rules_and_temporal_tries_each_activity_once(
    provider: TemporalProvider,
) -> None:
    definition = chain(
        ("Prepare", task("prepare", ResultPath="$.prepared")),
        (
            "Flaky",
            task(
                "flaky",
                Retry=[
                    {"ErrorEquals": ["Tenant.NotReady"], "IntervalSeconds": 1, "MaxAttempts": 2}
                ],
                ResultPath="$.flaky",
            ),
        ),
    )
    name = f"run-{uuid.uuid4().hex[:10]}"
    FAILURES_LEFT[name] = 1
    execution_id, _ = await start(provider, definition, name=name)
    await wait_until_terminal(provider, execution_id)
    status = await provider.get_execution_status(execution_id, include_history=True)

    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == {
        "tenant": "t-1",
        "prepared": {"tenant": "t-1", "prepared": True},
        "flaky": "done",
    }
    assert (CALLS[("prepare", name)], CALLS[("flaky", name)]) == (1, 2)
    history = await raw_history(provider, status)
    scheduled = of_type(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    assert [e.activity_task_scheduled_event_attributes.activity_type.name for e in scheduled] == [
        TASK_ACTIVITY
    ] * 3
    assert all(
        e.activity_task_scheduled_event_attributes.retry_policy.maximum_attempts == 1
        for e in scheduled
    ), "Temporal never retries a Task by itself"
    started = of_type(history, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    assert [e.activity_task_started_event_attributes.attempt for e in started] == [1, 1, 1]
    timers = of_type(history, EventType.EVENT_TYPE_TIMER_STARTED)
    assert [t.timer_started_event_attributes.start_to_fire_timeout.seconds for t in timers] == [1]
    kinds = [(e.type, e.details.get("state")) for e in status.history if e.type.startswith("Task")]
    assert kinds == [("TaskFailed", "Flaky"), ("TaskRetried", "Flaky")]


async def test_a_task_past_its_timeout_fails_with_states_timeout_as_on_the_mock(
    provider: TemporalProvider,
) -> None:
    definition = chain(
        (
            "Hang",
            task(
                "hang",
                TimeoutSeconds=1,
                Catch=[{"ErrorEquals": ["States.Timeout"], "Next": "Caught"}],
            ),
        ),
        ("Caught", {"Type": "Pass"}),
    )
    on_temporal, _ = await run(provider, definition)
    on_mock = await run_on_mock(definition)
    assert on_temporal.state is ExecutionState.SUCCEEDED
    assert on_temporal.output == {"Error": "States.Timeout", "Cause": ""}
    assert shape(on_temporal) == shape(on_mock)


async def test_waits_are_durable_timers_and_moving_between_states_makes_none(
    provider: TemporalProvider,
) -> None:
    definition = chain(
        ("One", {"Type": "Pass"}),
        ("Two", {"Type": "Pass"}),
        ("Hold", {"Type": "Wait", "Seconds": 1}),
        ("Three", {"Type": "Pass"}),
        ("Four", {"Type": "Succeed"}),
    )
    status, _ = await run(provider, definition)
    assert status.state is ExecutionState.SUCCEEDED
    history = await raw_history(provider, status)
    timers = of_type(history, EventType.EVENT_TYPE_TIMER_STARTED)
    assert [t.timer_started_event_attributes.start_to_fire_timeout.seconds for t in timers] == [1]
    assert not of_type(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)


async def test_the_history_is_the_interpreters_as_on_the_mock(provider: TemporalProvider) -> None:
    """Contract types, AWS's raw types and state names, branch and iteration states
    included, event for event as on the mock."""
    definition = chain(
        ("Prepare", task("prepare", ResultPath="$.prepared")),
        (
            "Fan",
            {
                "Type": "Parallel",
                "Branches": [
                    chain(("Left", task("prepare"))),
                    chain(("Right", {"Type": "Pass", "Result": 2})),
                ],
                "ResultPath": "$.fan",
            },
        ),
        (
            "Each",
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": chain(("Item", task("finish"))),
                "ResultPath": "$.each",
            },
        ),
        ("Break", task("explode", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Done"}])),
        ("Done", {"Type": "Succeed"}),
    )
    payload = {"tenant": "t-1", "items": [1, 2]}
    on_temporal, _ = await run(provider, definition, payload)
    on_mock = await run_on_mock(definition, payload)
    assert on_temporal.state is ExecutionState.SUCCEEDED
    assert shape(on_temporal) == shape(on_mock)
    await assert_replays(provider, on_temporal)


async def test_parallel_branches_and_map_iterations_run_at_the_same_time(
    provider: TemporalProvider,
) -> None:
    """Each branch (and iteration) waits until all three are running: only concurrent
    branches can finish."""
    meet = task("rendezvous")
    definition = chain(
        (
            "Branches",
            {
                "Type": "Parallel",
                "Branches": [
                    chain((f"B{i}", {**meet, "Parameters": {"parties": 3, "index": i}}))
                    for i in range(3)
                ],
            },
        ),
        ("Reset", {"Type": "Pass", "Result": [0, 1, 2]}),
        (
            "Items",
            {
                "Type": "Map",
                "ItemSelector": {"parties": 6, "index.$": "$$.Map.Item.Value"},
                "ItemProcessor": chain(("Item", meet)),
            },
        ),
    )
    status, _ = await run(provider, definition)
    assert status.state is ExecutionState.SUCCEEDED, status.error
    assert status.output == [0, 1, 2]


async def test_a_fail_state_ends_the_execution_with_its_error_cause_and_state(
    provider: TemporalProvider,
) -> None:
    definition = chain(
        ("Prepare", task("prepare")),
        ("Stop", {"Type": "Fail", "Error": "Tenant.Refused", "Cause": "over quota"}),
    )
    status, _ = await run(provider, definition)
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert (status.error.code, status.error.cause, status.error.failed_at) == (
        "Tenant.Refused",
        "over quota",
        "Stop",
    )
    assert status.output is None


# -- callbacks: .waitForTaskToken as a signal ------------------------------------------------


CALLBACK = task(
    "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    Parameters={"QueueUrl": "approvals", "MessageBody": {"token.$": "$$.Task.Token"}},
    ResultPath="$.answer",
)


async def test_a_callback_task_waits_for_send_task_success_and_its_token_closes(
    provider: TemporalProvider,
) -> None:
    definition = chain(("Approve", CALLBACK))
    execution_id, name = await start(provider, definition)
    (token,) = await tokens_of(name)
    assert token.startswith("temporal-task:default:")
    await provider.send_task_heartbeat(token)
    await provider.send_task_success(token, {"approved": True})
    status = await wait_until_terminal(provider, execution_id)
    assert status.state is ExecutionState.SUCCEEDED
    assert status.output == {"tenant": "t-1", "answer": {"approved": True}}
    await assert_replays(provider, status)
    with pytest.raises(TaskTokenError):
        await provider.send_task_success(token, {"approved": True})
    async with provider_without_memory(provider) as other:
        with pytest.raises(TaskTokenError, match="ended"):
            await other.send_task_failure(token, "Late")


def provider_without_memory(provider: TemporalProvider) -> TemporalProvider:
    """Another provider on the same server and namespace (it answered nothing)."""
    return TemporalProvider(client=provider.client, task_queue=provider.task_queue)


async def test_unknown_and_foreign_tokens_are_refused_without_touching_the_execution(
    provider: TemporalProvider,
) -> None:
    execution_id, name = await start(provider, chain(("Approve", CALLBACK)))
    (token,) = await tokens_of(name)
    for bad in (
        token.rsplit("#", 1)[0] + "#9.unknown",  # a task of this run that never existed
        token.replace("temporal-task:default:", "temporal-task:elsewhere:"),  # namespace
        "AAAAKgAAAAIAAAAAAAAAAf",  # not ours at all
    ):
        with pytest.raises(TaskTokenError):
            await provider.send_task_success(bad, {})
    assert (await provider.get_execution_status(execution_id)).state is ExecutionState.RUNNING
    await provider.send_task_failure(token, "Tenant.Rejected", "by the approver")
    status = await wait_until_terminal(provider, execution_id)
    assert status.error is not None
    assert (status.error.code, status.error.cause, status.error.failed_at) == (
        "Tenant.Rejected",
        "by the approver",
        "Approve",
    )


@pytest.mark.parametrize(
    ("limit", "error"),
    # A missed heartbeat is recorded as States.Timeout, as on AWS.
    [("TimeoutSeconds", "States.Timeout"), ("HeartbeatSeconds", "States.Timeout")],
)
async def test_a_callback_not_answered_in_time_fails_the_task_and_closes_its_token(
    provider: TemporalProvider, limit: str, error: str
) -> None:
    execution_id, name = await start(provider, chain(("Approve", {**CALLBACK, limit: 1})))
    (token,) = await tokens_of(name)
    status = await wait_until_terminal(provider, execution_id)
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert (status.error.code, status.error.failed_at) == (error, "Approve")
    with pytest.raises(TaskTokenError):
        await provider.send_task_heartbeat(token)


# -- child executions ------------------------------------------------------------------------


async def test_a_nested_execution_is_a_child_workflow_and_an_execution_of_its_own(
    provider: TemporalProvider,
) -> None:
    child = WorkflowSpec(
        workflow_id=f"child-{uuid.uuid4().hex[:10]}",
        provider_type="temporal",
        name="child",
        definition=chain(("Work", task("prepare"))),
    )
    await provider.create_workflow(child)
    arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{child.workflow_id}"
    definition = chain(
        (
            "Sync2",
            task(
                "arn:aws:states:::states:startExecution.sync:2",
                Parameters={"StateMachineArn": arn, "Name": "nested", "Input": {"n": 1}},
                ResultSelector={"output.$": "$.Output", "name.$": "$.Name"},
                ResultPath="$.sync2",
            ),
        ),
        (
            "Sync",
            task(
                "arn:aws:states:::states:startExecution.sync",
                Parameters={"StateMachineArn": arn, "Input": {"n": 2}},
                ResultSelector={"output.$": "$.Output"},
                ResultPath="$.sync",
            ),
        ),
        (
            "Missing",
            task(
                "arn:aws:states:::states:startExecution",
                Parameters={"StateMachineArn": f"{arn}-gone"},
                Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Done", "ResultPath": "$.missing"}],
            ),
        ),
        ("Done", {"Type": "Pass"}),
    )
    status, _ = await run(provider, definition)
    assert status.state is ExecutionState.SUCCEEDED, status.error
    assert status.output["sync2"] == {"output": {"n": 1, "prepared": True}, "name": "nested"}
    assert status.output["sync"] == {"output": '{"n":2,"prepared":true}'}
    assert status.output["missing"]["Error"] == "StepFunctions.StateMachineDoesNotExistException"
    nested = await provider.get_execution_status(f"temporal:default:{child.workflow_id}/nested")
    assert (nested.state, nested.input, nested.output) == (
        ExecutionState.SUCCEEDED,
        {"n": 1},
        {"n": 1, "prepared": True},
    )
    history = await raw_history(provider, status)
    children = of_type(history, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    first = children[0].start_child_workflow_execution_initiated_event_attributes
    assert first.workflow_id == f"{child.workflow_id}/nested"
    await assert_replays(provider, status)


async def test_each_item_of_a_distributed_map_runs_as_a_child_workflow(
    provider: TemporalProvider,
) -> None:
    definition = chain(
        (
            "Spread",
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"item.$": "$$.Map.Item.Value"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    **chain(("Item", task("prepare"))),
                },
            },
        )
    )
    status, _ = await run(provider, definition, {"items": ["a", "b", "c"]})
    assert status.state is ExecutionState.SUCCEEDED, status.error
    assert status.output == [{"item": i, "prepared": True} for i in "abc"]
    history = await raw_history(provider, status)
    children = of_type(history, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    assert [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_type.name
        for e in children
    ] == [WORKFLOW_TYPE] * 3


# -- redrive: a new run from the interpreter's checkpoint --------------------------------------


async def test_redrive_resumes_at_the_failed_state_and_never_reruns_completed_tasks(
    provider: TemporalProvider,
) -> None:
    definition = chain(
        ("Prepare", task("prepare", ResultPath="$.prepared")),
        (
            "Both",
            {
                "Type": "Parallel",
                "Branches": [chain(("Done", task("finish"))), chain(("Flaky", task("flaky")))],
                "ResultPath": "$.both",
            },
        ),
        ("Finish", task("finish", ResultPath="$.finished")),
    )
    name = f"run-{uuid.uuid4().hex[:10]}"
    FAILURES_LEFT[name] = 1
    execution_id, _ = await start(provider, definition, name=name)
    failed = await wait_until_terminal(provider, execution_id)
    assert failed.state is ExecutionState.FAILED
    assert failed.error is not None
    assert (failed.error.code, failed.error.failed_at) == ("Tenant.NotReady", "Flaky")

    redriven = await provider.redrive_execution(execution_id)
    assert redriven.execution_id == execution_id
    assert redriven.message == "redriven from Both"
    final = await wait_until_terminal(provider, execution_id)
    assert final.state is ExecutionState.SUCCEEDED, final.error
    assert final.output["both"] == [{"ok": True}, "done"]
    assert CALLS[("prepare", name)] == 1, "a completed Task never runs again"
    assert CALLS[("finish", name)] == 2, "the finished branch kept its output (1 + Finish)"
    assert CALLS[("flaky", name)] == 2
    assert final.input == {"tenant": "t-1"}
    assert final.start_time == failed.start_time
    assert final.metadata["redrive_count"] == 1
    new_run = await raw_history(provider, final)
    scheduled = of_type(new_run, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    assert len(scheduled) == 2, "the new run schedules only Flaky and Finish"
    full = await provider.get_execution_status(execution_id, include_history=True)
    kinds = [event.type for event in full.history]
    assert kinds.count("ExecutionFailed") == 1
    assert kinds.index("ExecutionRedriven") > kinds.index("ExecutionFailed")
    with pytest.raises(ProviderError, match="succeeded"):
        await provider.redrive_execution(execution_id)


@pytest.mark.parametrize("ending", ["stopped", "timed out"])
async def test_a_stopped_or_timed_out_execution_is_redriven_from_the_state_it_was_in(
    provider: TemporalProvider, ending: str
) -> None:
    definition = chain(("Prepare", task("prepare")), ("Hang", task("hang")))
    fields = {"timeout": timedelta(seconds=2)} if ending == "timed out" else {}
    execution_id, name = await start(provider, definition, **fields)
    with anyio.fail_after(15):
        while CALLS[("hang", name)] < 1:
            await anyio.sleep(0.02)
    if ending == "stopped":
        await provider.stop_execution(execution_id, "pause")
    ended = await wait_until_terminal(provider, execution_id)
    assert ended.state is (
        ExecutionState.CANCELLED if ending == "stopped" else ExecutionState.TIMED_OUT
    )

    redriven = await provider.redrive_execution(execution_id)
    assert redriven.message == "redriven from Hang"
    with anyio.fail_after(15):
        while CALLS[("hang", name)] < 2:
            await anyio.sleep(0.02)
    assert CALLS[("prepare", name)] == 1
    await provider.stop_execution(execution_id, "done")
    status = await wait_until_terminal(provider, execution_id)
    assert status.state is ExecutionState.CANCELLED
    assert status.error is not None
    assert status.error.cause == "done"
    history = (await provider.get_execution_status(execution_id, include_history=True)).history
    ends = [e.details["raw_type"] for e in history if e.type.startswith("Execution")]
    first_end = "ExecutionAborted" if ending == "stopped" else "ExecutionTimedOut"
    assert ends == ["ExecutionStarted", first_end, "ExecutionRedriven", "ExecutionAborted"]


# -- limits ---------------------------------------------------------------------------------------


async def test_the_history_limit_counts_every_event_as_the_core_does(
    provider: TemporalProvider,
) -> None:
    """A loop of Pass and Choice states ends at AWS's 25,000th event (12,500 states in
    one workflow task, in activations short enough for the deadlock detector)."""
    definition = {
        "StartAt": "Count",
        "States": {
            "Count": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
                "Next": "Again",
            },
            "Again": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericLessThan": 1_000_000, "Next": "Count"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    status, _ = await run(provider, definition, {"n": 0})
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.code == "States.Runtime"
    assert "maximum number of events" in (status.error.cause or "")
    history = await raw_history(provider, status)
    assert not of_type(history, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
    assert not of_type(history, EventType.EVENT_TYPE_TIMER_STARTED)


# -- a worker that dies mid-task ----------------------------------------------------------------

DYING_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from temporalio.client import Client
    from temporalio.worker import Replayer, Worker
    from landlord_workflow.providers.temporal._asl_activities import AslActivities

    async def stuck(payload):
        print("started", flush=True)
        await asyncio.Event().wait()

    async def nothing(workflow_id, arn):
        raise AssertionError("no nested executions here")

    async def main(target, task_queue):
        client = await Client.connect(target)
        tasks = AslActivities(task_handlers={"work": stuck}, resolve=nothing)
        async with Worker(client, task_queue=task_queue, activities=tasks.definitions):
            print("ready", flush=True)
            await asyncio.Event().wait()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def _line(stream: Any) -> str:
    data = b""
    while not data.endswith(b"\n"):
        data += await stream.receive(1)
    return data.decode().strip()


@pytest.mark.parametrize("declared", [False, True], ids=["liveness", "HeartbeatSeconds"])
async def test_a_worker_that_dies_mid_task_is_noticed_and_the_task_retried_by_its_rules(
    local_temporal: LocalTemporal, declared: bool
) -> None:
    """The process running a Task is killed: the missed heartbeats fail the Task with
    ``States.Timeout`` (as AWS records a missed heartbeat), its ``States.HeartbeatTimeout``
    Retry rule matches, and runs it again on another worker."""
    task_queue = f"dying-{uuid.uuid4().hex[:8]}"
    client = await local_temporal.connect()
    state = task(
        "work",
        Retry=[{"ErrorEquals": ["States.HeartbeatTimeout"], "IntervalSeconds": 1}],
        **({"HeartbeatSeconds": 1} if declared else {}),
    )

    async def done(payload: Any) -> str:
        return "done"

    async def nothing(workflow_id: str, arn: str) -> dict[str, Any]:
        raise AssertionError("no nested executions here")

    workflows_only = Worker(
        client, task_queue=task_queue, workflows=[AslWorkflow], workflow_runner=asl_sandbox_runner()
    )
    async with (
        workflows_only,
        local_temporal.provider(
            task_queue=task_queue, task_liveness_timeout=timedelta(seconds=1)
        ) as provider,
        await anyio.open_process(
            [sys.executable, "-c", DYING_WORKER, local_temporal.target, task_queue]
        ) as dying,
    ):
        assert dying.stdout is not None
        with anyio.fail_after(30):
            assert await _line(dying.stdout) == "ready"
            execution_id, _ = await start(provider, chain(("Work", state)))
            assert await _line(dying.stdout) == "started"
        dying.kill()
        await dying.wait()
        tasks = AslActivities(task_handlers={"work": done}, resolve=nothing)
        async with Worker(client, task_queue=task_queue, activities=tasks.definitions):
            final = await wait_until_terminal(provider, execution_id)
            status = await provider.get_execution_status(execution_id, include_history=True)
    assert final.state is ExecutionState.SUCCEEDED, final.error
    assert final.output == "done"
    failures = [
        (e.details["error"], e.details.get("cause"))
        for e in status.history
        if e.type == "TaskFailed"
    ]
    assert failures == [("States.Timeout", None if declared else LIVENESS_CAUSE)]
    assert [e.type for e in status.history].count("TaskRetried") == 1


# -- the sandbox --------------------------------------------------------------------------------


async def test_the_interpreter_core_imports_and_runs_inside_the_sandbox_unpassed(
    local_temporal: LocalTemporal,
) -> None:
    """JSONPath, JSONata (jlens), intrinsics, Parallel, Map and a Wait, with the core
    imported by the sandbox under its default restrictions (no passthrough)."""
    task_queue = f"probe-{uuid.uuid4().hex[:8]}"
    definition = chain(
        (
            "Ids",
            {
                "Type": "Pass",
                "Parameters": {"id.$": "States.UUID()", "n.$": "States.MathAdd($.n, 1)"},
            },
        ),
        (
            "Fan",
            {
                "Type": "Parallel",
                "Branches": [chain(("A", {"Type": "Pass", "Result": 1})), chain(("B", task("x")))],
                "ResultPath": "$.fan",
            },
        ),
        ("Hold", {"Type": "Wait", "Seconds": 1}),
        (
            "Shape",
            {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": "{% {'n': $states.input.n, 'fan': $states.input.fan, "
                "'at': $now() != '', 'r': $random() < 1} %}",
            },
        ),
    )
    client = await local_temporal.connect()
    async with Worker(client, task_queue=task_queue, workflows=[sandbox_probe.SandboxProbe]):
        result = await client.execute_workflow(
            "SandboxProbe",
            args=[definition, {"n": 1}],
            id=f"probe-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
    assert result["error"] is None
    assert result["output"] == {
        "n": 2,
        "fan": [1, {"id": result["output"]["fan"][1]["id"], "n": 2}],
        "at": True,
        "r": True,
    }
    assert result["entered"] == ["Ids", "Fan", "A", "B", "Hold", "Shape"]


# -- the worker model and randomness ------------------------------------------------------------


async def test_a_provider_given_handlers_hosts_the_asl_worker_and_leaves_nothing_running(
    local_temporal: LocalTemporal,
) -> None:
    """With a seed, the run's randomness is the seeded stream of its execution."""
    task_queue = f"hosted-{uuid.uuid4().hex[:8]}"
    definition = chain(
        ("Prepare", task("prepare")),
        ("Id", {"Type": "Pass", "Parameters": {"id.$": "States.UUID()"}}),
    )
    provider = local_temporal.provider(
        task_queue=task_queue, task_handlers=HANDLERS, random_seed=42
    )
    async with provider:
        assert provider.hosts_worker
        status, _ = await run(provider, definition)
    assert status.state is ExecutionState.SUCCEEDED, status.error
    # The interpreter draws once for the Task's request id, then once for States.UUID.
    source = seeded_random(42, f"{status.execution_id}:0")
    source.getrandbits(128)
    assert status.output == {"id": str(uuid.UUID(int=source.getrandbits(128), version=4))}
    assert not [t for t in asyncio.all_tasks() if "temporal-worker" in t.get_name()]


@pytest.mark.asyncio
async def test_an_execution_that_timed_out_before_any_worker_ran_it_reports_it(
    local_temporal: LocalTemporal,
) -> None:
    """No worker polls this queue: the run closes before its workflow ever ran."""
    async with local_temporal.provider(task_queue=f"nobody-{uuid.uuid4().hex[:8]}") as lonely:
        spec = WorkflowSpec(
            workflow_id=f"never-{uuid.uuid4().hex[:8]}",
            provider_type="temporal",
            name="never ran",
            definition={"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            timeout=timedelta(seconds=1),
        )
        await lonely.create_workflow(spec)
        started = await lonely.start_execution(spec.workflow_id, ExecutionInput(input={}))
        final = await wait_until_terminal(lonely, started.execution_id, timeout=15)
        assert final.state is ExecutionState.TIMED_OUT
        detailed = await lonely.get_execution_status(started.execution_id, include_history=True)
        assert [event.type for event in detailed.history] == [
            "ExecutionStarted",
            "ExecutionTimedOut",
        ]
        with pytest.raises(ProviderError, match="ended before it began"):
            await lonely.redrive_execution(started.execution_id)
