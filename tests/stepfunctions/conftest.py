"""Fixtures for the Step Functions adapter tests.

The moto server is started by the tests themselves (session scope, 127.0.0.1,
OS-chosen port, ``MOTO_PORT`` set, ASL execution enabled before anything is
created) through the public fixtures in
:mod:`landlord_workflow.testing.pytest_plugin` (enabled suite-wide by
``tests/conftest.py``), and reset before each test.
Credentials are fake; ``~/.aws`` is never read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aioboto3
import pytest
import pytest_asyncio

from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
from landlord_workflow.testing._moto import FAKE_CREDENTIALS, FAKE_ROLE_ARN

ACCOUNT = "123456789012"
REGION = "us-east-1"
# Nothing listens here: stubbed tests must never reach the network.
UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture(scope="session", autouse=True)
def _fake_aws_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No real credentials or profiles, whatever the machine has."""
    empty = tmp_path_factory.mktemp("aws") / "none"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_SESSION_TOKEN", "testing")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_CONFIG_FILE", str(empty))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
        patch.delenv("AWS_PROFILE", raising=False)
        yield


@pytest.fixture(scope="session")
def fake_session() -> Any:
    """One session for all offline providers (botocore caches models per session)."""
    return aioboto3.Session(region_name=REGION, **FAKE_CREDENTIALS)


@pytest.fixture
def offline_provider_factory(fake_session: Any) -> Callable[..., StepFunctionsProvider]:
    """Providers for stubbed tests: fixed account, an endpoint nobody serves."""

    def make(**kwargs: Any) -> StepFunctionsProvider:
        values: dict[str, Any] = {
            "region": REGION,
            "role_arn": FAKE_ROLE_ARN,
            "endpoint_url": UNREACHABLE,
            "account_id": ACCOUNT,
            "session": fake_session,
        }
        values.update(kwargs)
        return StepFunctionsProvider(**values)

    return make


@pytest_asyncio.fixture
async def offline_provider(
    offline_provider_factory: Callable[..., StepFunctionsProvider],
) -> AsyncIterator[StepFunctionsProvider]:
    async with offline_provider_factory() as provider:
        yield provider


class CallCounter:
    """Counts the HTTP requests a client sends, per operation (a before-send hook)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, request: Any, **kwargs: Any) -> None:
        operation = str(kwargs["event_name"]).rsplit(".", 1)[-1]
        self.counts[operation] = self.counts.get(operation, 0) + 1

    def __getitem__(self, operation: str) -> int:
        return self.counts.get(operation, 0)


@pytest.fixture
def count_calls() -> Callable[[StepFunctionsProvider], CallCounter]:
    """Attach a :class:`CallCounter` to an open provider's client."""

    def attach(provider: StepFunctionsProvider) -> CallCounter:
        counter = CallCounter()
        provider.client.meta.events.register("before-send.sfn", counter)
        return counter

    return attach
