"""Optional integrations, each behind its own extra (``otel``: `opentelemetry`)."""
