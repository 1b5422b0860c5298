"""The provider conformance suite: the Provider contract as reusable pytest tests.

Enable it for a provider with a few lines in your test suite::

    from landlord_workflow.testing import ProviderConformance

    class TestMyEngine(ProviderConformance):
        provider_type = "my-engine"

        def make_provider(self):
            return MyEngineProvider()

``make_provider`` may be sync or async; the suite enters the provider as an
async context manager and closes it after each test. To build the provider
from other fixtures (a local server, say), override the ``provider`` fixture
instead, decorated with ``pytest_asyncio.fixture``.

The default `Scenarios` are Amazon States Language documents (Pass,
Wait, Fail), which suits the mock engine and Step Functions. A provider with
its own definition language sets ``scenarios`` to definitions of its own
that behave the same way (see `Scenarios`).

Needs pytest and pytest-asyncio (strict mode is fine: the suite marks its own
tests).
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any, ClassVar

import anyio
import attrs
import pytest
import pytest_asyncio

from landlord_workflow._provider import (
    Provider,
    SupportsListExecutions,
    SupportsListWorkflows,
    SupportsRedrive,
    SupportsWatch,
)
from landlord_workflow._types import (
    CANCELLED_ERROR_CODE,
    ExecutionInput,
    ExecutionResult,
    ExecutionState,
    ExecutionStatus,
    RetryPolicy,
    WorkflowSpec,
)
from landlord_workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    InvalidSpecError,
    WorkflowError,
    WorkflowNotFoundError,
)

__all__ = ["ProviderConformance", "Scenarios", "wait_until_terminal"]


@attrs.frozen(kw_only=True)
class Scenarios:
    """The definitions the suite runs, and what they must do.

    * ``succeed`` — ends ``succeeded``; its output is the input with
      ``succeed_output_key`` added (any value).
    * ``succeed_states`` — the states ``succeed`` enters, in order.
    * ``fail`` — ends ``failed`` with error code ``fail_error`` at state
      ``fail_state``.
    * ``slow`` — keeps running for at least ``slow_seconds`` (so it can be
      stopped while running).
    * ``invalid`` — a definition the provider's ``validate`` rejects.
    """

    succeed: Mapping[str, Any]
    succeed_states: tuple[str, ...]
    succeed_output_key: str
    fail: Mapping[str, Any]
    fail_state: str
    fail_error: str
    slow: Mapping[str, Any]
    slow_seconds: float
    invalid: Mapping[str, Any]

    @classmethod
    def asl(cls) -> Scenarios:
        """Amazon States Language scenarios (mock engine, Step Functions)."""
        return cls(
            succeed={
                "StartAt": "Prepare",
                "States": {
                    "Prepare": {"Type": "Pass", "Next": "Finish"},
                    "Finish": {
                        "Type": "Pass",
                        "Result": {"ok": True},
                        "ResultPath": "$.result",
                        "End": True,
                    },
                },
            },
            succeed_states=("Prepare", "Finish"),
            succeed_output_key="result",
            fail={
                "StartAt": "Prepare",
                "States": {
                    "Prepare": {"Type": "Pass", "Next": "Explode"},
                    "Explode": {"Type": "Fail", "Error": "Tenant.Broken", "Cause": "conformance"},
                },
            },
            fail_state="Explode",
            fail_error="Tenant.Broken",
            slow={
                "StartAt": "Hold",
                "States": {"Hold": {"Type": "Wait", "Seconds": 60, "End": True}},
            },
            slow_seconds=60,
            invalid={"StartAt": "Nowhere", "States": {"Here": {"Type": "Pass", "End": True}}},
        )


async def wait_until_terminal(
    provider: Provider, execution_id: str, *, timeout: float = 30.0, interval: float = 0.02
) -> ExecutionStatus:
    """Poll ``provider`` until the execution is terminal (test helper)."""
    with anyio.fail_after(timeout):
        while True:
            status = await provider.get_execution_status(execution_id)
            if status.state.is_terminal:
                return status
            await anyio.sleep(interval)


@pytest.mark.asyncio
class ProviderConformance:
    """Subclass me (as ``Test...``) and provide ``make_provider`` or a ``provider`` fixture."""

    provider_type: ClassVar[str] = ""
    """The provider's name; checked against ``provider.name``."""
    scenarios: ClassVar[Scenarios] = Scenarios.asl()
    check_redrive: ClassVar[bool] = True
    """Exercise ``SupportsRedrive`` when the provider has it. Set False only when
    the engine behind the provider under test cannot redrive (e.g. moto), and
    cover redrive elsewhere."""
    timeout: ClassVar[float] = 30.0
    """Seconds the suite waits for an execution to end."""

    def make_provider(self) -> Any:
        """Return a new provider (or an awaitable of one). Override this or ``provider``."""
        raise NotImplementedError("override make_provider() or the provider fixture")

    @pytest_asyncio.fixture
    async def provider(self) -> AsyncIterator[Provider]:
        """The provider under test, entered and closed around each test."""
        made = self.make_provider()
        if inspect.isawaitable(made):
            made = await made
        async with made as provider:
            yield provider

    # -- helpers -------------------------------------------------------------------

    def spec(self, definition: Mapping[str, Any], workflow_id: str | None = None) -> WorkflowSpec:
        """A WorkflowSpec for ``definition`` with a fresh workflow id."""
        return WorkflowSpec(
            workflow_id=workflow_id or f"conformance-{uuid.uuid4().hex[:12]}",
            provider_type=self.provider_type,
            name="Conformance suite workflow",
            definition=definition,
        )

    async def created(self, provider: Provider, definition: Mapping[str, Any]) -> WorkflowSpec:
        spec = self.spec(definition)
        await provider.create_workflow(spec)
        return spec

    async def started(
        self,
        provider: Provider,
        definition: Mapping[str, Any],
        payload: Any = None,
        name: str | None = None,
    ) -> tuple[WorkflowSpec, ExecutionResult]:
        spec = await self.created(provider, definition)
        result = await provider.start_execution(
            spec.workflow_id,
            ExecutionInput(
                input=payload if payload is not None else {"tenant": "t-1"}, execution_name=name
            ),
        )
        return spec, result

    async def finished(self, provider: Provider, execution_id: str) -> ExecutionStatus:
        return await wait_until_terminal(provider, execution_id, timeout=self.timeout)

    # -- the contract --------------------------------------------------------------

    async def test_name_matches_provider_type(self, provider: Provider) -> None:
        assert isinstance(provider, Provider)
        if self.provider_type:
            assert provider.name == self.provider_type

    async def test_owns_execution_recognises_its_own_ids_without_a_call(
        self, provider: Provider
    ) -> None:
        assert not inspect.iscoroutinefunction(provider.owns_execution), "sync and pure"
        _, result = await self.started(provider, self.scenarios.succeed)
        assert provider.owns_execution(result.execution_id) is True
        for foreign in ("", "x", "other-engine:wf:run-1", f"urn:nobody:{uuid.uuid4().hex}"):
            assert provider.owns_execution(foreign) is False, foreign
        await self.finished(provider, result.execution_id)

    async def test_get_workflow_returns_every_field_of_the_spec_as_created(
        self, provider: Provider
    ) -> None:
        spec = attrs.evolve(
            self.spec(self.scenarios.succeed),
            name="Provision a tenant (conformance) \u2013 \u00e9t\u00e9",
            description="Provisions compute and a database.\nSecond line: 100% \u2713",
            timeout=timedelta(minutes=30),
            retry_policy=RetryPolicy(
                max_attempts=3,
                backoff_rate=1.5,
                initial_interval=timedelta(seconds=2),
                max_interval=timedelta(minutes=1),
            ),
            tags={"team": "platform", "environment": "test"},
        )
        await provider.create_workflow(spec)
        assert await provider.get_workflow(spec.workflow_id) == spec
        changed = attrs.evolve(
            spec, retry_policy=RetryPolicy(max_attempts=5), tags={"team": "core"}, timeout=None
        )
        await provider.create_workflow(changed)
        assert await provider.get_workflow(spec.workflow_id) == changed, "updates are read back"
        with pytest.raises(WorkflowNotFoundError):
            await provider.get_workflow(f"missing-{uuid.uuid4().hex[:8]}")

    async def test_list_workflows_includes_created_ones(self, provider: Provider) -> None:
        if not isinstance(provider, SupportsListWorkflows):
            assert not hasattr(provider, "list_workflows")
            return
        first = await self.created(provider, self.scenarios.succeed)
        second = await self.created(provider, self.scenarios.fail)

        async def listed() -> dict[str, WorkflowSpec]:
            return {spec.workflow_id: spec async for spec in provider.list_workflows()}

        # Listings may come from an index the engine updates a moment after
        # the change (Temporal's visibility): wait for it to catch up.
        with anyio.fail_after(self.timeout):
            while True:
                found = await listed()
                if {first.workflow_id, second.workflow_id} <= found.keys():
                    break
                await anyio.sleep(0.05)
        assert found[first.workflow_id] == first
        assert found[second.workflow_id] == second
        await provider.delete_workflow(first.workflow_id)
        with anyio.fail_after(self.timeout):
            while True:
                remaining = await listed()
                if first.workflow_id not in remaining:
                    break
                await anyio.sleep(0.05)
        assert second.workflow_id in remaining

    async def test_validate_rejects_an_invalid_definition(self, provider: Provider) -> None:
        with pytest.raises(InvalidSpecError) as info:
            await provider.validate(self.spec(self.scenarios.invalid))
        assert info.value.problems, "the error lists its problems"
        await provider.validate(self.spec(self.scenarios.succeed))

    async def test_invalid_create_leaves_nothing_behind(self, provider: Provider) -> None:
        spec = self.spec(self.scenarios.invalid)
        with pytest.raises(InvalidSpecError):
            await provider.create_workflow(spec)
        with pytest.raises(WorkflowNotFoundError):
            await provider.start_execution(spec.workflow_id, ExecutionInput(input={}))

    async def test_create_is_idempotent(self, provider: Provider) -> None:
        spec = self.spec(self.scenarios.succeed)
        first = await provider.create_workflow(spec)
        second = await provider.create_workflow(spec)
        assert first.workflow_id == second.workflow_id == spec.workflow_id
        assert first.resource_ids == second.resource_ids
        assert first.provider_type == provider.name

    async def test_create_with_a_changed_definition_updates_it(self, provider: Provider) -> None:
        spec = await self.created(provider, self.scenarios.fail)
        changed = attrs.evolve(spec, definition=self.scenarios.succeed)
        first_ids = (await provider.create_workflow(changed)).resource_ids
        assert first_ids == (await provider.create_workflow(changed)).resource_ids
        result = await provider.start_execution(spec.workflow_id, ExecutionInput(input={"a": 1}))
        status = await self.finished(provider, result.execution_id)
        assert status.state is ExecutionState.SUCCEEDED, "new executions use the new definition"

    async def test_success_has_output_and_no_error(self, provider: Provider) -> None:
        spec, result = await self.started(provider, self.scenarios.succeed, {"tenant": "t-42"})
        assert result.workflow_id == spec.workflow_id
        assert result.provider_type == provider.name
        status = await self.finished(provider, result.execution_id)
        assert status.state is ExecutionState.SUCCEEDED
        assert status.execution_id == result.execution_id
        assert status.workflow_id == spec.workflow_id
        assert status.error is None
        assert isinstance(status.output, dict)
        assert status.output["tenant"] == "t-42"
        assert self.scenarios.succeed_output_key in status.output
        assert status.input == {"tenant": "t-42"}
        assert status.stop_time is not None
        assert status.stop_time >= status.start_time
        assert status.history == (), "history only on request"

    async def test_failure_has_error_with_failed_at_and_no_output(self, provider: Provider) -> None:
        _, result = await self.started(provider, self.scenarios.fail)
        status = await self.finished(provider, result.execution_id)
        assert status.state is ExecutionState.FAILED
        assert status.output is None
        assert status.error is not None
        assert status.error.code == self.scenarios.fail_error
        assert status.error.failed_at == self.scenarios.fail_state

    async def test_terminal_states_never_change(self, provider: Provider) -> None:
        _, result = await self.started(provider, self.scenarios.succeed)
        final = await self.finished(provider, result.execution_id)
        await provider.stop_execution(result.execution_id, "too late")
        again = await provider.get_execution_status(result.execution_id)
        assert again.state is final.state is ExecutionState.SUCCEEDED
        assert again.output == final.output
        assert again.stop_time == final.stop_time

    async def test_history_is_ordered_and_names_the_states(self, provider: Provider) -> None:
        _, result = await self.started(provider, self.scenarios.succeed)
        await self.finished(provider, result.execution_id)
        status = await provider.get_execution_status(result.execution_id, include_history=True)
        history = status.history
        assert history, "include_history=True returns the events"
        assert history[0].type == "ExecutionStarted"
        assert history[-1].type == "ExecutionSucceeded"
        stamps = [event.timestamp for event in history]
        assert stamps == sorted(stamps)
        assert all(event.timestamp.utcoffset() is not None for event in history)
        entered = [e.details.get("state") for e in history if e.type == "StateEntered"]
        assert tuple(entered) == self.scenarios.succeed_states
        assert all("raw_type" in event.details for event in history)

    async def test_start_is_idempotent_on_name_while_running(self, provider: Provider) -> None:
        spec, first = await self.started(provider, self.scenarios.slow, {"n": 1}, name="same-name")
        again = await provider.start_execution(
            spec.workflow_id, ExecutionInput(input={"n": 1}, execution_name="same-name")
        )
        assert again.execution_id == first.execution_id
        status = await provider.get_execution_status(first.execution_id)
        assert status.metadata.get("execution_name", "same-name") == "same-name"
        with pytest.raises(ExecutionAlreadyExistsError):
            await provider.start_execution(
                spec.workflow_id, ExecutionInput(input={"n": 2}, execution_name="same-name")
            )
        await provider.stop_execution(first.execution_id, "conformance")
        await self.finished(provider, first.execution_id)
        with pytest.raises(ExecutionAlreadyExistsError):
            await provider.start_execution(
                spec.workflow_id, ExecutionInput(input={"n": 1}, execution_name="same-name")
            )

    async def test_start_without_a_name_generates_unique_executions(
        self, provider: Provider
    ) -> None:
        spec = await self.created(provider, self.scenarios.succeed)
        ids = {
            (
                await provider.start_execution(spec.workflow_id, ExecutionInput(input={}))
            ).execution_id
            for _ in range(3)
        }
        assert len(ids) == 3
        for execution_id in ids:
            assert (await self.finished(provider, execution_id)).state is ExecutionState.SUCCEEDED

    async def test_start_on_an_unknown_workflow_is_not_found(self, provider: Provider) -> None:
        with pytest.raises(WorkflowNotFoundError):
            await provider.start_execution(
                f"missing-{uuid.uuid4().hex[:8]}", ExecutionInput(input={})
            )

    async def test_unknown_execution_is_not_found(self, provider: Provider) -> None:
        _, result = await self.started(provider, self.scenarios.succeed, name="known-name")
        unknown = result.execution_id.replace("known-name", "unknown-name")
        with pytest.raises(ExecutionNotFoundError):
            await provider.get_execution_status(unknown)
        with pytest.raises(ExecutionNotFoundError):
            await provider.stop_execution(unknown, "no such execution")

    async def test_stop_cancels_a_running_execution_and_is_idempotent(
        self, provider: Provider
    ) -> None:
        _, result = await self.started(provider, self.scenarios.slow)
        running = await provider.get_execution_status(result.execution_id)
        assert running.state in (ExecutionState.PENDING, ExecutionState.RUNNING)
        await provider.stop_execution(result.execution_id, "operator request")
        status = await self.finished(provider, result.execution_id)
        assert status.state is ExecutionState.CANCELLED
        assert status.output is None
        assert status.error is not None
        assert status.error.code == CANCELLED_ERROR_CODE
        await provider.stop_execution(result.execution_id, "again")
        assert (await provider.get_execution_status(result.execution_id)).state is (
            ExecutionState.CANCELLED
        )

    async def test_delete_is_idempotent(self, provider: Provider) -> None:
        spec = await self.created(provider, self.scenarios.succeed)
        await provider.delete_workflow(spec.workflow_id)
        await provider.delete_workflow(spec.workflow_id)
        await provider.delete_workflow(f"never-created-{uuid.uuid4().hex[:8]}")
        with pytest.raises(WorkflowNotFoundError):
            await provider.start_execution(spec.workflow_id, ExecutionInput(input={}))

    async def test_cancellation_is_honoured(self, provider: Provider) -> None:
        spec, running = await self.started(provider, self.scenarios.slow)
        name = "cancelled-start"
        with anyio.fail_after(5):
            with anyio.CancelScope() as scope:
                scope.cancel()
                status = await provider.get_execution_status(running.execution_id)
                assert status.execution_id == running.execution_id  # finished before a checkpoint
            with anyio.CancelScope() as scope:
                scope.cancel()
                await provider.start_execution(
                    spec.workflow_id, ExecutionInput(input={"n": 1}, execution_name=name)
                )
        # Nothing half-made: the same start now either creates the execution or
        # returns the one the cancelled call managed to create.
        again = await provider.start_execution(
            spec.workflow_id, ExecutionInput(input={"n": 1}, execution_name=name)
        )
        status = await provider.get_execution_status(again.execution_id)
        assert status.state in (ExecutionState.PENDING, ExecutionState.RUNNING)
        assert status.input == {"n": 1}
        for execution_id in (running.execution_id, again.execution_id):
            await provider.stop_execution(execution_id, "conformance")
            assert (await self.finished(provider, execution_id)).state is (ExecutionState.CANCELLED)

    async def test_watch_ends_with_the_terminal_status(self, provider: Provider) -> None:
        if not isinstance(provider, SupportsWatch):
            assert not hasattr(provider, "watch_execution")
            return
        _, result = await self.started(provider, self.scenarios.succeed)
        with anyio.fail_after(self.timeout):
            states = [s.state async for s in provider.watch_execution(result.execution_id)]
        assert states[-1] is ExecutionState.SUCCEEDED
        assert all(not s.is_terminal for s in states[:-1])

    async def test_list_executions_includes_started_ones(self, provider: Provider) -> None:
        if not isinstance(provider, SupportsListExecutions):
            assert not hasattr(provider, "list_executions")
            return
        spec, result = await self.started(provider, self.scenarios.succeed)
        await self.finished(provider, result.execution_id)

        async def listed(state: ExecutionState | None = None) -> list[str]:
            listing = provider.list_executions(spec.workflow_id, state=state)
            return [status.execution_id async for status in listing]

        # Listings may come from an index the engine updates a moment after
        # the execution changes (Temporal's visibility, AWS ListExecutions):
        # wait for it to catch up.
        with anyio.fail_after(self.timeout):
            while True:
                if await listed(ExecutionState.SUCCEEDED) == [result.execution_id]:
                    break
                await anyio.sleep(0.05)
        assert await listed() == [result.execution_id]
        assert await listed(ExecutionState.FAILED) == []

    async def test_redrive_resumes_a_failed_execution(self, provider: Provider) -> None:
        if not isinstance(provider, SupportsRedrive) or not self.check_redrive:
            assert not (isinstance(provider, SupportsRedrive) and self.check_redrive)
            return
        _, result = await self.started(provider, self.scenarios.fail)
        assert (await self.finished(provider, result.execution_id)).state is ExecutionState.FAILED
        redriven = await provider.redrive_execution(result.execution_id)
        assert redriven.execution_id == result.execution_id
        status = await self.finished(provider, result.execution_id)
        assert status.state is ExecutionState.FAILED, "the Fail state fails again"
        history = await provider.get_execution_status(result.execution_id, include_history=True)
        assert any(event.type == "ExecutionRedriven" for event in history.history)
        # a succeeded execution is not redrivable
        _, ok = await self.started(provider, self.scenarios.succeed)
        await self.finished(provider, ok.execution_id)
        with pytest.raises(WorkflowError):
            await provider.redrive_execution(ok.execution_id)
