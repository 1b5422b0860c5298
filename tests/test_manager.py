"""Manager core: validation first, provider routing, CallPolicy, hooks, logs, waiting, run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from conftest import make_spec
from fakes import HANG, FakeProvider, RedrivableFake

from landlord_workflow import (
    CallPolicy,
    ExecutionFailedError,
    ExecutionInput,
    ExecutionNotFoundError,
    ExecutionState,
    InvalidSpecError,
    Manager,
    MetricsCollector,
    OperationTimeoutError,
    PollPolicy,
    ProviderError,
    ProviderNotFoundError,
    Registry,
    RetryPolicy,
    SupportsPollPolicy,
    ThrottledError,
    UnsupportedOperationError,
    WorkflowError,
    WorkflowNotFoundError,
    WorkflowSpec,
)
from landlord_workflow._provider import advertised_poll_policy

pytestmark = pytest.mark.asyncio

DEFINITION = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}


def spec(workflow_id: str = "tenant-provisioning", **fields: Any) -> WorkflowSpec:
    """The suite's spec factory with this module's defaults: DEFINITION on the fake provider."""
    fields.setdefault("provider_type", "fake")
    return make_spec(fields.pop("definition", DEFINITION), workflow_id=workflow_id, **fields)


def make_manager(
    provider: FakeProvider, calls: CallPolicy, polls: object = None, **kwargs: object
) -> tuple[Manager, MetricsCollector]:
    registry = Registry()
    registry.register(provider)
    metrics = MetricsCollector()
    extra = {} if polls is None else {"poll_policy": polls}
    manager = Manager(registry, call_policy=calls, hooks=[metrics], **extra, **kwargs)  # type: ignore[arg-type]
    return manager, metrics


async def test_invalid_spec_lists_every_problem_and_reaches_no_provider(
    fast_calls: CallPolicy,
) -> None:
    fake = FakeProvider()
    manager, _ = make_manager(fake, fast_calls)
    bad = spec("Bad_ID", name="", definition={}, description="x" * 2000)
    with pytest.raises(InvalidSpecError) as info:
        await manager.create_workflow(bad)
    fields = {field for field, _ in info.value.problems}
    assert {"workflow_id", "name", "definition", "description"} <= fields
    assert fake.calls == []


async def test_invalid_input_reaches_no_provider(fast_calls: CallPolicy) -> None:
    fake = FakeProvider()
    manager, _ = make_manager(fake, fast_calls)
    bad_input = ExecutionInput(input="not an object", execution_name="has space")
    with pytest.raises(InvalidSpecError) as info:
        await manager.start_execution("wf", bad_input, provider_type="fake")
    assert {"input", "execution_name"} <= {field for field, _ in info.value.problems}
    assert fake.calls == []


async def test_start_throttled_twice_succeeds_on_third_attempt_with_one_execution(
    fast_calls: CallPolicy,
) -> None:
    fake = FakeProvider()
    manager, metrics = make_manager(fake, fast_calls)
    await manager.create_workflow(spec())
    fake.script("start_execution", ThrottledError("slow down"), ThrottledError("slow down"))

    result = await manager.start_execution("tenant-provisioning", ExecutionInput(input={"t": 1}))

    starts = fake.calls_of("start_execution")
    assert len(starts) == 3
    assert metrics.attempts[("start_execution", "fake")] == 3
    assert metrics.retries[("start_execution", "fake")] == 2
    assert metrics.calls[("start_execution", "fake")] == 1
    assert list(fake.executions) == [result.execution_id]
    names = {args[1].execution_name for args in starts}
    assert len(names) == 1, "the execution name is fixed before the first attempt"
    assert next(iter(names)).startswith("tenant-provisioning-")


async def test_lost_start_response_is_retried_and_returns_the_same_execution(
    fast_calls: CallPolicy,
) -> None:
    fake = FakeProvider()
    manager, _ = make_manager(fake, fast_calls)
    await manager.create_workflow(spec())
    fake.script("start_execution", "lose")

    result = await manager.start_execution("tenant-provisioning", ExecutionInput(input={"a": 1}))

    assert len(fake.calls_of("start_execution")) == 2
    assert list(fake.executions) == [result.execution_id]


async def test_permanent_error_is_raised_at_once_without_retry(fast_calls: CallPolicy) -> None:
    fake = FakeProvider()
    manager, metrics = make_manager(fake, fast_calls)
    await manager.create_workflow(spec())
    fake.script("start_execution", ProviderError("AccessDenied"))
    with pytest.raises(ProviderError):
        await manager.start_execution("tenant-provisioning")
    assert len(fake.calls_of("start_execution")) == 1
    assert metrics.errors[("start_execution", "fake", "ProviderError")] == 1


async def test_transient_errors_beyond_max_attempts_surface_the_last_error() -> None:
    fake = FakeProvider()
    policy = CallPolicy(max_attempts=3, initial_interval=timedelta(0), jitter=False)
    manager, _ = make_manager(fake, policy)
    await manager.create_workflow(spec())
    fake.script("delete_workflow", *[ThrottledError(str(n)) for n in range(5)])
    with pytest.raises(ThrottledError, match="2"):
        await manager.delete_workflow("tenant-provisioning")
    assert len(fake.calls_of("delete_workflow")) == 3


async def test_hanging_call_times_out_per_attempt_and_cancels_the_provider_call() -> None:
    fake = FakeProvider()
    policy = CallPolicy(attempt_timeout=timedelta(milliseconds=50), initial_interval=timedelta(0))
    manager, metrics = make_manager(fake, policy)
    await manager.create_workflow(spec())
    fake.script("start_execution", HANG)
    with anyio.fail_after(5):
        with pytest.raises(OperationTimeoutError):
            await manager.start_execution("tenant-provisioning")
    assert fake.cancelled == ["start_execution"]
    assert len(fake.calls_of("start_execution")) == 1, "a timed-out attempt is not retried"
    assert metrics.errors[("start_execution", "fake", "OperationTimeoutError")] == 1


async def test_cancelling_a_manager_call_cancels_the_provider_call(fast_calls: CallPolicy) -> None:
    fake = FakeProvider()
    manager, _ = make_manager(fake, fast_calls)
    await manager.create_workflow(spec())
    fake.script("start_execution", HANG)
    async with anyio.create_task_group() as tg:
        tg.start_soon(manager.start_execution, "tenant-provisioning")
        while not fake.calls_of("start_execution"):
            await anyio.lowlevel.checkpoint()
        tg.cancel_scope.cancel()
    assert fake.cancelled == ["start_execution"]
    assert fake.executions == {}


async def test_deadline_bounds_the_whole_call_including_backoff() -> None:
    fake = FakeProvider()
    policy = CallPolicy(
        max_attempts=1000,
        initial_interval=timedelta(milliseconds=10),
        max_interval=timedelta(milliseconds=10),
        jitter=False,
        deadline=timedelta(milliseconds=100),
    )
    manager, _ = make_manager(fake, policy)
    await manager.create_workflow(spec())
    fake.script("delete_workflow", *[ThrottledError("x") for _ in range(1000)])
    with anyio.fail_after(5), pytest.raises(OperationTimeoutError, match="deadline"):
        await manager.delete_workflow("tenant-provisioning")
    assert 1 < len(fake.calls_of("delete_workflow")) < 1000


def two_fakes() -> tuple[FakeProvider, FakeProvider, Registry]:
    first, second = FakeProvider("one"), FakeProvider("two")
    registry = Registry()
    registry.register(first)
    registry.register(second)
    return first, second, registry


async def test_an_explicit_provider_type_wins(fast_calls: CallPolicy) -> None:
    first, second, registry = two_fakes()
    first.workflows["wf"] = spec("wf", provider_type="one")
    second.workflows["wf"] = spec("wf", provider_type="two")
    manager = Manager(registry, call_policy=fast_calls)
    started = await manager.start_execution("wf", provider_type="two")
    assert started.provider_type == "two"
    with pytest.raises(ProviderNotFoundError, match="nope"):
        await manager.get_execution_status("x", provider_type="nope")


async def test_a_fresh_manager_routes_an_execution_to_the_provider_that_owns_its_id(
    fast_calls: CallPolicy,
) -> None:
    first, second, registry = two_fakes()
    second.workflows["wf"] = spec("wf", provider_type="two")
    started = await Manager(registry, call_policy=fast_calls).start_execution("wf")
    fresh = Manager(registry, call_policy=fast_calls)  # no memory, no default provider
    status = await fresh.get_execution_status(started.execution_id)
    assert status.provider_type == "two"
    assert not first.calls_of("get_execution_status")


async def test_a_fresh_manager_finds_the_provider_that_holds_a_workflow(
    fast_calls: CallPolicy,
) -> None:
    first, second, registry = two_fakes()
    second.workflows["wf"] = spec("wf", provider_type="two")
    fresh = Manager(registry, call_policy=fast_calls)
    started = await fresh.start_execution("wf")
    assert started.provider_type == "two"
    assert first.calls_of("get_workflow") == [("wf",)], "asked once, the answer is cached"
    await fresh.start_execution("wf")
    assert first.calls_of("get_workflow") == [("wf",)]


async def test_unknown_ids_go_to_the_default_provider_else_a_clear_error(
    fast_calls: CallPolicy,
) -> None:
    _, second, registry = two_fakes()
    manager = Manager(registry, default_provider="two", call_policy=fast_calls)
    with pytest.raises(ExecutionNotFoundError):
        await manager.get_execution_status("unknown-id")
    assert second.calls_of("get_execution_status")[-1][0] == "unknown-id"
    with pytest.raises(WorkflowNotFoundError):
        await manager.start_execution("nowhere")

    no_default = Manager(registry, call_policy=fast_calls)
    with pytest.raises(ProviderNotFoundError, match="recognises execution id 'x'"):
        await no_default.get_execution_status("x")
    with pytest.raises(ProviderNotFoundError, match="holds workflow 'nowhere'"):
        await no_default.start_execution("nowhere")
    await no_default.delete_workflow("nowhere")  # deleting what nobody holds succeeds


async def test_list_providers_is_sorted(fast_calls: CallPolicy) -> None:
    registry = Registry()
    for name in ("zeta", "alpha"):
        registry.register(FakeProvider(name))
    assert Manager(registry).list_providers() == ["alpha", "zeta"]


async def test_logs_are_structured_and_carry_no_payload(
    fast_calls: CallPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeProvider()
    manager, _ = make_manager(fake, fast_calls)
    await manager.create_workflow(spec())
    fake.script("start_execution", ThrottledError("slow"))
    caplog.set_level(logging.DEBUG, logger="landlord_workflow")
    secret = "hunter2-super-secret"
    result = await manager.start_execution(
        "tenant-provisioning", ExecutionInput(input={"password": secret})
    )
    records = [r for r in caplog.records if getattr(r, "operation", None) == "start_execution"]
    assert [r.outcome for r in records] == ["retry", "ok"]  # type: ignore[attr-defined]
    ok = records[-1]
    assert ok.provider == "fake"  # type: ignore[attr-defined]
    assert ok.workflow_id == "tenant-provisioning"  # type: ignore[attr-defined]
    assert ok.attempt == 2  # type: ignore[attr-defined]
    assert ok.duration_ms >= 0  # type: ignore[attr-defined]
    assert ok.levelno == logging.INFO
    assert records[0].levelno == logging.WARNING
    assert secret not in caplog.text
    assert result.execution_id


async def test_a_failing_hook_does_not_break_the_call(
    fast_calls: CallPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def on_call(self, details: object) -> None:
            raise RuntimeError("hook bug")

        def on_execution(self, details: object) -> None:
            raise RuntimeError("hook bug")

    registry = Registry()
    registry.register(FakeProvider())
    manager = Manager(registry, call_policy=fast_calls, hooks=[Broken()])
    result = await manager.create_workflow(spec())
    assert result.workflow_id == "tenant-provisioning"
    assert "hook" in caplog.text


async def test_wait_for_completion_polls_without_history(
    fast_calls: CallPolicy, fast_polls: object
) -> None:
    fake = FakeProvider()
    fake.status_sequence["tenant-provisioning"] = [
        ExecutionState.RUNNING,
        ExecutionState.RUNNING,
        ExecutionState.SUCCEEDED,
    ]
    manager, metrics = make_manager(fake, fast_calls, fast_polls)
    await manager.create_workflow(spec())
    started = await manager.start_execution("tenant-provisioning")
    final = await manager.wait_for_completion(started.execution_id)
    assert final.state is ExecutionState.SUCCEEDED
    polls = fake.calls_of("get_execution_status")
    assert len(polls) == 3
    assert all(include_history is False for _, include_history in polls)
    assert metrics.executions[("tenant-provisioning", ExecutionState.SUCCEEDED)] == 1


class RecordingPolls(PollPolicy):
    """A fast PollPolicy that notes each wait it paces."""

    def intervals(self) -> Iterator[float]:
        PACED.append(self)
        return super().intervals()


PACED: list[PollPolicy] = []


def recording_polls() -> RecordingPolls:
    return RecordingPolls(initial_interval=timedelta(milliseconds=1), jitter=False)


class PolledFake(FakeProvider):
    """A fake that advertises how it is to be polled."""

    def __init__(self, poll_policy: PollPolicy) -> None:
        super().__init__()
        self.poll_policy = poll_policy


async def waited_under(manager: Manager, fake: FakeProvider) -> list[PollPolicy]:
    fake.status_sequence["tenant-provisioning"] = [ExecutionState.RUNNING] * 3 + [
        ExecutionState.SUCCEEDED
    ]
    await manager.create_workflow(spec())
    started = await manager.start_execution("tenant-provisioning")
    PACED.clear()
    await manager.wait_for_completion(started.execution_id)
    return list(PACED)


async def test_without_a_poll_policy_waits_poll_each_provider_at_its_own_pace(
    fast_calls: CallPolicy,
) -> None:
    """``Manager(poll_policy=None)``, the default: the provider's advertised policy
    (`SupportsPollPolicy`); ``PollPolicy()`` for a provider that advertises none."""
    own = recording_polls()
    fake = PolledFake(own)
    manager, _ = make_manager(fake, fast_calls)
    assert manager.poll_policy is None
    assert isinstance(fake, SupportsPollPolicy)
    assert await waited_under(manager, fake) == [own]
    assert not isinstance(FakeProvider(), SupportsPollPolicy)
    assert advertised_poll_policy(FakeProvider()) == PollPolicy()


async def test_a_managers_own_poll_policy_paces_every_provider(fast_calls: CallPolicy) -> None:
    chosen = recording_polls()
    fake = PolledFake(recording_polls())
    manager, _ = make_manager(fake, fast_calls, chosen)
    assert manager.poll_policy is chosen
    assert await waited_under(manager, fake) == [chosen]


async def test_a_poll_policy_must_be_a_poll_policy_or_none() -> None:
    with pytest.raises(TypeError, match="PollPolicy or None"):
        Manager(poll_policy=timedelta(seconds=1))  # type: ignore[arg-type]


async def test_wait_timeout_raises_and_leaves_the_execution_running(fast_calls: CallPolicy) -> None:
    fake = FakeProvider()
    fake.status_sequence["tenant-provisioning"] = [ExecutionState.RUNNING] * 10_000
    manager, _ = make_manager(fake, fast_calls)
    await manager.create_workflow(spec())
    started = await manager.start_execution("tenant-provisioning")
    with pytest.raises(OperationTimeoutError):
        await manager.wait_for_completion(started.execution_id, timeout=timedelta(milliseconds=50))
    assert fake.calls_of("stop_execution") == []
    assert fake.executions[started.execution_id]["state"] is ExecutionState.RUNNING


async def test_watch_yields_each_state_change_once(
    fast_calls: CallPolicy, fast_polls: object
) -> None:
    fake = FakeProvider()
    fake.status_sequence["tenant-provisioning"] = [
        ExecutionState.RUNNING,
        ExecutionState.RUNNING,
        ExecutionState.FAILED,
    ]
    manager, _ = make_manager(fake, fast_calls, fast_polls)
    await manager.create_workflow(spec())
    started = await manager.start_execution("tenant-provisioning")
    states = [s.state async for s in manager.watch(started.execution_id)]
    assert states == [ExecutionState.RUNNING, ExecutionState.FAILED]


async def test_run_starts_a_fresh_named_execution_when_redrive_is_unsupported(
    fast_calls: CallPolicy, fast_polls: object
) -> None:
    fake = FakeProvider()
    fake.status_sequence["tenant-provisioning"] = [ExecutionState.FAILED]
    manager, metrics = make_manager(fake, fast_calls, fast_polls)
    retry = RetryPolicy(max_attempts=3, initial_interval=timedelta(milliseconds=1))
    await manager.create_workflow(spec(retry_policy=retry))
    with pytest.raises(ExecutionFailedError) as info:
        await manager.run("tenant-provisioning", ExecutionInput(execution_name="t-1"))
    assert info.value.status.state is ExecutionState.FAILED
    assert list(fake.executions) == [
        "fake:tenant-provisioning:t-1",
        "fake:tenant-provisioning:t-1-retry-1",
        "fake:tenant-provisioning:t-1-retry-2",
    ]
    assert metrics.executions[("tenant-provisioning", ExecutionState.FAILED)] == 3


async def test_run_redrives_when_supported_and_returns_the_success(
    fast_calls: CallPolicy, fast_polls: object
) -> None:
    fake = RedrivableFake()
    fake.status_sequence["tenant-provisioning"] = [ExecutionState.TIMED_OUT]
    manager, _ = make_manager(fake, fast_calls, fast_polls)
    retry = RetryPolicy(max_attempts=2, initial_interval=timedelta(milliseconds=1))
    await manager.create_workflow(spec(retry_policy=retry))
    final = await manager.run("tenant-provisioning")
    assert final.state is ExecutionState.SUCCEEDED
    assert len(fake.calls_of("redrive_execution")) == 1
    assert len(fake.executions) == 1


async def test_run_never_retries_a_cancelled_execution(
    fast_calls: CallPolicy, fast_polls: object
) -> None:
    fake = RedrivableFake()
    fake.status_sequence["tenant-provisioning"] = [ExecutionState.CANCELLED]
    manager, _ = make_manager(fake, fast_calls, fast_polls)
    await manager.create_workflow(spec(retry_policy=RetryPolicy(max_attempts=5)))
    with pytest.raises(ExecutionFailedError, match="cancelled"):
        await manager.run("tenant-provisioning")
    assert fake.calls_of("redrive_execution") == []


async def test_redrive_requires_the_capability(fast_calls: CallPolicy) -> None:
    fake = FakeProvider()
    manager, _ = make_manager(fake, fast_calls, default_provider="fake")
    with pytest.raises(UnsupportedOperationError, match="redrive"):
        await manager.redrive_execution("x")
    assert fake.calls == []


async def test_aclose_closes_providers_and_refuses_further_calls(fast_calls: CallPolicy) -> None:
    fake = FakeProvider()
    async with make_manager(fake, fast_calls)[0] as manager:
        await manager.create_workflow(spec())
    assert fake.closed
    with pytest.raises(WorkflowError, match="Manager is closed"):
        await manager.create_workflow(spec())


class CallbackFake(FakeProvider):
    """A fake that answers callbacks for tokens that start with its name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.answered: list[str] = []

    def owns_task_token(self, task_token: str) -> bool:
        return task_token.startswith(f"{self.name}-token:")

    async def send_task_success(self, task_token: str, output: object) -> None:
        self.answered.append(task_token)

    async def send_task_failure(
        self, task_token: str, error: str, cause: str | None = None
    ) -> None:
        self.answered.append(task_token)

    async def send_task_heartbeat(self, task_token: str) -> None:
        self.answered.append(task_token)


async def test_a_callback_goes_to_the_provider_that_recognises_its_token(
    fast_calls: CallPolicy,
) -> None:
    first, second = CallbackFake("one"), CallbackFake("two")
    registry = Registry()
    registry.register(first)
    registry.register(second)
    manager = Manager(registry, call_policy=fast_calls)
    await manager.send_task_success("two-token:abc", {"ok": True})
    await manager.send_task_heartbeat("one-token:xyz")
    assert (first.answered, second.answered) == (["one-token:xyz"], ["two-token:abc"])
    with pytest.raises(ProviderNotFoundError, match="default_provider"):
        await manager.send_task_failure("nobody-knows", "E")
