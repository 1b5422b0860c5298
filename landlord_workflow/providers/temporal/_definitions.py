"""Where workflow definitions live: in Temporal itself, one record per workflow.

The definition of workflow ``provision`` is the memo of the Temporal
workflow ``landlord-workflow-definition:provision`` (type
``landlord-workflow-definition``), a record that stays open and never runs:

* it is started with a start delay of :data:`RECORD_START_DELAY` (about a
  century), so its first workflow task is never scheduled: no worker ever
  runs it, no task waits on any queue, and no process needs to poll for
  definitions to be readable;
* ``create_workflow`` starts it with the spec (every field, as
  :func:`landlord_workflow.codec.to_dict` writes it) in its memo; a changed
  spec starts a new run with the ``TERMINATE_EXISTING`` conflict policy, one
  atomic step: readers see the old spec or the new one, never none;
* ``get_workflow`` is one DescribeWorkflowExecution (strongly consistent,
  memo included); ``list_workflows`` one visibility query
  (``WorkflowType = 'landlord-workflow-definition' AND ExecutionStatus =
  'Running'``; memos come with the listing, so no call per workflow);
* ``delete_workflow`` terminates it. Open workflows are kept until closed,
  whatever the namespace's retention; closed records are forgotten after it.

Memo payloads go through the client's data converter (and payload codec, if
one is configured), as temporalio encodes memos.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from landlord_workflow._types import WorkflowSpec
from landlord_workflow.codec import from_dict, to_dict

__all__ = [
    "CREATED_AT_KEY",
    "DEFINITIONS_TASK_QUEUE",
    "EXECUTION_KEY",
    "RECORD_START_DELAY",
    "SPEC_KEY",
    "created_at_from_memo",
    "spec_from_memo",
    "spec_memo",
]

SPEC_KEY: Final = "landlord-workflow.spec"
CREATED_AT_KEY: Final = "landlord-workflow.created_at"
EXECUTION_KEY: Final = "landlord-workflow.execution"
"""Memo key of an execution started with tags: ``{"workflow_id", "input_sha256", "tags"}``
(an execution without tags has no memo: its first event's input is its input)."""
DEFINITIONS_TASK_QUEUE: Final = "landlord-workflow-definitions"
"""Task queue named on definition records; nothing polls it (their tasks never come)."""
RECORD_START_DELAY: Final = timedelta(days=36_500)


def spec_memo(spec: WorkflowSpec, created_at: datetime) -> dict[str, Any]:
    """The memo values (before payload conversion) of ``spec``'s record."""
    return {SPEC_KEY: to_dict(spec), CREATED_AT_KEY: created_at.astimezone(UTC).isoformat()}


def spec_from_memo(values: Mapping[str, Any]) -> WorkflowSpec | None:
    """The spec a record's memo holds, or ``None`` if it holds none."""
    data = values.get(SPEC_KEY)
    if not isinstance(data, Mapping):
        return None
    return from_dict(WorkflowSpec, dict(data))


def created_at_from_memo(values: Mapping[str, Any]) -> datetime | None:
    """When the workflow was first created, as its record remembers."""
    text = values.get(CREATED_AT_KEY)
    if not isinstance(text, str):
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.utcoffset() is not None else stamp.replace(tzinfo=UTC)
