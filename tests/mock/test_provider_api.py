"""MockProvider API: Step Functions parity (idempotency, names, limits), stop,
delete, redrive rules, retention, watch, list, faults and lifecycle."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest

from landlord_workflow import (
    ExecutionAlreadyExistsError,
    ExecutionInput,
    ExecutionNotFoundError,
    ExecutionState,
    InvalidSpecError,
    Provider,
    ProviderError,
    ProviderUnavailableError,
    SupportsListExecutions,
    SupportsRedrive,
    SupportsWatch,
    ThrottledError,
    WorkflowError,
    WorkflowNotFoundError,
)
from landlord_workflow.providers.mock import MockProvider, RealClock

pytestmark = pytest.mark.asyncio

QUICK = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
SLOW = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}


async def started(provider: MockProvider, make_spec: Any, definition: Any, **input_kw: Any) -> Any:
    await provider.create_workflow(make_spec(definition))
    return await provider.start_execution("wf", ExecutionInput(**input_kw))


async def test_mock_provider_implements_the_provider_and_capability_protocols() -> None:
    async with MockProvider() as provider:
        assert provider.name == "mock"
        assert isinstance(provider, Provider)
        assert isinstance(provider, SupportsRedrive)
        assert isinstance(provider, SupportsWatch)
        assert isinstance(provider, SupportsListExecutions)
        assert isinstance(provider.clock, RealClock)


# ------------------------------------------------------------- workflows


async def test_create_is_idempotent_and_a_changed_definition_updates(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    first = await provider.create_workflow(make_spec(QUICK))
    again = await provider.create_workflow(make_spec(QUICK))
    assert again.resource_ids == first.resource_ids
    assert again.created_at == first.created_at
    assert (first.message, again.message) == ("created", "unchanged")

    running = await provider.start_execution("wf", ExecutionInput(execution_name="old"))
    changed = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "new", "End": True}}}
    updated = await provider.create_workflow(make_spec(changed))
    assert updated.message == "updated"
    assert updated.resource_ids == first.resource_ids
    new = await provider.start_execution("wf", ExecutionInput(execution_name="new"))
    assert (await finish(provider, new.execution_id)).output == "new"
    assert (await finish(provider, running.execution_id)).output == {}


async def test_running_executions_keep_their_definition_after_an_update(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    before = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 10, "Next": "P"},
            "P": {"Type": "Pass", "Result": "old", "End": True},
        },
    }
    result = await started(provider, make_spec, before)
    after = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "new", "End": True}}}
    await provider.create_workflow(make_spec(after))
    assert (await finish(provider, result.execution_id)).output == "old"


async def test_delete_is_idempotent_and_start_after_delete_is_workflow_not_found(
    make_provider: Any, make_spec: Any
) -> None:
    provider = make_provider()
    await provider.create_workflow(make_spec(QUICK))
    await provider.delete_workflow("wf")
    await provider.delete_workflow("wf")
    await provider.delete_workflow("never-existed")
    with pytest.raises(WorkflowNotFoundError):
        await provider.start_execution("wf", ExecutionInput())


async def test_invalid_workflow_id_is_refused(make_provider: Any, make_spec: Any) -> None:
    provider = make_provider()
    with pytest.raises(InvalidSpecError) as caught:
        await provider.create_workflow(make_spec(QUICK, workflow_id="bad name"))
    assert caught.value.problems[0][0] == "workflow_id"


# ------------------------------------------------------------ idempotency


async def test_same_name_and_input_while_running_returns_the_same_execution(
    make_provider: Any, make_spec: Any
) -> None:
    provider = make_provider()
    first = await started(provider, make_spec, SLOW, input={"a": 1, "b": 2}, execution_name="x")
    again = await provider.start_execution(
        "wf", ExecutionInput(input={"b": 2, "a": 1}, execution_name="x")
    )
    assert again.execution_id == first.execution_id
    assert again.started_at == first.started_at


async def test_same_name_with_different_input_is_already_exists(
    make_provider: Any, make_spec: Any
) -> None:
    provider = make_provider()
    await started(provider, make_spec, SLOW, input={"a": 1}, execution_name="x")
    with pytest.raises(ExecutionAlreadyExistsError):
        await provider.start_execution("wf", ExecutionInput(input={"a": 2}, execution_name="x"))


async def test_same_name_after_the_execution_closed_is_already_exists(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    result = await started(provider, make_spec, QUICK, execution_name="x")
    await finish(provider, result.execution_id)
    with pytest.raises(ExecutionAlreadyExistsError):
        await provider.start_execution("wf", ExecutionInput(execution_name="x"))


async def test_generated_names_are_valid_and_unique(make_provider: Any, make_spec: Any) -> None:
    provider = make_provider()
    await provider.create_workflow(make_spec(QUICK))
    results = [await provider.start_execution("wf", ExecutionInput()) for _ in range(20)]
    names = set()
    for result in results:
        status = await provider.get_execution_status(result.execution_id)
        names.add(status.metadata["execution_name"])
        assert 1 <= len(status.metadata["execution_name"]) <= 80
    assert len(names) == 20


@pytest.mark.parametrize("name", ["", "x" * 81, "has space", "a/b", "tab\tname", "semi;colon"])
async def test_invalid_execution_names_are_refused(
    make_provider: Any, make_spec: Any, name: str
) -> None:
    provider = make_provider()
    await provider.create_workflow(make_spec(QUICK))
    with pytest.raises(InvalidSpecError) as caught:
        await provider.start_execution("wf", ExecutionInput(execution_name=name))
    assert caught.value.problems[0][0] == "execution_name"


async def test_eighty_character_name_is_accepted(make_provider: Any, make_spec: Any) -> None:
    provider = make_provider()
    result = await started(provider, make_spec, QUICK, execution_name="n" * 80)
    assert result.execution_id.endswith("n" * 80)


async def test_unknown_workflow_and_execution_raise_not_found(make_provider: Any) -> None:
    provider = make_provider()
    with pytest.raises(WorkflowNotFoundError):
        await provider.start_execution("nope", ExecutionInput())
    with pytest.raises(ExecutionNotFoundError):
        await provider.get_execution_status("mock:nope:x")
    with pytest.raises(ExecutionNotFoundError):
        await provider.stop_execution("mock:nope:x", "why")


# ----------------------------------------------------------------- limits


async def test_input_over_256_kib_is_refused_and_exactly_the_limit_is_accepted(
    make_provider: Any, make_spec: Any
) -> None:
    provider = make_provider()
    await provider.create_workflow(make_spec(SLOW))
    overhead = len('{"p":""}')
    at_limit = {"p": "x" * (262_144 - overhead)}
    await provider.start_execution("wf", ExecutionInput(input=at_limit))
    with pytest.raises(InvalidSpecError) as caught:
        await provider.start_execution("wf", ExecutionInput(input={"p": "x" * 262_144}))
    assert caught.value.problems[0][0] == "input"


async def test_output_over_the_limit_fails_with_data_limit_exceeded(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    async def big(data: Any) -> Any:
        return "x" * 300_000

    provider = make_provider(task_handlers={"big": big})
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "big", "End": True}}}
    result = await started(provider, make_spec, definition)
    status = await finish(provider, result.execution_id)
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert (status.error.code, status.error.failed_at) == ("States.DataLimitExceeded", "T")


async def test_history_event_cap_fails_the_execution(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    loop = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Next": "A"},
            "Never": {"Type": "Succeed"},
        },
    }
    # unreachable terminal states do not count: make one reachable via Choice
    loop["States"]["B"] = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Never"}],
        "Default": "A",
    }
    provider = make_provider()
    result = await started(provider, make_spec, loop)
    status = await finish(provider, result.execution_id)
    assert status.state is ExecutionState.FAILED
    assert status.error is not None
    assert status.error.code == "States.Runtime"
    assert "25000" in (status.error.cause or "")
    assert len(status.history) == 25_000


# ------------------------------------------------------------------- stop


async def test_stop_cancels_a_running_execution_and_is_idempotent(
    make_provider: Any, make_spec: Any
) -> None:
    provider = make_provider()
    result = await started(provider, make_spec, SLOW)
    await provider.stop_execution(result.execution_id, "operator abort")
    status = await provider.get_execution_status(result.execution_id, include_history=True)
    assert status.state is ExecutionState.CANCELLED
    assert status.error is not None
    assert status.error.cause == "operator abort"
    assert status.history[-1].type == "ExecutionCancelled"
    assert status.history[-1].details["raw_type"] == "ExecutionAborted"
    await provider.stop_execution(result.execution_id, "again")
    again = await provider.get_execution_status(result.execution_id, include_history=True)
    assert again == status


async def test_stopping_a_finished_execution_changes_nothing(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    result = await started(provider, make_spec, QUICK)
    before = await finish(provider, result.execution_id)
    await provider.stop_execution(result.execution_id, "too late")
    after = await provider.get_execution_status(result.execution_id, include_history=True)
    assert after == before
    assert after.state is ExecutionState.SUCCEEDED


# ----------------------------------------------------------------- redrive


async def test_redrive_of_succeeded_or_running_execution_is_not_redrivable(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    await provider.create_workflow(make_spec(SLOW, workflow_id="slow"))
    running = await provider.start_execution("slow", ExecutionInput())
    with pytest.raises(ProviderError, match="not redrivable"):
        await provider.redrive_execution(running.execution_id)
    done = await started(provider, make_spec, QUICK)
    await finish(provider, done.execution_id)
    with pytest.raises(ProviderError, match="not redrivable"):
        await provider.redrive_execution(done.execution_id)


async def test_redrive_of_a_cancelled_execution_resumes_the_interrupted_state(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    definition = {
        "StartAt": "Before",
        "States": {
            "Before": {"Type": "Pass", "Result": {"step": 1}, "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 60, "Next": "After"},
            "After": {"Type": "Pass", "End": True},
        },
    }
    result = await started(provider, make_spec, definition)
    while True:  # busy polling holds simulated time still: the Wait cannot end meanwhile
        current = await provider.get_execution_status(result.execution_id, include_history=True)
        if any(e.details.get("state") == "W" for e in current.history):
            break
    await provider.stop_execution(result.execution_id, "pause")
    await provider.redrive_execution(result.execution_id)
    final = await finish(provider, result.execution_id)
    assert final.state is ExecutionState.SUCCEEDED
    assert final.output == {"step": 1}
    entered = [e.details["state"] for e in final.history if e.type == "StateEntered"]
    assert entered == ["Before", "W", "W", "After"]
    assert final.metadata["redrive_count"] == 1


async def test_redrive_of_a_timed_out_execution_restarts_its_timeout(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    definition = {
        "StartAt": "W",
        "TimeoutSeconds": 100,
        "States": {"W": {"Type": "Wait", "SecondsPath": "$.wait", "End": True}},
    }
    await provider.create_workflow(make_spec(definition))
    result = await provider.start_execution("wf", ExecutionInput(input={"wait": 150}))
    assert (await finish(provider, result.execution_id)).state is ExecutionState.TIMED_OUT
    await provider.redrive_execution(result.execution_id)
    again = await finish(provider, result.execution_id)
    assert again.state is ExecutionState.TIMED_OUT
    assert again.metadata["redrive_count"] == 1
    assert [e.type for e in again.history].count("ExecutionTimedOut") == 2


# ---------------------------------------------------------- status/history


async def test_status_without_history_is_empty_and_with_history_is_complete(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    result = await started(provider, make_spec, QUICK, input={"k": "v"})
    await finish(provider, result.execution_id)
    cheap = await provider.get_execution_status(result.execution_id)
    full = await provider.get_execution_status(result.execution_id, include_history=True)
    assert cheap.history == ()
    assert [e.type for e in full.history] == [
        "ExecutionStarted",
        "StateEntered",
        "StateExited",
        "ExecutionSucceeded",
    ]
    assert [e.details["raw_type"] for e in full.history] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert cheap.input == {"k": "v"}
    assert cheap.metadata["redrive_count"] == 0


async def test_returned_values_are_fresh_copies(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    payload = {"nested": {"v": 1}}
    await provider.create_workflow(make_spec(SLOW))
    result = await provider.start_execution("wf", ExecutionInput(input=payload))
    payload["nested"]["v"] = 2  # caller mutation after the call
    status = await provider.get_execution_status(result.execution_id, include_history=True)
    assert status.input == {"nested": {"v": 1}}
    status.input["nested"]["v"] = 3
    status.history[0].details["input"]["nested"]["v"] = 4
    again = await provider.get_execution_status(result.execution_id, include_history=True)
    assert again.input == {"nested": {"v": 1}}
    assert again.history[0].details["input"] == {"nested": {"v": 1}}


# --------------------------------------------------------------- retention


async def test_retention_evicts_the_oldest_finished_executions_first(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider(retention=3)
    await provider.create_workflow(make_spec(QUICK))
    await provider.create_workflow(make_spec(SLOW, workflow_id="slow"))
    running = await provider.start_execution("slow", ExecutionInput())
    ids = []
    for n in range(5):
        result = await provider.start_execution("wf", ExecutionInput(execution_name=f"e{n}"))
        await finish(provider, result.execution_id)
        ids.append(result.execution_id)
    for evicted in ids[:2]:
        with pytest.raises(ExecutionNotFoundError):
            await provider.get_execution_status(evicted)
    for kept in ids[2:]:
        assert (await provider.get_execution_status(kept)).state is ExecutionState.SUCCEEDED
    assert (await provider.get_execution_status(running.execution_id)).state is (
        ExecutionState.RUNNING
    )


# ------------------------------------------------------------ watch / list


async def test_watch_yields_the_current_status_then_each_change_of_state_and_ends(
    make_provider: Any, make_spec: Any
) -> None:
    provider = make_provider()
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Wait", "Seconds": 5, "Next": "C"},
            "C": {"Type": "Succeed"},
        },
    }
    await provider.create_workflow(make_spec(definition))
    result = await provider.start_execution("wf", ExecutionInput())
    seen = [status async for status in provider.watch_execution(result.execution_id)]
    assert seen[0].state is ExecutionState.RUNNING
    assert seen[-1].state is ExecutionState.SUCCEEDED
    assert [s.state for s in seen] == [ExecutionState.RUNNING, ExecutionState.SUCCEEDED]
    assert all(s.history == () for s in seen)


async def test_a_slow_watcher_gets_the_latest_status_and_nothing_queues_up(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    states = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(200)}
    states["S200"] = {"Type": "Pass", "End": True}
    await provider.create_workflow(make_spec({"StartAt": "S0", "States": states}))
    big = {"blob": "x" * 100_000}
    result = await provider.start_execution("wf", ExecutionInput(input=big))
    watch = provider.watch_execution(result.execution_id)
    first = await anext(watch)
    assert first.state is ExecutionState.RUNNING
    await finish(provider, result.execution_id)  # 201 states pass while the watcher sleeps
    record = provider._executions[result.execution_id]  # engine internals: what waits for it
    assert [type(w).__name__ for w in record.watchers] == ["Event"], "one flag, no queue"
    rest = [status async for status in watch]
    assert [s.state for s in rest] == [ExecutionState.SUCCEEDED]


async def test_watch_of_a_finished_execution_yields_once(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    result = await started(provider, make_spec, QUICK)
    await finish(provider, result.execution_id)
    seen = [status async for status in provider.watch_execution(result.execution_id)]
    assert [s.state for s in seen] == [ExecutionState.SUCCEEDED]


async def test_watch_ends_with_an_error_when_the_provider_closes(
    make_provider: Any, make_spec: Any
) -> None:
    provider = make_provider(clock=RealClock())  # the hour-long wait really waits
    result = await started(provider, make_spec, SLOW)
    seen: list[Any] = []

    async def consume() -> None:
        async for status in provider.watch_execution(result.execution_id):
            seen.append(status)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.01)
    await provider.aclose()
    with pytest.raises(ProviderError):
        await task
    assert seen[0].state is ExecutionState.RUNNING


async def test_list_executions_newest_first_filtered_without_history(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    await provider.create_workflow(make_spec(SLOW))
    for n in range(3):
        await provider.start_execution("wf", ExecutionInput(execution_name=f"e{n}"))
    await provider.stop_execution("mock:wf:e1", "stop one")
    listed = [s async for s in provider.list_executions("wf")]
    assert [s.metadata["execution_name"] for s in listed] == ["e2", "e1", "e0"]
    assert all(s.history == () for s in listed)
    cancelled = [s async for s in provider.list_executions("wf", state=ExecutionState.CANCELLED)]
    assert [s.execution_id for s in cancelled] == ["mock:wf:e1"]
    with pytest.raises(WorkflowNotFoundError):
        [s async for s in provider.list_executions("unknown")]


# ------------------------------------------------------------------ faults


async def test_throttle_fault_raises_n_times_then_the_call_succeeds(
    make_provider: Any, make_spec: Any
) -> None:
    provider = make_provider()
    await provider.create_workflow(make_spec(QUICK))
    provider.faults.throttle("start_execution", times=2)
    for _ in range(2):
        with pytest.raises(ThrottledError):
            await provider.start_execution("wf", ExecutionInput(execution_name="x"))
    result = await provider.start_execution("wf", ExecutionInput(execution_name="x"))
    assert result.execution_id == "mock:wf:x"
    assert provider.faults.calls("start_execution") == 3
    assert provider.faults.injected("start_execution") == 2


async def test_unavailable_fault_raises_before_the_operation_runs(
    make_provider: Any, make_spec: Any
) -> None:
    provider = make_provider()
    provider.faults.unavailable("create_workflow", times=1)
    with pytest.raises(ProviderUnavailableError):
        await provider.create_workflow(make_spec(QUICK))
    with pytest.raises(WorkflowNotFoundError):  # nothing was created
        await provider.start_execution("wf", ExecutionInput())


async def test_dropped_response_performs_the_operation_then_raises(
    make_provider: Any, make_spec: Any
) -> None:
    provider = make_provider()
    await provider.create_workflow(make_spec(SLOW))
    provider.faults.drop_response("start_execution", times=1)
    with pytest.raises(ProviderUnavailableError):
        await provider.start_execution("wf", ExecutionInput(execution_name="lost"))
    # the execution exists; retrying the same start returns it (idempotent)
    retried = await provider.start_execution("wf", ExecutionInput(execution_name="lost"))
    assert retried.execution_id == "mock:wf:lost"
    assert retried.message == "started by an earlier attempt whose answer was lost"


async def test_latency_fault_adds_real_time(make_provider: Any, make_spec: Any) -> None:
    provider = make_provider()
    provider.faults.latency("validate", timedelta(milliseconds=50))
    begin = time.perf_counter()
    await provider.validate(make_spec(QUICK))
    assert time.perf_counter() - begin >= 0.045
    provider.faults.latency("validate", None)
    begin = time.perf_counter()
    await provider.validate(make_spec(QUICK))
    assert time.perf_counter() - begin < 0.045


async def test_rate_faults_are_reproducible_with_a_seed(make_provider: Any) -> None:
    async def pattern() -> list[bool]:
        provider = make_provider()
        provider.faults.throttle("get_execution_status", rate=0.5, seed=42)
        throttled = []
        for _ in range(20):
            try:
                await provider.get_execution_status("mock:wf:none")
            except ThrottledError:
                throttled.append(True)
            except ExecutionNotFoundError:
                throttled.append(False)
        return throttled

    first, second = await pattern(), await pattern()
    assert first == second
    assert 0 < sum(first) < 20


async def test_unknown_operation_names_are_rejected() -> None:
    provider = MockProvider()
    with pytest.raises(ValueError, match="unknown operation"):
        provider.faults.throttle("describe_execution", times=1)
    with pytest.raises(ValueError, match="unknown operation"):
        provider.faults.latency("nope", 1.0)


async def test_watch_and_list_honour_faults(make_provider: Any, make_spec: Any) -> None:
    provider = make_provider()
    result = await started(provider, make_spec, SLOW)
    provider.faults.throttle("watch_execution")
    with pytest.raises(ThrottledError):
        [s async for s in provider.watch_execution(result.execution_id)]
    provider.faults.unavailable("list_executions")
    with pytest.raises(ProviderUnavailableError):
        [s async for s in provider.list_executions("wf")]


# ---------------------------------------------------------------- lifecycle


async def test_calls_after_aclose_raise_a_workflow_error(make_spec: Any) -> None:
    provider = MockProvider()
    await provider.aclose()
    await provider.aclose()  # idempotent
    assert provider.closed
    with pytest.raises(WorkflowError):
        await provider.create_workflow(make_spec(QUICK))
    with pytest.raises(WorkflowError):
        await provider.get_execution_status("mock:wf:x")


async def test_aclose_cancels_running_simulations_on_the_real_clock(make_spec: Any) -> None:
    before = asyncio.all_tasks()
    async with MockProvider() as provider:
        await provider.create_workflow(make_spec(SLOW))
        for n in range(10):
            await provider.start_execution("wf", ExecutionInput(execution_name=f"e{n}"))
        assert len(asyncio.all_tasks() - before) >= 10
    assert asyncio.all_tasks() - before == set()


async def test_task_handler_table_is_live(make_provider: Any, make_spec: Any, finish: Any) -> None:
    provider = make_provider()

    async def hello(data: Any) -> Any:
        return "hello"

    provider.task_handlers["greet"] = hello
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "greet", "End": True}},
    }
    result = await started(provider, make_spec, definition)
    assert (await finish(provider, result.execution_id)).output == "hello"


async def test_spec_timeout_applies_unless_the_definition_sets_timeout_seconds(
    make_provider: Any, make_spec: Any, finish: Any
) -> None:
    provider = make_provider()
    own = {**SLOW, "TimeoutSeconds": 60}
    await provider.create_workflow(make_spec(own, timeout=timedelta(minutes=30)))
    result = await provider.start_execution("wf", ExecutionInput())
    status = await finish(provider, result.execution_id)
    assert status.state is ExecutionState.TIMED_OUT
    assert status.stop_time - status.start_time == timedelta(seconds=60)
