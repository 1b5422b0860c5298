"""A local Step Functions engine for tests: moto server on the loopback interface.

::

    from landlord_workflow.testing._moto import LocalStepFunctions

    async with LocalStepFunctions() as engine:
        async with engine.provider() as provider:
            await provider.create_workflow(spec)

`LocalStepFunctions` starts ``moto``'s threaded server on ``127.0.0.1`` with an
OS-chosen port, exports ``MOTO_PORT`` (moto's task integrations call back
through it) and enables real ASL execution (``execute_state_machine``) before
anything is created. `LocalStepFunctions.reset` wipes every resource between
tests. It works as a sync and as an async context manager; the async form
runs the blocking start, stop and reset calls in a worker thread.

Needs ``moto[server] >= 5.2.3`` and the ``aws`` extra. No AWS account and no
network beyond loopback: the providers it makes use fake credentials.

Do not run such tests under ``python -X dev`` or ``PYTHONASYNCIODEBUG=1``:
aiohttp's debug mode rejects the duplicate ``Server`` header moto sends.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio.to_thread

if TYPE_CHECKING:
    from landlord_workflow.providers.stepfunctions import StepFunctionsProvider

__all__ = ["FAKE_ACCOUNT_ID", "FAKE_CREDENTIALS", "FAKE_ROLE_ARN", "LocalStepFunctions"]

FAKE_ACCOUNT_ID = "123456789012"
"""The account moto answers for (STS GetCallerIdentity)."""
FAKE_ROLE_ARN = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/landlord-workflow-test"
"""A role ARN moto accepts for state machines (moto does not check roles)."""
FAKE_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}
_ENGINE_CONFIG = {"stepfunctions": {"execute_state_machine": True}}
_HTTP_TIMEOUT_SECONDS = 10.0


class LocalStepFunctions:
    """moto server for Step Functions (and STS) on ``127.0.0.1``.

    ``region`` is the region of the providers `provider` makes.
    """

    def __init__(self, *, region: str = "us-east-1") -> None:
        self.region = region
        self._server: Any = None
        self._endpoint_url: str | None = None
        self._previous_moto_port: str | None = None
        self._session: Any = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        if self._endpoint_url is None:
            raise RuntimeError("LocalStepFunctions is not running: use 'with' or 'async with'")
        return self._endpoint_url

    @property
    def port(self) -> int:
        """The port the OS chose for the server."""
        return int(self.endpoint_url.rsplit(":", 1)[1])

    def __repr__(self) -> str:
        return f"LocalStepFunctions(region={self.region!r}, endpoint_url={self._endpoint_url!r})"

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Start the server, export ``MOTO_PORT`` and enable ASL execution."""
        if self._server is not None:
            raise RuntimeError("LocalStepFunctions is already running")
        from moto.server import ThreadedMotoServer  # test-only dependency, imported lazily

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self._endpoint_url = f"http://{host}:{port}"
        self._previous_moto_port = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(port)
        try:
            self._configure()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and restore ``MOTO_PORT``. Idempotent."""
        server, self._server = self._server, None
        self._endpoint_url = None
        if server is None:
            return
        if self._previous_moto_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = self._previous_moto_port
        server.stop()

    def reset(self) -> None:
        """Delete every resource (``/moto-api/reset``), then re-enable ASL execution."""
        self._post("/moto-api/reset", None)
        self._configure()

    def configure(self, settings: Mapping[str, Any]) -> None:
        """POST ``settings`` to moto's ``/moto-api/config`` (process-wide), e.g.
        ``{"lambda": {"use_docker": False}}`` so Lambda Task states echo their
        payload instead of failing with "function not found"."""
        self._post("/moto-api/config", dict(settings))

    async def areset(self) -> None:
        """`reset` without blocking the event loop."""
        await anyio.to_thread.run_sync(self.reset)

    def _configure(self) -> None:
        self._post("/moto-api/config", _ENGINE_CONFIG)

    def _post(self, path: str, payload: object) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
            self.endpoint_url + path,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await anyio.to_thread.run_sync(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop)

    # -- providers ------------------------------------------------------------

    def provider(
        self,
        *,
        role_arn: str | None = FAKE_ROLE_ARN,
        account_id: str | None = None,
        consistency_window: timedelta = timedelta(seconds=10),
        **kwargs: Any,
    ) -> StepFunctionsProvider:
        """A `StepFunctionsProvider` bound to this server, with fake credentials.

        Use it as ``async with engine.provider() as provider``. Extra keyword
        arguments go to the provider (``read_timeout``, ...); ``session``
        replaces the fake-credential session.
        """
        import aioboto3  # the aws extra, imported lazily

        from landlord_workflow.providers.stepfunctions import (
            StepFunctionsProvider,
        )

        session = kwargs.pop("session", None)
        if session is None:
            # One fake-credential session for every provider of this engine:
            # botocore caches the parsed service models per session.
            if self._session is None:
                self._session = aioboto3.Session(region_name=self.region, **FAKE_CREDENTIALS)
            session = self._session
        return StepFunctionsProvider(
            region=self.region,
            role_arn=role_arn,
            endpoint_url=self.endpoint_url,
            account_id=account_id,
            session=session,
            consistency_window=consistency_window,
            **kwargs,
        )
