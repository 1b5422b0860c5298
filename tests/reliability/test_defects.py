"""Defects found by trying to break the library, each pinned by the rule it broke.

Every test here failed on the code before its fix (the black-box scripts
that found them are summarised in each docstring).
"""

from __future__ import annotations

import gc
import io
import json
import logging
import subprocess
import sys
import tracemalloc
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from conftest import make_spec
from fakes import FakeProvider
from reliability.support import cancel_after, other_tasks, settle

from landlord_workflow import (
    CallPolicy,
    ExecutionAlreadyExistsError,
    ExecutionFailedError,
    ExecutionInput,
    ExecutionNotFoundError,
    ExecutionState,
    InvalidSpecError,
    Manager,
    PollPolicy,
    ProviderError,
    ProviderUnavailableError,
    Registry,
    RetryPolicy,
)
from landlord_workflow.cli import EXIT_USAGE, main
from landlord_workflow.providers.mock import MockProvider, TaskFailure, VirtualClock
from landlord_workflow.providers.stepfunctions import StepFunctionsProvider

ROLE = "arn:aws:iam::123456789012:role/landlord-workflow-test"


FLAKY_TASK = {
    "StartAt": "Provision",
    "States": {"Provision": {"Type": "Task", "Resource": "provision", "End": True}},
}


def failing_first(times: int) -> Any:
    calls = Counter[str]()

    async def provision(task_input: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise TaskFailure("Compute.Unavailable", f"call {calls['n']}")
        return {"ok": True}

    provision.calls = calls  # type: ignore[attr-defined]
    return provision


# -- closing ------------------------------------------------------------------------------


class SlowToClose(FakeProvider):
    """A provider whose aclose awaits (a checkpoint a cancelled caller would die at)."""

    def __init__(self, name: str, *, fail: bool = False) -> None:
        super().__init__(name)
        self.fail = fail

    async def aclose(self) -> None:
        for _ in range(3):  # checkpoints where a cancelled caller would die
            await anyio.lowlevel.checkpoint()
        self.closed = True
        if self.fail:
            raise RuntimeError(f"{self.name} failed to close")


@pytest.mark.asyncio
async def test_aclose_in_a_cancelled_scope_still_closes_every_provider() -> None:
    providers = [SlowToClose("a"), SlowToClose("b", fail=True), SlowToClose("c")]
    registry = Registry()
    for provider in providers:
        registry.register(provider)
    manager = Manager(registry)
    with anyio.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(RuntimeError, match="b failed to close"):
            await manager.aclose()
    assert [p.closed for p in providers] == [True, True, True]
    await manager.aclose()  # idempotent: nothing left to do, nothing raised


@pytest.mark.asyncio
async def test_leaving_a_cancelled_async_with_closes_a_running_mock_and_step_functions() -> None:
    mock = MockProvider()
    sfn = StepFunctionsProvider(region="us-east-1", role_arn=ROLE, account_id="123456789012")
    registry = Registry()
    registry.register(mock)
    registry.register(sfn)
    hold = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}}}
    with anyio.CancelScope() as scope:
        async with Manager(registry) as manager:
            await sfn.__aenter__()  # the client is open
            await manager.create_workflow(make_spec(hold, workflow_id="hold"))
            await manager.start_execution("hold")
            scope.cancel()
    assert mock.closed
    with pytest.raises(ProviderError, match="closed"):
        _ = sfn.client


# -- run: stop during the backoff, concurrent runs of one name, large backoffs ------------


async def has_failed(mock: MockProvider, execution_id: str) -> bool:
    try:
        return (await mock.get_execution_status(execution_id)).state is ExecutionState.FAILED
    except ExecutionNotFoundError:
        return False


