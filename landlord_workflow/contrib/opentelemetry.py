"""OpenTelemetry tracing and metrics for the Manager (extra ``otel``: ``opentelemetry-api``).

::

    from landlord_workflow import Manager
    from landlord_workflow.contrib.opentelemetry import OpenTelemetryHook

    manager = Manager(registry, hooks=[OpenTelemetryHook()])

**Traces.** One span per Manager operation, current while the provider call
runs, so the spans of the engine's own client (aiobotocore, temporalio)
nest under it:

* a provider call (``create_workflow``, ``start_execution``,
  ``get_execution_status``, ...) is a ``CLIENT`` span named
  ``landlord_workflow <operation>``, around all its attempts; each attempt
  is a span event ``landlord_workflow.attempt`` (attempt number, outcome,
  duration, error type, the backoff before a retry);
* ``run`` and ``wait_for_completion`` are ``INTERNAL`` spans around the
  calls they make; an execution outcome they observe is an event
  ``landlord_workflow.execution`` on them.

Attributes: ``landlord_workflow.operation``, ``landlord_workflow.provider``,
``landlord_workflow.workflow_id``, ``landlord_workflow.execution_id``,
``landlord_workflow.attempts`` (attempts made) and
``landlord_workflow.outcome``; on failure the span status is ``ERROR`` and
``error.type`` (OpenTelemetry's general attribute) holds the exception class
name, or the execution's error code. **Never payloads**: no inputs, outputs,
definitions, causes or exception messages (exceptions are not recorded as
events, their messages may quote a payload).

**Metrics** (OpenTelemetry metrics API; durations in seconds, as the
semantic conventions ask):

* ``landlord_workflow.calls`` (counter, ``{call}``): provider calls, by
  ``landlord_workflow.operation``, ``landlord_workflow.provider``,
  ``landlord_workflow.outcome`` (``ok``/``error``) and ``error.type``;
* ``landlord_workflow.call.retries`` (counter, ``{retry}``): attempts that
  failed transiently and were retried;
* ``landlord_workflow.call.duration`` (histogram, ``s``): each attempt;
* ``landlord_workflow.executions`` (counter, ``{execution}``): execution
  outcomes the Manager observed, by ``landlord_workflow.workflow_id``,
  ``landlord_workflow.provider``, ``landlord_workflow.state`` and
  ``error.type``;
* ``landlord_workflow.execution.duration`` (histogram, ``s``): start to stop,
  as the engine reports it, by the same attributes.

Only ``opentelemetry-api`` is needed: without an SDK configured every call
is a no-op. Configure the SDK and an exporter in your service (see the
observability docs page).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

try:
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "landlord_workflow.contrib.opentelemetry needs opentelemetry-api: "
        "pip install 'landlord-workflow[otel]'"
    ) from exc

from landlord_workflow import __version__
from landlord_workflow._instrumentation import CallDetails, CallStart, ExecutionOutcome
from landlord_workflow.errors import ExecutionFailedError

__all__ = ["OpenTelemetryHook"]

_NAME = "landlord_workflow"
_PREFIX = "landlord_workflow."


class OpenTelemetryHook:
    """A scoped Manager hook that traces operations and records metrics.

    ``tracer_provider`` and ``meter_provider`` default to the global ones
    (`opentelemetry.trace.set_tracer_provider`,
    `opentelemetry.metrics.set_meter_provider`).
    """

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        self._tracer = trace.get_tracer(_NAME, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(_NAME, __version__, meter_provider=meter_provider)
        self._calls = meter.create_counter(
            f"{_PREFIX}calls", unit="{call}", description="Provider calls made by the Manager."
        )
        self._retries = meter.create_counter(
            f"{_PREFIX}call.retries",
            unit="{retry}",
            description="Provider call attempts that failed transiently and were retried.",
        )
        self._call_duration = meter.create_histogram(
            f"{_PREFIX}call.duration",
            unit="s",
            description="Duration of each provider call attempt.",
        )
        self._executions = meter.create_counter(
            f"{_PREFIX}executions",
            unit="{execution}",
            description="Execution outcomes observed by the Manager.",
        )
        self._execution_duration = meter.create_histogram(
            f"{_PREFIX}execution.duration",
            unit="s",
            description="Execution duration, start to stop, as the engine reports it.",
        )

    def call_scope(self, start: CallStart) -> AbstractContextManager[object]:
        """A span around the operation, current while it runs."""
        return self._span(start)

    @contextmanager
    def _span(self, start: CallStart) -> Iterator[object]:
        attributes: dict[str, Any] = {f"{_PREFIX}operation": start.operation}
        if start.provider is not None:
            attributes[f"{_PREFIX}provider"] = start.provider
        if start.workflow_id is not None:
            attributes[f"{_PREFIX}workflow_id"] = start.workflow_id
        if start.execution_id is not None:
            attributes[f"{_PREFIX}execution_id"] = start.execution_id
        with self._tracer.start_as_current_span(
            f"{_NAME} {start.operation}",
            kind=SpanKind.INTERNAL if start.composite else SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,  # messages may quote payloads
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except Exception as exc:
                span.set_attribute(f"{_PREFIX}outcome", "error")
                span.set_attribute("error.type", _error_type(exc))
                span.set_status(Status(StatusCode.ERROR))
                raise
            except BaseException:  # cancelled: not an error of the operation
                span.set_attribute(f"{_PREFIX}outcome", "cancelled")
                raise
            span.set_attribute(f"{_PREFIX}outcome", "ok")

    def on_call(self, details: CallDetails) -> None:
        """An attempt: an event on the current span, and the call metrics."""
        event: dict[str, Any] = {
            f"{_PREFIX}attempt": details.attempt,
            f"{_PREFIX}outcome": details.outcome,
            f"{_PREFIX}duration": details.duration,
        }
        if details.error is not None:
            event["error.type"] = details.error
        if details.retry_in is not None:
            event[f"{_PREFIX}retry_in"] = details.retry_in
        span = trace.get_current_span()
        span.add_event(f"{_PREFIX}attempt", event)
        span.set_attribute(f"{_PREFIX}attempts", details.attempt)
        labels: dict[str, Any] = {
            f"{_PREFIX}operation": details.operation,
            f"{_PREFIX}provider": details.provider,
        }
        self._call_duration.record(
            details.duration, {**labels, f"{_PREFIX}outcome": details.outcome}
        )
        if details.outcome == "retry":
            self._retries.add(1, {**labels, "error.type": details.error or ""})
            return
        outcome = {f"{_PREFIX}outcome": "ok" if details.outcome == "ok" else "error"}
        if details.error is not None:
            outcome["error.type"] = details.error
        self._calls.add(1, {**labels, **outcome})

    def on_execution(self, details: ExecutionOutcome) -> None:
        """An execution outcome: an event on the current span, and the execution metrics."""
        labels: dict[str, Any] = {
            f"{_PREFIX}workflow_id": details.workflow_id,
            f"{_PREFIX}provider": details.provider,
            f"{_PREFIX}state": details.state.value,
        }
        if details.error_code is not None:
            labels["error.type"] = details.error_code
        event: dict[str, Any] = {
            **labels,
            f"{_PREFIX}execution_id": details.execution_id,
            f"{_PREFIX}attempt": details.attempt,
        }
        if details.failed_at is not None:
            event[f"{_PREFIX}failed_at"] = details.failed_at
        trace.get_current_span().add_event(f"{_PREFIX}execution", event)
        self._executions.add(1, labels)
        if details.duration is not None:
            self._execution_duration.record(details.duration, labels)


def _error_type(exc: BaseException) -> str:
    """The error class name, or for a failed execution its engine error code."""
    if isinstance(exc, ExecutionFailedError) and exc.status.error is not None:
        return exc.status.error.code or type(exc).__name__
    return type(exc).__name__
