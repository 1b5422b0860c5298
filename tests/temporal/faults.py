"""Fault injection at Temporal's RPC boundary, for tests.

:class:`FaultyService` wraps the temporalio ``ServiceClient`` of a real
connection to the dev server. Every RPC goes through its ``_rpc_call`` (the
one method temporalio's generated service stubs call), so a test can make an
RPC fail with any gRPC status before it reaches the server, lose its answer
after the server acted on it, or hang; it also records every call with its
``retry`` flag.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs
from google.protobuf.message import Message
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode, ServiceClient

from landlord_workflow.errors import ProviderUnavailableError, ThrottledError
from landlord_workflow.providers.mock import Faults
from landlord_workflow.providers.temporal._ids import (
    DEFINITION_ID_PREFIX,
    DEFINITION_WORKFLOW_TYPE,
)
from landlord_workflow.testing._temporal import LocalTemporal


def operation_of(rpc: str, req: Any) -> str | None:
    """The provider operation whose own RPC ``rpc`` is (None: a read on the way).

    ``start_workflow_execution`` starts a definition record (create_workflow)
    or an execution; ``describe_workflow_execution`` of an execution is the
    status read; the long poll of the history is watch_execution.
    """
    if rpc == "start_workflow_execution":
        is_record = req.workflow_type.name == DEFINITION_WORKFLOW_TYPE
        return "create_workflow" if is_record else "start_execution"
    if rpc == "describe_workflow_execution":
        is_record = req.execution.workflow_id.startswith(DEFINITION_ID_PREFIX)
        return None if is_record else "get_execution_status"
    if rpc == "terminate_workflow_execution":
        target = req.workflow_execution.workflow_id
        return "delete_workflow" if target.startswith(DEFINITION_ID_PREFIX) else None
    if rpc == "get_workflow_execution_history":
        return "watch_execution" if req.wait_new_event else None
    return {
        "request_cancel_workflow_execution": "stop_execution",
        "reset_workflow_execution": "redrive_execution",
    }.get(rpc)


@attrs.define
class _Fault:
    status: RPCStatusCode
    times: int
    after: bool  # the server acted; only the answer is lost


class FaultyService(ServiceClient):
    """A ServiceClient that injects failures into chosen RPCs (by snake_case name)."""

    def __init__(self, inner: ServiceClient, *, plan: Faults | None = None) -> None:
        super().__init__(inner.config)
        self._inner = inner
        self.plan = plan
        self.calls: Counter[str] = Counter()
        self.retry_flags: set[bool] = set()
        self._faults: dict[str, _Fault] = {}
        self._hang = False

    def fail(self, rpc: str, status: RPCStatusCode, *, times: int = 1) -> None:
        """The next ``times`` calls of ``rpc`` fail with ``status`` before reaching the server."""
        self._faults[rpc] = _Fault(status=status, times=times, after=False)

    def lose_answer(self, rpc: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``rpc`` reach the server, then fail UNAVAILABLE."""
        self._faults[rpc] = _Fault(status=RPCStatusCode.UNAVAILABLE, times=times, after=True)

    def hang_everything(self) -> None:
        """Every later call waits forever (until cancelled)."""
        self._hang = True

    def hang_nothing(self) -> None:
        """Calls go through again."""
        self._hang = False

    @property
    def worker_service_client(self) -> Any:
        return self._inner.worker_service_client

    def update_rpc_metadata(self, metadata: Mapping[str, str | bytes]) -> None:
        self._inner.update_rpc_metadata(metadata)

    def update_api_key(self, api_key: str | None) -> None:
        self._inner.update_api_key(api_key)

    async def _rpc_call(
        self,
        rpc: str,
        req: Message,
        resp_type: Any,
        *,
        service: str,
        retry: bool,
        metadata: Mapping[str, str | bytes],
        timeout: timedelta | None,
    ) -> Any:
        self.calls[rpc] += 1
        self.retry_flags.add(retry)
        if self._hang:
            await asyncio.Event().wait()
        operation = operation_of(rpc, req) if self.plan is not None else None
        if operation is not None:
            await self._planned_before(operation)
        fault = self._faults.get(rpc)
        if fault is None or fault.times <= 0:
            fault = None
        else:
            fault.times -= 1
            if not fault.after:
                raise RPCError(f"injected {fault.status.name}", fault.status, b"")
        try:
            response = await self._inner._rpc_call(
                rpc,
                req,
                resp_type,
                service=service,
                retry=retry,
                metadata=metadata,
                timeout=timeout,
            )
        except RPCError:
            if operation is not None:
                self._planned_after(operation)  # an answer is lost whatever it said
            raise
        if fault is not None:
            raise RPCError("injected: the answer was lost", fault.status, b"")
        if operation is not None:
            self._planned_after(operation)
        return response

    async def _planned_before(self, operation: str) -> None:
        assert self.plan is not None
        try:
            await self.plan.before(operation)
        except ThrottledError as exc:
            raise RPCError(f"injected: {exc}", RPCStatusCode.RESOURCE_EXHAUSTED, b"") from None
        except ProviderUnavailableError as exc:
            raise RPCError(f"injected: {exc}", RPCStatusCode.UNAVAILABLE, b"") from None

    def _planned_after(self, operation: str) -> None:
        assert self.plan is not None
        try:
            self.plan.after(operation)
        except ProviderUnavailableError as exc:
            raise RPCError(f"injected: {exc}", RPCStatusCode.UNAVAILABLE, b"") from None


async def faulty_client(
    server: LocalTemporal, *, plan: Faults | None = None
) -> tuple[Client, FaultyService]:
    """A client on ``server`` whose RPCs go through a :class:`FaultyService`."""
    real = await server.connect()
    service = FaultyService(real.service_client, plan=plan)
    return Client(service, namespace=server.namespace), service