@pytest.mark.asyncio
async def test_a_stop_during_runs_backoff_wins_and_nothing_more_starts() -> None:
    handler = failing_first(10)
    mock = MockProvider(task_handlers={"provision": handler})
    registry = Registry()
    registry.register(mock)
    long_backoff = RetryPolicy(
        max_attempts=3, initial_interval=timedelta(minutes=10), max_interval=timedelta(minutes=10)
    )
    async with Manager(registry) as manager:
        await manager.create_workflow(
            make_spec(FLAKY_TASK, workflow_id="flaky", retry_policy=long_backoff)
        )
        outcome: list[BaseException] = []

        async def run() -> None:
            try:
                await manager.run("flaky", ExecutionInput(execution_name="tenant-1"))
            except ExecutionFailedError as exc:
                outcome.append(exc)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(run)
                execution_id = "mock:flaky:tenant-1"
                while not await has_failed(mock, execution_id):
                    await anyio.sleep(0.001)
                await anyio.sleep(0.01)  # run is in its backoff now
                await manager.stop_execution(execution_id, "tenant deleted")
        (error,) = outcome
        assert isinstance(error, ExecutionFailedError)
        assert error.status.state is ExecutionState.CANCELLED
        assert error.status.error is not None
        assert error.status.error.cause == "tenant deleted"
        assert handler.calls["n"] == 1, "no redrive after the stop"
        status = await mock.get_execution_status(execution_id)
        assert status.metadata["redrive_count"] == 0


@pytest.mark.asyncio
async def test_two_runs_with_one_name_share_the_execution_and_its_outcome() -> None:
    handler = failing_first(1)
    mock = MockProvider(task_handlers={"provision": handler})
    registry = Registry()
    registry.register(mock)
    retry = RetryPolicy(
        max_attempts=2,
        initial_interval=timedelta(milliseconds=5),
        max_interval=timedelta(milliseconds=5),
    )
    async with Manager(registry) as manager:
        await manager.create_workflow(
            make_spec(FLAKY_TASK, workflow_id="flaky", retry_policy=retry)
        )
        results: list[Any] = []

        async def run() -> None:
            results.append(await manager.run("flaky", ExecutionInput(execution_name="same")))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(run)
                group.start_soon(run)
    assert [r.state for r in results] == [ExecutionState.SUCCEEDED, ExecutionState.SUCCEEDED]
    assert {r.execution_id for r in results} == {"mock:flaky:same"}
    assert results[0].metadata["redrive_count"] == 1, "redriven once, not twice"
    assert handler.calls["n"] == 2


@pytest.mark.asyncio
async def test_two_managers_running_one_name_share_the_outcome_too() -> None:
    handler = failing_first(1)
    mock = MockProvider(task_handlers={"provision": handler})
    retry = RetryPolicy(
        max_attempts=2,
        initial_interval=timedelta(milliseconds=5),
        max_interval=timedelta(milliseconds=5),
    )
    managers = []
    for _ in range(2):
        registry = Registry()
        registry.register(mock)
        managers.append(Manager(registry))
    await managers[0].create_workflow(
        make_spec(FLAKY_TASK, workflow_id="flaky", retry_policy=retry)
    )
    results: list[Any] = []

    async def run(manager: Manager) -> None:
        results.append(await manager.run("flaky", ExecutionInput(execution_name="same")))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for manager in managers:
                group.start_soon(run, manager)
    assert [r.state for r in results] == [ExecutionState.SUCCEEDED, ExecutionState.SUCCEEDED]
    assert handler.calls["n"] == 2
    await mock.aclose()


def test_backoff_never_overflows_for_any_attempt_count_or_rate() -> None:
    policy = RetryPolicy(max_attempts=20, backoff_rate=10)
    assert [policy.backoff(n) for n in (18, 19, 10_000)] == [policy.max_interval] * 3
    calls = CallPolicy(max_attempts=1000, backoff_rate=1e300, jitter=False)
    assert calls.backoff(310) == calls.backoff(999) == calls.max_interval.total_seconds()
    polls = PollPolicy(backoff_rate=1e308, jitter=False)
    intervals = polls.intervals()
    assert [next(intervals) for _ in range(5)][-1] == polls.max_interval.total_seconds()


