"""Temporal adapter (extra ``temporal``): :class:`TemporalProvider`.

Importing this package imports temporalio; ``import landlord_workflow``
alone never does.
"""

try:
    import temporalio  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "TemporalProvider needs temporalio: pip install 'landlord-workflow[temporal]'"
    ) from exc

from landlord_workflow.providers.temporal._provider import TemporalProvider

__all__ = ["TemporalProvider"]
