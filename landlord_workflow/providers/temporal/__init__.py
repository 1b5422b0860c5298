"""Temporal adapter (extra ``temporal``): `TemporalProvider`.

``import landlord_workflow`` alone never imports temporalio; this package
imports it when `TemporalProvider` is first used. `TaskContext`,
`TaskFailure` and `TaskHandler` are the task-handler names the mock engine
exports too: the same handlers run ASL Task states on both engines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from landlord_workflow._asl import TaskContext, TaskFailure, TaskHandler

if TYPE_CHECKING:
    from landlord_workflow.providers.temporal._provider import TemporalProvider

__all__ = ["TaskContext", "TaskFailure", "TaskHandler", "TemporalProvider"]


def __getattr__(name: str) -> Any:
    if name == "TemporalProvider":
        try:
            from landlord_workflow.providers.temporal._provider import TemporalProvider
        except ImportError as exc:
            if exc.name is not None and exc.name.startswith("temporalio"):
                raise ImportError(
                    "TemporalProvider needs temporalio: pip install 'landlord-workflow[temporal]'"
                ) from exc
            raise
        return TemporalProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
