"""The engines of the fault matrix (``test_faults.py``), each behind one small adapter.

Every engine is a :class:`FaultyEngine`: an open provider plus ``faults``, a
:class:`~landlord_workflow.providers.mock.Faults` plan keyed by provider
operation (``throttle``, ``unavailable``, ``drop_response``, ``latency``;
``calls`` and ``injected`` counted per operation). Engines differ only in
where the plan acts, always at the engine's own boundary so that the
adapter's error mapping is part of what is tested:

* mock: ``provider.faults`` itself, at the provider's API boundary;
* Step Functions (moto server): botocore event hooks on the provider's own
  client, on the API each operation sends (``STEP_FUNCTIONS_APIS``):
  ``throttle`` answers a 400 ThrottlingException and ``unavailable`` a 503
  instead of sending, ``drop_response`` raises ConnectionClosedError after
  moto performed the call, ``latency`` sleeps before sending; and
  ``connection`` (EndpointConnectionError before sending), which only an
  HTTP client has;
* Temporal (dev server): temporalio's RPC entry point
  (:class:`temporal.faults.FaultyService`, on the RPC each operation sends):
  RESOURCE_EXHAUSTED or UNAVAILABLE before the RPC reaches the server, a lost
  answer after the server acted, latency before sending.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import anyio
import pytest
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
)
from reliability.support import (
    FLAKY,
    GATED,
    PASS,
    Flaky,
    Gate,
    error_response,
    mock_provider,
    settle,
)

from landlord_workflow import ExecutionNotFoundError, ProviderUnavailableError, ThrottledError
from landlord_workflow.providers.mock import Faults

MATRIX_OPERATIONS = (
    "create_workflow",
    "start_execution",
    "get_execution_status",
    "stop_execution",
    "delete_workflow",
    "redrive_execution",
)
"""Every Manager operation the matrix injects faults into (where the engine has it)."""


class FaultyEngine:
    """One engine under fault injection, as the fault matrix sees it."""

    name: ClassVar[str]
    """The provider's name (``provider_type`` of the specs)."""
    marks: ClassVar[tuple[pytest.MarkDecorator, ...]] = ()
    operations: ClassVar[tuple[str, ...]] = MATRIX_OPERATIONS
    """The operations of MATRIX_OPERATIONS this engine has."""
    kinds: ClassVar[tuple[str, ...]] = ("throttle", "unavailable", "drop_response")
    """Transient faults the engine can show: retried, one retry each."""
    refusals: ClassVar[tuple[str, ...]] = ("throttle", "unavailable")
    """Faults that refuse a call before it reaches the engine (no effect)."""
    native_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    """What the adapter's typed errors chain as ``__cause__`` (empty: raised directly)."""
    spike_attempt_timeout: ClassVar[float]
    """Seconds: CallPolicy.attempt_timeout in the latency-spike tests."""
    reports_stop_cause: ClassVar[bool] = True
    """Whether a stopped execution's ``error.cause`` is the stop reason."""
    resends_after_lost_answer: ClassVar[frozenset[str]] = frozenset(MATRIX_OPERATIONS)
    """Operations whose retry sends the same request again after its answer was lost
    (others read first and find the effect already done)."""

    succeeds: Mapping[str, Any]
    """A definition whose executions succeed at once."""
    holds: Mapping[str, Any]
    """A definition whose executions run until stopped."""
    fails_once: Mapping[str, Any]
    """A definition whose first run fails at a task that succeeds when redriven
    (arm it with :meth:`fail_first_run`)."""

    provider: Any
    """The open provider (its listings are part of what the matrix reads)."""
    faults: Faults

    def __init__(self) -> None:
        self._workflow_prefix = f"wf-{uuid.uuid4().hex[:8]}"
        self._started: list[str] = []

    # -- faults ------------------------------------------------------------------------------

    def inject(self, kind: str, operation: str, times: int) -> None:
        """The next ``times`` calls of ``operation`` fail with ``kind``."""
        getattr(self.faults, kind)(operation, times=times)

    def injected(self, operation: str) -> int:
        return self.faults.injected(operation)

    def injected_in_all(self) -> int:
        return sum(self.injected(op) for op in (*self.operations, "watch_execution"))

    storm_spares: ClassVar[frozenset[str]] = frozenset()
    """Operations the storm leaves alone on this engine (see its comment)."""

    def storm(self) -> None:
        """Throttling, unavailability and lost answers at random, on every operation."""
        for offset, op in enumerate((*self.operations, "watch_execution")):
            if op in self.storm_spares:
                continue
            self.faults.throttle(op, rate=0.2, seed=offset)
            self.faults.unavailable(op, rate=0.1, seed=100 + offset)
            if op != "watch_execution":
                self.faults.drop_response(op, rate=0.1, seed=200 + offset)

    # -- what the engine holds -------------------------------------------------------------------

    def new_workflow_id(self, suffix: str = "") -> str:
        return f"{self._workflow_prefix}{suffix}"

    def resource_ids(self, workflow_id: str) -> dict[str, str]:
        raise NotImplementedError

    async def listed_workflows(self, expect: list[str]) -> list[str]:
        """This test's workflows as the engine lists them (sorted)."""
        return await self._settled(expect, self._list_workflows)

    async def listed_executions(self, workflow_id: str, expect: list[str] | int) -> list[str]:
        """The ids of ``workflow_id``'s executions as the engine lists them (sorted);
        ``expect``: the ids, or how many, the test expects to see."""

        async def listing() -> list[str]:
            return [s.execution_id async for s in self.provider.list_executions(workflow_id)]

        return await self._settled(expect, listing)

    async def _list_workflows(self) -> list[str]:
        return [
            spec.workflow_id
            async for spec in self.provider.list_workflows()
            if spec.workflow_id.startswith(self._workflow_prefix)
        ]

    async def _settled(self, expect: list[str] | int, listing: Callable[[], Any]) -> list[str]:
        return sorted(await listing())

    def fail_first_run(self, workflow_id: str, execution_name: str) -> None:
        """Make the first run of that execution of ``fails_once`` fail."""

    async def task_runs(self, task: str, workflow_id: str, execution_name: str) -> int | None:
        """How often ``task`` ("held" / "flaky") ran for that execution; None where the
        test cannot count it on this engine."""
        return None

    def track(self, execution_id: str) -> None:
        """Stop this execution when the test ends, if it still runs."""
        self._started.append(execution_id)

    async def stop_what_still_runs(self) -> None:
        self.faults.clear()
        for execution_id in self._started:
            try:
                status = await self.provider.get_execution_status(execution_id)
            except ExecutionNotFoundError:
                continue  # it went with its workflow (moto)
            if not status.state.is_terminal:
                await self.provider.stop_execution(execution_id, "test over")