@pytest.mark.asyncio
async def test_run_with_a_huge_backoff_rate_runs_every_attempt() -> None:
    fake = FakeProvider()
    fake.status_sequence["wf"] = [ExecutionState.FAILED]
    registry = Registry()
    registry.register(fake)
    tiny = RetryPolicy(
        max_attempts=20,
        backoff_rate=10,
        initial_interval=timedelta(microseconds=1),
        max_interval=timedelta(microseconds=2),
    )
    fast_polls = PollPolicy(
        initial_interval=timedelta(milliseconds=1), max_interval=timedelta(milliseconds=1)
    )
    manager = Manager(registry, poll_policy=fast_polls)
    await manager.create_workflow(
        make_spec(workflow_id="wf", provider_type="fake", retry_policy=tiny)
    )
    with pytest.raises(ExecutionFailedError):
        await manager.run("wf", ExecutionInput(execution_name="t"))
    assert len(fake.calls_of("start_execution")) == 20


# -- watch ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_watch_yields_each_state_once_on_a_push_based_provider() -> None:
    steps = {
        f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} if i < 5 else {"Type": "Pass", "End": True}
        for i in range(6)
    }
    registry = Registry()
    registry.register(MockProvider(default_task_duration=0.0))
    async with Manager(registry) as manager:
        await manager.create_workflow(
            make_spec({"StartAt": "S0", "States": steps}, workflow_id="steps")
        )
        started = await manager.start_execution("steps")
        states = [status.state async for status in manager.watch(started.execution_id)]
    assert states == [ExecutionState.RUNNING, ExecutionState.SUCCEEDED]


# -- arguments: one rule for durations and names --------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CallPolicy(attempt_timeout=5), "attempt_timeout must be a datetime.timedelta"),
        (lambda: CallPolicy(deadline=1.5), "deadline must be a datetime.timedelta"),
        (lambda: PollPolicy(initial_interval=0.2), "initial_interval must be a datetime.timedelta"),
        (lambda: RetryPolicy(max_interval=60), "max_interval must be a datetime.timedelta"),
        (lambda: CallPolicy(max_attempts=2.5), "max_attempts must be an int"),
    ],
)
def test_a_policy_field_of_the_wrong_type_is_a_type_error_naming_it(
    build: Any, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        build()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda m: m.wait_for_completion("mock:wf:x", timeout=5),
            TypeError,
            "timeout must be a datetime.timedelta or None, got int",
        ),
        (
            lambda m: m.run("wf", timeout=5),
            TypeError,
            "timeout must be a datetime.timedelta or None, got int",
        ),
        (
            lambda m: m.start_execution("wf", provider_type=["mock"]),
            TypeError,
            "provider_type must be a str or None, got list",
        ),
        (
            lambda m: m.wait_for_completion("mock:wf:x", timeout=timedelta(seconds=-1)),
            InvalidSpecError,
            "timeout: must not be negative",
        ),
        (
            lambda m: m.run("wf", timeout=timedelta(seconds=-1)),
            InvalidSpecError,
            "timeout: must not be negative",
        ),
    ],
)
@pytest.mark.asyncio
async def test_a_bad_argument_is_refused_at_the_call_naming_the_parameter(
    call: Any, error: type[Exception], message: str
) -> None:
    fake = FakeProvider("mock")
    registry = Registry()
    registry.register(fake)
    async with Manager(registry) as manager:
        with pytest.raises(error, match=message):
            await call(manager)
    assert fake.calls == [], "no engine call was made"


# -- definitions the providers' own validate must survive ----------------------------------


def step_functions() -> StepFunctionsProvider:
    return StepFunctionsProvider(region="us-east-1", role_arn=ROLE, account_id="123456789012")


PROVIDERS = {"mock": MockProvider, "step-functions": step_functions}


@pytest.mark.parametrize("provider_type", sorted(PROVIDERS))
@pytest.mark.parametrize("state_type", [["Pass"], {"Pass": True}, 7, None])
@pytest.mark.asyncio
async def test_a_state_type_that_is_not_a_string_is_a_field_precise_error(
    state_type: object, provider_type: str
) -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": state_type, "End": True}}}
    spec = make_spec(definition, workflow_id="w", provider_type=provider_type)
    with pytest.raises(InvalidSpecError) as caught:
        await PROVIDERS[provider_type]().validate(spec)
    assert "definition.States.A.Type" in [field for field, _ in caught.value.problems]


