"""The Temporal provider from ``WORKFLOW_TEMPORAL_*`` settings (an entry point).

=================================  =========================================
``WORKFLOW_TEMPORAL_ADDRESS``      ``host:port`` of the frontend; configures the provider
``WORKFLOW_TEMPORAL_NAMESPACE``    the namespace (default ``default``)
``WORKFLOW_TEMPORAL_TASK_QUEUE``   the task queue ASL executions start on (default
                                   ``landlord-workflow``): your ASL workers' queue
``WORKFLOW_TEMPORAL_WORKER``       ``echo``: this process hosts an ASL worker whose
                                   Tasks return their input (the CLI's
                                   ``--local-temporal``); unset or ``none``: no worker
=================================  =========================================

By default the provider built here hosts no worker: a process configured
from the environment (the CLI, a control-plane service) only drives
executions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from landlord_workflow.errors import InvalidSpecError

if TYPE_CHECKING:
    from landlord_workflow.providers.temporal._provider import TemporalProvider

_ADDRESS = re.compile(r"[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}")
_NAMESPACE = re.compile(r"[A-Za-z0-9._-]{1,255}")
_TASK_QUEUE = re.compile(r"[^\s]{1,1000}")
_WORKERS = ("none", "echo")


def from_settings(settings: Mapping[str, str], *, required: bool) -> TemporalProvider | None:
    """A `TemporalProvider` when ``WORKFLOW_TEMPORAL_ADDRESS`` is set, else ``None``."""
    address = (settings.get("WORKFLOW_TEMPORAL_ADDRESS") or "").strip()
    namespace = (settings.get("WORKFLOW_TEMPORAL_NAMESPACE") or "").strip() or "default"
    task_queue = (settings.get("WORKFLOW_TEMPORAL_TASK_QUEUE") or "").strip() or "landlord-workflow"
    worker = (settings.get("WORKFLOW_TEMPORAL_WORKER") or "").strip().lower() or "none"
    problems: list[tuple[str, str]] = []
    if not address and required:
        problems.append(
            ("WORKFLOW_TEMPORAL_ADDRESS", "is required when the default provider is temporal")
        )
    if address and not _ADDRESS.fullmatch(address):
        problems.append(
            ("WORKFLOW_TEMPORAL_ADDRESS", f"must be host:port (localhost:7233), got {address!r}")
        )
    if not _NAMESPACE.fullmatch(namespace):
        problems.append(("WORKFLOW_TEMPORAL_NAMESPACE", f"is not a namespace name: {namespace!r}"))
    if not _TASK_QUEUE.fullmatch(task_queue):
        problems.append(
            ("WORKFLOW_TEMPORAL_TASK_QUEUE", f"is not a task queue name: {task_queue!r}")
        )
    if worker not in _WORKERS:
        problems.append(("WORKFLOW_TEMPORAL_WORKER", f"must be one of {', '.join(_WORKERS)}"))
    if problems:
        raise InvalidSpecError(problems)
    if not address:
        return None
    try:
        from landlord_workflow.providers.temporal._provider import TemporalProvider
    except ImportError as exc:
        raise InvalidSpecError.single("WORKFLOW_TEMPORAL_ADDRESS", str(exc)) from exc
    if worker == "echo":
        return TemporalProvider(
            target_host=address, namespace=namespace, task_queue=task_queue, echo_unknown_tasks=True
        )
    return TemporalProvider(target_host=address, namespace=namespace, task_queue=task_queue)