# -- mock ------------------------------------------------------------------------------------------


class MockEngine(FaultyEngine):
    name = "mock"
    spike_attempt_timeout = 0.05
    succeeds, holds, fails_once = PASS, GATED, FLAKY

    def __init__(self, provider: Any, gate: Gate, flaky: Flaky) -> None:
        super().__init__()
        self.provider = provider
        self.faults = provider.faults
        self.gate = gate
        self.flaky = flaky

    @classmethod
    @asynccontextmanager
    async def opened(cls, request: pytest.FixtureRequest) -> AsyncIterator[MockEngine]:
        provider, gate, flaky = mock_provider()
        async with provider:
            yield cls(provider, gate, flaky)

    def resource_ids(self, workflow_id: str) -> dict[str, str]:
        return {"state_machine": f"mock:{workflow_id}"}

    async def task_runs(self, task: str, workflow_id: str, execution_name: str) -> int | None:
        await settle()  # the execution's task runs as soon as the loop lets it
        return self.gate.calls if task == "held" else self.flaky.calls


# -- Step Functions on moto ----------------------------------------------------------------------

STEP_FUNCTIONS_APIS = {
    "create_workflow": "CreateStateMachine",
    "start_execution": "StartExecution",
    "get_execution_status": "DescribeExecution",
    "stop_execution": "StopExecution",
    "delete_workflow": "DeleteStateMachine",
}
"""The API each operation sends, where its faults act."""
ACCOUNT = "123456789012"
HOLD_30_SECONDS: dict[str, Any] = {
    "StartAt": "Hold",
    "States": {"Hold": {"Type": "Wait", "Seconds": 30, "End": True}},
}