@pytest.mark.parametrize("provider_type", sorted(PROVIDERS))
@pytest.mark.asyncio
async def test_a_definition_5000_levels_deep_is_refused_without_a_recursion_error(
    provider_type: str,
) -> None:
    deep: dict[str, Any] = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    node = deep
    for _ in range(5000):
        node["Comment"] = {}
        node = node["Comment"]
    spec = make_spec(deep, workflow_id="w", provider_type=provider_type)
    with pytest.raises(InvalidSpecError, match="nested deeper than 256 levels"):
        await PROVIDERS[provider_type]().validate(spec)


# -- the command line: one line, exit 2, no traceback ----------------------------------------


def run_cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, environ=env or {})
    return code, err.getvalue()


SFN = ("--provider", "step-functions")
PASS_SPEC = {
    "workflow_id": "cli-test",
    "provider_type": "mock",
    "name": "CLI test",
    "definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
}


def spec_file(tmp_path: Path, document: Any = PASS_SPEC) -> str:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "{spec}", "--input", "[" * 5000 + "]" * 5000], "nested"),
        (["run", "{spec}", "--input", "9" * 5000], "--input is not usable JSON"),
        (["run", "{spec}", "--input", "@{latin1}"], "not UTF-8 text"),
        (["validate", "{latin1}"], "not UTF-8 text"),
        (["graph", "{malformed}"], "definition.States.A.Type"),
        (["validate", "{spec}", *SFN, "--region", "us east!"], "WORKFLOW_SFN_REGION"),
        (
            ["validate", "{spec}", *SFN, "--region", "eu-west-1", "--endpoint-url", "notaurl"],
            "WORKFLOW_SFN_ENDPOINT_URL",
        ),
    ],
)
@pytest.mark.asyncio
async def test_bad_command_line_input_is_one_line_and_exit_2(
    tmp_path: Path, argv: list[str], expected: str
) -> None:
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))
    malformed = dict(PASS_SPEC, definition={"StartAt": "A", "States": {"A": {"Type": ["Pass"]}}})
    (tmp_path / "bad").mkdir()
    paths = {
        "spec": spec_file(tmp_path),
        "latin1": str(latin1),
        "malformed": spec_file(tmp_path / "bad", malformed),
    }
    code, err = await anyio.to_thread.run_sync(
        lambda: run_cli(*[arg.format(**paths) for arg in argv])
    )
    assert code == EXIT_USAGE, err
    assert expected in err
    assert "Traceback" not in err


def test_the_installed_command_prints_no_traceback_for_a_bad_region(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "landlord_workflow", "providers", "--region", "us east!"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "", "WORKFLOW_DEFAULT_PROVIDER": "step-functions"},
    )
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "WORKFLOW_SFN_REGION" in proc.stderr


# -- cancellation of aclose and of run's backoff, at every await point ------------------------


@pytest.mark.asyncio
async def test_cancelling_aclose_at_any_point_still_closes_every_provider() -> None:
    """aclose swept like every other call: cancelled after k loop passes, for every k."""
    hold = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}}}
    for passes in range(60):
        mock = MockProvider()
        slow = SlowToClose("slow")
        registry = Registry()
        registry.register(mock)
        registry.register(slow)
        manager = Manager(registry)
        await manager.create_workflow(make_spec(hold, workflow_id="hold"))
        await manager.start_execution("hold")
        finished, outcome = await cancel_after(manager.aclose(), passes)
        # Cancelled before it began, aclose did nothing; once begun, it closes all.
        assert mock.closed is slow.closed
        if not mock.closed:
            await manager.aclose()
        assert mock.closed
        assert slow.closed
        assert other_tasks() == set(), "a simulation task outlived aclose"
        if finished:
            assert outcome is None
            break
    else:
        raise AssertionError("aclose did not finish within 60 loop passes")


