"""OpenTelemetry: one span per Manager operation, current during the provider call;
attempts as events; metrics through the metrics API; never a payload.

Spans and metrics are read from the OpenTelemetry SDK's in-memory exporters
(a test dependency; the library needs only opentelemetry-api).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest
from conftest import make_spec
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from landlord_workflow import (
    CallStart,
    ExecutionFailedError,
    ExecutionInput,
    Manager,
    Registry,
    RetryPolicy,
)
from landlord_workflow.contrib.opentelemetry import OpenTelemetryHook
from landlord_workflow.providers.mock import MockProvider, TaskFailure

EXAMPLES = Path(__file__).parent.parent / "examples"
SECRET = "s3cr3t-payload-value"


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])

    def hook(self) -> OpenTelemetryHook:
        return OpenTelemetryHook(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self) -> dict[str, list[Any]]:
        data = self.metrics.get_metrics_data()
        found: dict[str, list[Any]] = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    made = Telemetry()
    yield made
    made.tracer_provider.shutdown()
    made.meter_provider.shutdown()


def no_payload_anywhere(spans: list[ReadableSpan], *secrets: str) -> None:
    text = json.dumps(
        [
            {
                "attributes": dict(span.attributes or {}),
                "events": [dict(event.attributes or {}) for event in span.events],
                "name": span.name,
            }
            for span in spans
        ],
        default=str,
    )
    for secret in secrets:
        assert secret not in text


@pytest.mark.asyncio
async def test_the_service_exports_a_span_tree_for_a_provisioning_run(
    monkeypatch: pytest.MonkeyPatch, telemetry: Telemetry
) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    service_module: ModuleType = importlib.import_module("service")
    async with service_module.TenantService(
        step_seconds=0.01, tracer_provider=telemetry.tracer_provider
    ) as service:
        transport = httpx.ASGITransport(app=service_module.create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/tenants?wait=1", json={"tenant_id": "acme"})
    assert response.status_code == 200
    assert response.json()["state"] == "succeeded"
    spans = telemetry.finished()
    by_id = {span.context.span_id: span for span in spans}
    request = next(span for span in spans if span.name == "POST /tenants")
    run = next(span for span in spans if span.name == "landlord_workflow run")
    assert run.parent is not None
    assert by_id[run.parent.span_id] is request, "the Manager's span nests under the request"
    assert run.kind is SpanKind.INTERNAL
    children = [
        span for span in spans if span.parent and span.parent.span_id == run.context.span_id
    ]
    names = [span.name for span in children]
    assert "landlord_workflow start_execution" in names
    assert "landlord_workflow watch_execution" in names
    start = next(span for span in children if span.name == "landlord_workflow start_execution")
    assert start.kind is SpanKind.CLIENT
    assert start.attributes is not None
    assert start.attributes["landlord_workflow.operation"] == "start_execution"
    assert start.attributes["landlord_workflow.provider"] == "mock"
    assert start.attributes["landlord_workflow.workflow_id"] == "tenant-provisioning"
    assert start.attributes["landlord_workflow.outcome"] == "ok"
    assert start.attributes["landlord_workflow.attempts"] == 1
    assert [event.name for event in start.events] == ["landlord_workflow.attempt"]
    outcome = [event for event in run.events if event.name == "landlord_workflow.execution"]
    assert outcome[0].attributes is not None
    assert outcome[0].attributes["landlord_workflow.state"] == "succeeded"
    # The handlers' outputs are payloads: none of them is on a span.
    no_payload_anywhere(spans, "m7g.large", "vm-acme", '"tenant_id"')


@pytest.mark.asyncio
async def test_retries_are_events_and_errors_set_the_status_and_error_type(
    telemetry: Telemetry,
) -> None:
    mock = MockProvider(task_handlers={"boom": boom})
    mock.faults.throttle("start_execution", times=2)
    registry = Registry()
    registry.register(mock)
    retry = RetryPolicy(max_attempts=1)
    async with Manager(registry, hooks=[telemetry.hook()]) as manager:
        definition = {
            "StartAt": "Boom",
            "States": {"Boom": {"Type": "Task", "Resource": "boom", "End": True}},
        }
        await manager.create_workflow(make_spec(definition, workflow_id="boom", retry_policy=retry))
        with pytest.raises(ExecutionFailedError):
            await manager.run("boom", ExecutionInput(input={"secret": SECRET}))
    spans = telemetry.finished()
    start = next(span for span in spans if span.name == "landlord_workflow start_execution")
    assert [
        dict(event.attributes or {})["landlord_workflow.outcome"] for event in start.events
    ] == [
        "retry",
        "retry",
        "ok",
    ]
    first = dict(start.events[0].attributes or {})
    assert first["error.type"] == "ThrottledError"
    assert first["landlord_workflow.retry_in"] >= 0
    run = next(span for span in spans if span.name == "landlord_workflow run")
    assert run.status.status_code is StatusCode.ERROR
    assert run.attributes is not None
    assert run.attributes["error.type"] == "Tenant.Broken", "the execution's error code"
    assert not any(event.name == "exception" for span in spans for event in span.events)
    no_payload_anywhere(spans, SECRET, "the cause may quote a payload")

    points = telemetry.points()
    calls = {
        (dict(point.attributes)["landlord_workflow.operation"], point.value)
        for point in points["landlord_workflow.calls"]
    }
    assert ("start_execution", 1) in calls
    retries = points["landlord_workflow.call.retries"]
    assert sum(point.value for point in retries) == 2
    assert {dict(point.attributes)["error.type"] for point in retries} == {"ThrottledError"}
    assert points["landlord_workflow.call.duration"]
    (executions,) = points["landlord_workflow.executions"]
    assert dict(executions.attributes) == {
        "landlord_workflow.workflow_id": "boom",
        "landlord_workflow.provider": "mock",
        "landlord_workflow.state": "failed",
        "error.type": "Tenant.Broken",
    }
    assert executions.value == 1
    (durations,) = points["landlord_workflow.execution.duration"]
    assert durations.count == 1


async def boom(task_input: Any) -> Any:
    raise TaskFailure("Tenant.Broken", "the cause may quote a payload")


@pytest.mark.asyncio
async def test_the_span_is_current_while_the_provider_call_runs(telemetry: Telemetry) -> None:
    seen: list[str] = []

    class Observing(MockProvider):
        async def get_workflow(self, workflow_id: str) -> Any:
            span = trace.get_current_span()
            seen.append(getattr(span, "name", "?"))
            return await super().get_workflow(workflow_id)

    registry = Registry()
    registry.register(Observing())
    async with Manager(registry, hooks=[telemetry.hook()]) as manager:
        await manager.create_workflow(make_spec(workflow_id="current"))
        await manager.get_workflow("current")
    assert seen == ["landlord_workflow get_workflow"]


@pytest.mark.asyncio
async def test_a_cancelled_operation_is_not_an_error(telemetry: Telemetry) -> None:
    registry = Registry()
    hold = {"StartAt": "H", "States": {"H": {"Type": "Wait", "Seconds": 600, "End": True}}}
    registry.register(MockProvider())
    async with Manager(registry, hooks=[telemetry.hook()]) as manager:
        await manager.create_workflow(make_spec(hold, workflow_id="hold"))
        started = await manager.start_execution("hold")
        with anyio.move_on_after(0.05):
            await manager.wait_for_completion(started.execution_id, timeout=timedelta(hours=1))
        await manager.stop_execution(started.execution_id, "done")
    wait = next(
        s for s in telemetry.finished() if s.name == "landlord_workflow wait_for_completion"
    )
    assert wait.status.status_code is not StatusCode.ERROR
    assert wait.attributes is not None
    assert wait.attributes["landlord_workflow.outcome"] == "cancelled"


def test_without_an_sdk_the_hook_records_nothing() -> None:
    hook = OpenTelemetryHook()  # the global providers: no SDK is configured in this process
    with hook.call_scope(CallStart(operation="get_workflow", provider="mock")):
        assert not trace.get_current_span().is_recording()
