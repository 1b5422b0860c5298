"""A small async HTTP service that provisions tenants (Starlette).

    POST /tenants            {"tenant_id": "acme"}  -> 202 {"tenant_id", "execution_id", "state"}
    POST /tenants?wait=1     {"tenant_id": "acme"}  -> 200 the final state (Manager.run)
    GET  /tenants/{tenant}   -> 200 {"tenant_id", "execution_id", "state", "failed_step", "error"}

Starting is idempotent: each tenant's execution is named ``provision-<tenant>``,
so a repeated POST while it runs returns the same execution, and a POST for
a tenant whose provisioning already finished answers 409. The executions
run on the mock engine inside this process (Step Functions would only change
the provider registered in :class:`TenantService`).

    python examples/service.py           # in-process demo with httpx, then exit
    python examples/service.py --trace   # the same, printing the OpenTelemetry spans
    python examples/service.py --serve   # serve on http://127.0.0.1:8000 (uvicorn)

Tracing: each request is a span of the service's own (``POST /tenants``), and
the Manager's `OpenTelemetryHook` makes one span per operation under it (the
provider calls nest under ``run``). ``--trace`` configures the OpenTelemetry
SDK with a console exporter; a real service would export over OTLP instead.

For the demo, tenants named ``broken-...`` fail in RunMigrations.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx
from _tenants import TenantHandlers, load_spec
from opentelemetry import trace
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from landlord_workflow import (
    ExecutionAlreadyExistsError,
    ExecutionFailedError,
    ExecutionInput,
    Hook,
    Manager,
    Registry,
)
from landlord_workflow.contrib.opentelemetry import OpenTelemetryHook
from landlord_workflow.providers.mock import MockProvider

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

TENANT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")


class TenantService:
    """Owns the Manager (and so the engine); starts and describes provisioning runs."""

    def __init__(
        self,
        *,
        step_seconds: float = 0.05,
        hooks: tuple[Hook, ...] | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.spec = load_spec()
        self.handlers = TenantHandlers(
            step_seconds=step_seconds,
            flaky_network=0,
            broken=lambda tenant_id: tenant_id.startswith("broken-"),
        )
        registry = Registry()
        registry.register(MockProvider(task_handlers=self.handlers.for_spec(self.spec)))
        # Traced by default: without an OpenTelemetry SDK configured it is a no-op.
        # ``tracer_provider`` defaults to the global one (what --trace sets up).
        self.tracer = trace.get_tracer("tenant-service", tracer_provider=tracer_provider)
        traced = (OpenTelemetryHook(tracer_provider=tracer_provider),)
        self.manager = Manager(registry, hooks=traced if hooks is None else hooks)
        self.executions: dict[str, str] = {}

    async def __aenter__(self) -> Self:
        await self.manager.create_workflow(self.spec)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.manager.aclose()

    async def provision(self, tenant_id: str) -> dict[str, Any]:
        """Start (or find the running) provisioning execution of ``tenant_id``."""
        started = await self.manager.start_execution(
            self.spec.workflow_id,
            ExecutionInput(input={"tenant_id": tenant_id}, execution_name=f"provision-{tenant_id}"),
        )
        self.executions[tenant_id] = started.execution_id
        return {
            "tenant_id": tenant_id,
            "execution_id": started.execution_id,
            "state": started.state.value,
        }

    async def provision_and_wait(self, tenant_id: str) -> dict[str, Any]:
        """Run the tenant's provisioning to its end (the spec's RetryPolicy applies)."""
        name = f"provision-{tenant_id}"
        try:
            status = await self.manager.run(
                self.spec.workflow_id,
                ExecutionInput(input={"tenant_id": tenant_id}, execution_name=name),
            )
        except ExecutionFailedError as failed:
            status = failed.status
        self.executions[tenant_id] = status.execution_id
        return {
            "tenant_id": tenant_id,
            "execution_id": status.execution_id,
            "state": status.state.value,
            "failed_step": status.error.failed_at if status.error else None,
        }

    async def describe(self, tenant_id: str) -> dict[str, Any] | None:
        """State and failed step of the tenant's execution; ``None`` if never started."""
        execution_id = self.executions.get(tenant_id)
        if execution_id is None:
            return None
        status = await self.manager.get_execution_status(execution_id)
        error = status.error
        return {
            "tenant_id": tenant_id,
            "execution_id": execution_id,
            "state": status.state.value,
            "failed_step": error.failed_at if error else None,
            "error": error.code if error else None,
        }