class StepFunctionsEngine(FaultyEngine):
    name = "step-functions"
    marks = (pytest.mark.moto,)
    # moto has no RedriveExecution: redrive faults run on the other engines.
    operations = tuple(STEP_FUNCTIONS_APIS)
    kinds = ("throttle", "unavailable", "connection", "drop_response")
    refusals = ("throttle", "unavailable", "connection")
    native_errors = (ClientError, BotoCoreError)
    spike_attempt_timeout = 0.25  # moto answers in ~5-20 ms
    reports_stop_cause = False  # moto's DescribeExecution has no cause for a stop
    succeeds, holds = PASS, HOLD_30_SECONDS

    def __init__(self, provider: Any) -> None:
        super().__init__()
        self.provider = provider
        self.faults = Faults()
        self._connections: Counter[str] = Counter()
        self._connections_injected: Counter[str] = Counter()
        events = provider.client.meta.events
        for operation, api in STEP_FUNCTIONS_APIS.items():
            events.register(f"before-send.sfn.{api}", self._before_send(operation))
            events.register(f"after-call.sfn.{api}", self._after_call(operation))

    @classmethod
    @asynccontextmanager
    async def opened(cls, request: pytest.FixtureRequest) -> AsyncIterator[StepFunctionsEngine]:
        engine = request.getfixturevalue("stepfunctions_engine")
        # A fixed account: no STS call inside timed attempts.
        async with engine.provider(account_id=ACCOUNT) as provider:
            yield cls(provider)

    def _before_send(self, operation: str) -> Callable[..., Any]:
        async def before_send(request: Any, **kwargs: Any) -> Any:
            try:
                await self.faults.before(operation)
            except ThrottledError:
                return error_response(request, 400, "ThrottlingException", "Rate exceeded")
            except ProviderUnavailableError:
                return error_response(request, 503, "ServiceUnavailable", "try again")
            if self._connections[operation] > 0:
                self._connections[operation] -= 1
                self._connections_injected[operation] += 1
                raise EndpointConnectionError(endpoint_url="http://127.0.0.1/injected")
            return None

        return before_send

    def _after_call(self, operation: str) -> Callable[..., Any]:
        def after_call(http_response: Any, **kwargs: Any) -> None:
            if http_response.status_code >= 300:
                return  # only a successful answer can be lost after the fact
            try:
                self.faults.after(operation)
            except ProviderUnavailableError:
                raise ConnectionClosedError(endpoint_url="http://127.0.0.1/injected") from None

        return after_call

    def inject(self, kind: str, operation: str, times: int) -> None:
        if kind == "connection":
            self._connections[operation] += times
        else:
            super().inject(kind, operation, times)

    def injected(self, operation: str) -> int:
        return super().injected(operation) + self._connections_injected[operation]

    def resource_ids(self, workflow_id: str) -> dict[str, str]:
        return {
            "state_machine_arn": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{workflow_id}"
        }


# -- Temporal on the dev server ------------------------------------------------------------------


class TemporalEngine(FaultyEngine):
    name = "temporal"
    marks = (pytest.mark.temporal,)
    spike_attempt_timeout = 0.25
    # create_workflow reads the definition record before writing it, and
    # redrive_execution the current run before resetting it: after a lost
    # answer, the retry finds the effect and sends nothing.
    resends_after_lost_answer = frozenset(MATRIX_OPERATIONS) - {
        "create_workflow",
        "redrive_execution",
    }
    # The storm's status reads all happen inside wait_for_completion's watch,
    # and the Manager retries only a watch's opening while this provider's
    # watch reads the status again after each change: a fault there would
    # end the wait (pinned, xfail, in temporal/test_manager_on_temporal.py).
    storm_spares = frozenset({"get_execution_status", "watch_execution"})

    def __init__(self, provider: Any, service: Any) -> None:
        from temporal.support import native
        from temporalio.service import RPCError

        super().__init__()
        self.provider = provider
        self.faults = service.plan
        self.native_errors = (RPCError,)  # type: ignore[misc]
        self.succeeds = native("ConformanceSucceed")
        self.holds = native("ConformanceSlow")
        self.fails_once = native("PrepareThenFlaky")

    @classmethod
    @asynccontextmanager
    async def opened(cls, request: pytest.FixtureRequest) -> AsyncIterator[TemporalEngine]:
        from temporal.faults import faulty_client

        from landlord_workflow.providers.temporal import TemporalProvider

        server = request.getfixturevalue("local_temporal")
        request.getfixturevalue("native_worker")
        client, service = await faulty_client(server, plan=Faults())
        async with TemporalProvider(client=client) as provider:
            yield cls(provider, service)

    def resource_ids(self, workflow_id: str) -> dict[str, str]:
        return {
            "definition_workflow_id": f"landlord-workflow-definition:{workflow_id}",
            "namespace": "default",
        }

    async def _settled(self, expect: list[str] | int, listing: Callable[[], Any]) -> list[str]:
        """Temporal lists from its visibility store, a moment behind: wait (bounded)
        until the listing shows ``expect``, then return what it shows."""

        def as_expected(seen: list[str]) -> bool:
            return len(seen) == expect if isinstance(expect, int) else seen == sorted(expect)

        seen: list[str] = sorted(await listing())
        with anyio.move_on_after(10):
            while not as_expected(seen):
                await anyio.sleep(0.05)
                seen = sorted(await listing())
        return seen

    def fail_first_run(self, workflow_id: str, execution_name: str) -> None:
        from temporal import workflows

        workflows.FLAKY_FAILURES_LEFT[f"{workflow_id}/{execution_name}"] = 1

    async def task_runs(self, task: str, workflow_id: str, execution_name: str) -> int | None:
        from temporal import workflows

        if task != "flaky":
            return None  # the held workflow only sleeps
        return workflows.CALLS[("Flaky", f"{workflow_id}/{execution_name}")]


ENGINES: tuple[type[FaultyEngine], ...] = (MockEngine, StepFunctionsEngine, TemporalEngine)


@asynccontextmanager
async def opened_engine(name: str, request: pytest.FixtureRequest) -> AsyncIterator[FaultyEngine]:
    """The engine called ``name``, open; what its test left running is stopped after it."""
    engine_type = next(e for e in ENGINES if e.name == name)
    async with engine_type.opened(request) as engine:
        yield engine
        await engine.stop_what_still_runs()