@pytest.mark.asyncio
async def test_cancelling_run_during_its_backoff_starts_nothing_more() -> None:
    handler = failing_first(1)
    mock = MockProvider(task_handlers={"provision": handler})
    registry = Registry()
    registry.register(mock)
    hour = RetryPolicy(
        max_attempts=2, initial_interval=timedelta(hours=1), max_interval=timedelta(hours=1)
    )
    async with Manager(registry) as manager:
        await manager.create_workflow(make_spec(FLAKY_TASK, workflow_id="flaky", retry_policy=hour))
        execution_id = "mock:flaky:in-backoff"
        with anyio.move_on_after(5) as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(manager.run, "flaky", ExecutionInput(execution_name="in-backoff"))
                while not await has_failed(mock, execution_id):
                    await anyio.sleep(0.001)
                for _ in range(20):
                    await anyio.lowlevel.checkpoint()  # run is waiting out its hour now
                group.cancel_scope.cancel()
        assert not scope.cancelled_caught
        await settle()
        status = await mock.get_execution_status(execution_id)
        assert status.state is ExecutionState.FAILED, "nothing was redriven"
        assert status.metadata["redrive_count"] == 0
        assert handler.calls["n"] == 1
        assert manager._runs == {}, "the run left no bookkeeping behind"


# -- a long soak on simulated time: bounded memory, every execution terminal -----------------


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.asyncio
async def test_soak_20000_executions_keep_memory_flat_and_all_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """retention=100, 30-day spec timeouts, watchers and stops mixed in."""
    # pytest keeps every captured record; 3,000 "ended cancelled" warnings would
    # be the test's memory, not the library's.
    caplog.set_level(logging.ERROR, logger="landlord_workflow")
    clock = VirtualClock()
    mock = MockProvider(clock=clock, retention=100, task_handlers={"provision": succeed})
    registry = Registry()
    registry.register(mock)
    definition = {
        "StartAt": "Provision",
        "States": {
            "Provision": {"Type": "Task", "Resource": "provision", "Next": "Settle"},
            "Settle": {"Type": "Wait", "Seconds": 30, "End": True},
        },
    }
    ended = Counter[ExecutionState]()
    async with Manager(registry) as manager:
        await manager.create_workflow(
            make_spec(definition, workflow_id="soak", timeout=timedelta(days=30))
        )

        async def one(index: int) -> None:
            started = await manager.start_execution(
                "soak", ExecutionInput(input={"n": index, "pad": "x" * 200})
            )
            if index % 7 == 0:
                await manager.stop_execution(started.execution_id, "soak stop")
            if index % 5 == 0:
                async for status in manager.watch(started.execution_id):
                    last = status
                ended[last.state] += 1
            else:
                ended[(await manager.wait_for_completion(started.execution_id)).state] += 1

        async def batch(start: int, size: int) -> None:
            async with anyio.create_task_group() as group:
                for index in range(start, start + size):
                    group.start_soon(one, index)

        tracemalloc.start()
        try:
            for start in range(0, 10_000, 500):
                await batch(start, 500)
            gc.collect()
            after_10k = tracemalloc.get_traced_memory()[0]
            for start in range(10_000, 20_000, 500):
                await batch(start, 500)
            gc.collect()
            after_20k = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    assert sum(ended.values()) == 20_000, "every execution reached a terminal state"
    assert set(ended) == {ExecutionState.SUCCEEDED, ExecutionState.CANCELLED}
    assert len(mock._executions) <= 100 + 500, "retention bounds the records"
    growth = after_20k - after_10k
    assert growth < 1_000_000, f"memory grew by {growth:,} bytes over the second 10,000"


async def succeed(task_input: Any) -> Any:
    return {"provisioned": True}


# -- the mock engine: simulated time, retention, limits, bookkeeping -------------------------


async def ended(mock: MockProvider, execution_id: str) -> Any:
    with anyio.fail_after(30):
        while True:
            status = await mock.get_execution_status(execution_id)
            if status.state.is_terminal:
                return status
            await anyio.sleep(0.001)


