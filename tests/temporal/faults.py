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

from landlord_workflow.testing._temporal import LocalTemporal


@attrs.define
class _Fault:
    status: RPCStatusCode
    times: int
    after: bool  # the server acted; only the answer is lost


class FaultyService(ServiceClient):
    """A ServiceClient that injects failures into chosen RPCs (by snake_case name)."""

    def __init__(self, inner: ServiceClient) -> None:
        super().__init__(inner.config)
        self._inner = inner
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
        fault = self._faults.get(rpc)
        if fault is None or fault.times <= 0:
            fault = None
        else:
            fault.times -= 1
            if not fault.after:
                raise RPCError(f"injected {fault.status.name}", fault.status, b"")
        response = await self._inner._rpc_call(
            rpc,
            req,
            resp_type,
            service=service,
            retry=retry,
            metadata=metadata,
            timeout=timeout,
        )
        if fault is not None:
            raise RPCError("injected: the answer was lost", fault.status, b"")
        return response


async def faulty_client(server: LocalTemporal) -> tuple[Client, FaultyService]:
    """A client on ``server`` whose RPCs go through a :class:`FaultyService`."""
    real = await server.connect()
    service = FaultyService(real.service_client)
    return Client(service, namespace=server.namespace), service
