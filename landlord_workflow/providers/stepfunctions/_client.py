"""The lifecycle of the one aioboto3 ``stepfunctions`` client a provider owns.

`SFNClientLifecycle` builds the aioboto3 session and the
`AioConfig` (botocore retries off: the Manager's
``CallPolicy`` is the single retry layer), opens the client lazily under a
lock inside an `contextlib.AsyncExitStack` after preloading botocore's
models in a worker thread, looks the account id up once with STS
GetCallerIdentity, and closes the client. Once closed it refuses to open
again: every later use raises [`ProviderError`][landlord_workflow.errors.ProviderError].
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import anyio
import anyio.to_thread

try:
    import aioboto3
    from aiobotocore.config import AioConfig
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "StepFunctionsProvider needs aioboto3: pip install 'landlord-workflow[aws]'"
    ) from exc

from landlord_workflow import __version__
from landlord_workflow.errors import ProviderError
from landlord_workflow.providers.stepfunctions._errors import ErrorContext, translate_errors
from landlord_workflow.providers.stepfunctions._mapping import PROVIDER_NAME

if TYPE_CHECKING:
    from types_aiobotocore_stepfunctions.client import SFNClient

__all__ = ["SFNClientLifecycle"]

_log = logging.getLogger("landlord_workflow.providers.stepfunctions")

_PRELOADED_SERVICE_FILES = ("service-2", "endpoint-rule-set-1", "paginators-1")
_PRELOADED_DATA_FILES = ("endpoints", "partitions", "sdk-default-configuration", "_retry")


def _preload_models(session: Any) -> None:
    """Read botocore's JSON models for Step Functions into the session's cache.

    Client creation reads them synchronously (~0.1 s, once per session); run
    in a worker thread first, the event loop is not blocked by the disk reads
    and JSON parsing. Best effort: any failure just leaves the work to
    client creation.
    """
    try:
        loader = session._session.get_component("data_loader")
        for type_name in _PRELOADED_SERVICE_FILES:
            loader.load_service_model("stepfunctions", type_name)
        for name in _PRELOADED_DATA_FILES:
            loader.load_data(name)
    except Exception:  # an optimisation, never an error
        _log.debug("could not preload botocore models", exc_info=True)


class SFNClientLifecycle:
    """Opens, hands out and closes one ``stepfunctions`` client; knows the account.

    Never shows the session (it may hold credentials).
    """

    def __init__(
        self,
        *,
        region: str,
        endpoint_url: str | None,
        account_id: str | None,
        session: Any,
        connect_timeout: timedelta,
        read_timeout: timedelta,
        max_pool_connections: int,
    ) -> None:
        self._region = region
        self._endpoint_url = endpoint_url
        self._account_id = account_id
        self._session = session
        self._config = AioConfig(
            connect_timeout=connect_timeout.total_seconds(),
            read_timeout=read_timeout.total_seconds(),
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=max_pool_connections,
            user_agent_extra=f"landlord-workflow/{__version__}",
        )
        self._open_lock = anyio.Lock()
        self._account_lock = anyio.Lock()
        self._stack: AsyncExitStack | None = None
        self._client: SFNClient | None = None
        self._closed = False

    @property
    def endpoint_url(self) -> str | None:
        """The endpoint override, or ``None`` for AWS."""
        return self._endpoint_url

    @property
    def account_id(self) -> str | None:
        """The account id, once configured or looked up."""
        return self._account_id

    @property
    def client(self) -> SFNClient | None:
        """The open client, or ``None`` before it is opened and after closing."""
        return self._client

    @property
    def state(self) -> str:
        """``"idle"``, ``"open"`` or ``"closed"``."""
        return "closed" if self._closed else ("open" if self._client is not None else "idle")

    def check_open(self) -> None:
        """Raise [`ProviderError`][landlord_workflow.errors.ProviderError] once closed."""
        if self._closed:
            raise ProviderError("StepFunctionsProvider is closed")

    def _new_session(self) -> Any:
        if self._session is None:
            self._session = aioboto3.Session()
        return self._session

    async def ensure(self) -> SFNClient:
        """The open client, opening it on first use."""
        self.check_open()
        if self._client is not None:
            return self._client
        async with self._open_lock:
            self.check_open()
            if self._client is None:
                session = self._new_session()
                await anyio.to_thread.run_sync(_preload_models, session)
                stack = AsyncExitStack()
                try:
                    client = await stack.enter_async_context(
                        session.client(
                            "stepfunctions",
                            region_name=self._region,
                            endpoint_url=self._endpoint_url,
                            config=self._config,
                        )
                    )
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await stack.aclose()
                    raise
                self._stack = stack
                self._client = cast("SFNClient", client)
                _log.debug("opened Step Functions client", extra={"provider": PROVIDER_NAME})
        return self._client

    async def account(self) -> str:
        """The configured account id, else STS GetCallerIdentity once (cached)."""
        if self._account_id is not None:
            return self._account_id
        async with self._account_lock:
            if self._account_id is None:
                context = ErrorContext("GetCallerIdentity")
                with translate_errors(context):
                    async with self._new_session().client(
                        "sts",
                        region_name=self._region,
                        endpoint_url=self._endpoint_url,
                        config=self._config,
                    ) as sts:
                        identity = await sts.get_caller_identity()
                self._account_id = str(identity["Account"])
            return self._account_id

    async def aclose(self) -> None:
        """Close the client. Idempotent; the lifecycle cannot be reopened."""
        self._closed = True
        with anyio.CancelScope(shield=True):
            async with self._open_lock:
                stack, self._stack, self._client = self._stack, None, None
                if stack is not None:
                    await stack.aclose()