@pytest.mark.asyncio
async def test_retries_grown_past_the_calendar_still_end_with_a_stop_time() -> None:
    """BackoffRate 2, MaxAttempts 60, no MaxDelaySeconds: simulated time stops at
    datetime.max instead of overflowing; the execution fails and says when."""

    async def fail(task_input: Any) -> Any:
        raise RuntimeError("always")

    mock = MockProvider(clock=VirtualClock(), task_handlers={"fail": fail})
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "fail",
                "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 2, "MaxAttempts": 60}],
                "End": True,
            }
        },
    }
    await mock.create_workflow(make_spec(definition, workflow_id="grow"))
    started = await mock.start_execution("grow", ExecutionInput())
    status = await ended(mock, started.execution_id)
    assert status.state is ExecutionState.FAILED
    assert status.stop_time is not None
    assert status.stop_time >= status.start_time
    history = await mock.get_execution_status(started.execution_id, include_history=True)
    assert [e.type for e in history.history].count("TaskRetried") == 60
    await mock.aclose()


@pytest.mark.asyncio
async def test_a_wait_longer_than_aws_allows_is_refused_at_create() -> None:
    mock = MockProvider(clock=VirtualClock())
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10**14, "End": True}}}
    with pytest.raises(InvalidSpecError) as caught:
        await mock.create_workflow(make_spec(wait, workflow_id="wait"))
    assert [field for field, _ in caught.value.problems] == ["definition.States.W.Seconds"]


@pytest.mark.asyncio
async def test_retention_holds_on_simulated_time_with_long_timeouts() -> None:
    """8,000 executions, 30-day spec timeouts, retention 100: 100 records kept, and
    the cancelled timeout timers do not keep the evicted ones alive."""
    clock = VirtualClock()
    mock = MockProvider(clock=clock, retention=100)
    passing = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    await mock.create_workflow(
        make_spec(passing, workflow_id="retention-probe", timeout=timedelta(days=30))
    )
    for index in range(8000):
        await mock.start_execution("retention-probe", ExecutionInput(input={"n": index}))
        if index % 200 == 0:
            await anyio.lowlevel.checkpoint()
    with anyio.fail_after(10):
        while len(mock._finished) < 100 or any(
            not record.state.is_terminal for record in mock._executions.values()
        ):
            await anyio.sleep(0.001)
    gc.collect()
    records = [  # of this test only: other tests' records may still await collection
        obj
        for obj in gc.get_objects()
        if type(obj).__name__ == "ExecutionRecord" and obj.workflow_id == "retention-probe"
    ]
    assert len(mock._executions) == 100
    assert len(records) <= 100
    assert clock.pending == 0, "no timer outlives its execution"
    await mock.aclose()


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
@pytest.mark.asyncio
async def test_a_non_finite_input_is_refused_by_the_mock_itself(value: float) -> None:
    mock = MockProvider()
    passing = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    await mock.create_workflow(make_spec(passing, workflow_id="p"))
    with pytest.raises(InvalidSpecError, match="NaN and Infinity"):
        await mock.start_execution("p", ExecutionInput(input={"x": value}))
    assert [s async for s in mock.list_executions("p")] == []


@pytest.mark.asyncio
async def test_lost_start_records_and_evicted_names_stay_bounded() -> None:
    mock = MockProvider(retention=10)
    passing = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    await mock.create_workflow(make_spec(passing, workflow_id="p"))
    mock.faults.drop_response("start_execution", times=3000)
    for index in range(3000):
        with pytest.raises(ProviderUnavailableError):
            await mock.start_execution("p", ExecutionInput(execution_name=f"run-{index}"))
    with anyio.fail_after(10):
        while len(mock._finished) < 10:
            await anyio.sleep(0.001)
    assert set(mock._unanswered_starts) <= set(mock._executions), "evicted with their executions"
    assert len(mock._executions) <= 20
    assert len(mock._evicted) == 1_000, "the names of the last 1,000 evicted stay taken"
    with pytest.raises(ExecutionAlreadyExistsError, match="no longer retained"):
        await mock.start_execution("p", ExecutionInput(execution_name="run-2500"))
    await mock.start_execution("p", ExecutionInput(execution_name="run-0"))  # forgotten: reusable
    await mock.aclose()