def create_app(service: TenantService | None = None) -> Starlette:
    """The ASGI app. Without ``service`` it makes its own in the app's lifespan."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if service is not None:
            app.state.service = service
            yield
            return
        async with TenantService() as owned:
            app.state.service = owned
            yield

    async def post_tenant(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        tenant_id = body.get("tenant_id") if isinstance(body, dict) else None
        if not isinstance(tenant_id, str) or not TENANT_ID.fullmatch(tenant_id):
            return JSONResponse(
                {"error": "tenant_id must match ^[a-z0-9][a-z0-9-]{0,59}$"}, status_code=400
            )
        service = _service(request)
        with service.tracer.start_as_current_span(
            "POST /tenants", kind=trace.SpanKind.SERVER
        ) as span:
            span.set_attribute("tenant.id", tenant_id)
            try:
                if _wait(request.query_params):
                    return JSONResponse(await service.provision_and_wait(tenant_id))
                started = await service.provision(tenant_id)
            except ExecutionAlreadyExistsError:
                return JSONResponse(
                    {"error": f"tenant {tenant_id} was already provisioned"}, status_code=409
                )
        return JSONResponse(started, status_code=202)

    async def get_tenant(request: Request) -> JSONResponse:
        tenant_id = request.path_params["tenant_id"]
        described = await _service(request).describe(tenant_id)
        if described is None:
            return JSONResponse({"error": f"unknown tenant {tenant_id}"}, status_code=404)
        return JSONResponse(described)

    app = Starlette(
        routes=[
            Route("/tenants", post_tenant, methods=["POST"]),
            Route("/tenants/{tenant_id}", get_tenant, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    if service is not None:
        app.state.service = service  # usable without running the lifespan (tests)
    return app


def _wait(query: QueryParams) -> bool:
    return query.get("wait", "") not in ("", "0", "false")


def _service(request: Request) -> TenantService:
    service: TenantService = request.app.state.service
    return service


async def demo() -> int:
    """Drive the app in-process, as a client would."""
    async with TenantService() as service:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://tenants") as client:
            for tenant_id in ("acme", "broken-co"):
                response = await client.post("/tenants", json={"tenant_id": tenant_id})
                print(f"POST /tenants {tenant_id} -> {response.status_code} {response.json()}")
            final: dict[str, dict[str, Any]] = {}
            while len(final) < 2:
                await asyncio.sleep(0.05)
                for tenant_id in ("acme", "broken-co"):
                    body = (await client.get(f"/tenants/{tenant_id}")).json()
                    if body["state"] not in ("pending", "running"):
                        final[tenant_id] = body
            for tenant_id, body in final.items():
                print(f"GET /tenants/{tenant_id} -> {body}")
            again = await client.post("/tenants", json={"tenant_id": "acme"})
            print(f"POST /tenants acme again -> {again.status_code} {again.json()}")
    ok = final["acme"]["state"] == "succeeded" and final["broken-co"]["failed_step"]
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description="tenant provisioning over HTTP")
    parser.add_argument("--serve", action="store_true", help="serve with uvicorn")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--trace", action="store_true", help="print OpenTelemetry spans")
    args = parser.parse_args()
    if args.trace:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        trace.set_tracer_provider(provider)
    if args.serve:
        import uvicorn

        uvicorn.run(create_app(), host="127.0.0.1", port=args.port)
        return 0
    return asyncio.run(demo())


if __name__ == "__main__":
    sys.exit(main())
