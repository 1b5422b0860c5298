"""The example HTTP service, driven in-process through httpx's ASGI transport."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest
import pytest_asyncio

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def service_module(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    return importlib.import_module("service")


@pytest_asyncio.fixture
async def client(service_module: ModuleType) -> AsyncIterator[httpx.AsyncClient]:
    async with service_module.TenantService(step_seconds=0.01) as service:
        transport = httpx.ASGITransport(app=service_module.create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def settled(client: httpx.AsyncClient, tenant_id: str) -> dict[str, Any]:
    with anyio.fail_after(10):
        while True:
            response = await client.get(f"/tenants/{tenant_id}")
            assert response.status_code == 200
            body: dict[str, Any] = response.json()
            if body["state"] not in ("pending", "running"):
                return body
            await anyio.sleep(0.01)


@pytest.mark.asyncio
async def test_post_starts_provisioning_and_get_reports_success(client: httpx.AsyncClient) -> None:
    response = await client.post("/tenants", json={"tenant_id": "acme"})

    assert response.status_code == 202
    started = response.json()
    assert started["tenant_id"] == "acme"
    assert started["execution_id"].endswith("provision-acme")
    body = await settled(client, "acme")
    assert body == {
        "tenant_id": "acme",
        "execution_id": started["execution_id"],
        "state": "succeeded",
        "failed_step": None,
        "error": None,
    }


@pytest.mark.asyncio
async def test_get_names_the_failed_step(client: httpx.AsyncClient) -> None:
    await client.post("/tenants", json={"tenant_id": "broken-co"})

    body = await settled(client, "broken-co")

    assert body["state"] == "failed"
    assert body["failed_step"] == "RunMigrations"
    assert body["error"] == "Migration.Failed"


@pytest.mark.asyncio
async def test_post_is_idempotent_while_running_and_conflicts_once_finished(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/tenants", json={"tenant_id": "initech"})
    second = await client.post("/tenants", json={"tenant_id": "initech"})

    assert second.status_code == 202
    assert second.json()["execution_id"] == first.json()["execution_id"]
    await settled(client, "initech")
    again = await client.post("/tenants", json={"tenant_id": "initech"})
    assert again.status_code == 409


@pytest.mark.asyncio
@pytest.mark.parametrize("body", [{"tenant_id": "Bad Name"}, {"tenant": "x"}, ["acme"]])
async def test_invalid_requests_are_refused(client: httpx.AsyncClient, body: object) -> None:
    response = await client.post("/tenants", json=body)

    assert response.status_code == 400
    assert "tenant_id" in response.json()["error"]


@pytest.mark.asyncio
async def test_unknown_tenant_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/tenants/nobody")

    assert response.status_code == 404


@pytest.mark.asyncio
async def test_app_without_a_service_makes_its_own_in_the_lifespan(
    service_module: ModuleType,
) -> None:
    app = service_module.create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/tenants", json={"tenant_id": "umbrella"})
            assert response.status_code == 202
            assert (await settled(client, "umbrella"))["state"] == "succeeded"
