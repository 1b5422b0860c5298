"""The identifiers the Temporal adapter issues, built and parsed without any call.

* An execution of workflow ``provision`` named ``tenant-42`` is the Temporal
  workflow ``provision/tenant-42`` (execution names are per workflow, as on
  the mock and Step Functions; workflow ids and execution names cannot hold
  ``/`` or ``:``). Its execution id is
  ``temporal:<namespace>:provision/tenant-42``: the prefix makes
  ``owns_execution`` a string check, and the namespace keeps two providers on
  two namespaces apart. A redrive (a Temporal reset) makes a new run of the
  same Temporal workflow, so the execution id never names a run.
* The definition of workflow ``provision`` is stored as the Temporal
  workflow ``landlord-workflow-definition:provision`` of type
  :data:`DEFINITION_WORKFLOW_TYPE` (see :mod:`._definitions`).
"""

from __future__ import annotations

import attrs

from landlord_workflow._validation import EXECUTION_NAME_PATTERN, WORKFLOW_ID_PATTERN

__all__ = [
    "DEFINITION_ID_PREFIX",
    "DEFINITION_WORKFLOW_TYPE",
    "EXECUTION_ID_PREFIX",
    "ExecutionRef",
    "definition_workflow_id",
    "is_workflow_id",
    "parse_execution_id",
]

EXECUTION_ID_PREFIX = "temporal:"
DEFINITION_ID_PREFIX = "landlord-workflow-definition:"
DEFINITION_WORKFLOW_TYPE = "landlord-workflow-definition"
"""Temporal workflow type of the records that hold workflow definitions."""


def is_workflow_id(workflow_id: object) -> bool:
    """Whether ``workflow_id`` can name a workflow at all (else: not found)."""
    return isinstance(workflow_id, str) and WORKFLOW_ID_PATTERN.fullmatch(workflow_id) is not None


def definition_workflow_id(workflow_id: str) -> str:
    """The Temporal workflow id of the record holding ``workflow_id``'s definition."""
    return DEFINITION_ID_PREFIX + workflow_id


@attrs.frozen(kw_only=True)
class ExecutionRef:
    """One execution: its namespace, workflow and name."""

    namespace: str
    workflow_id: str
    name: str

    @property
    def temporal_id(self) -> str:
        """The Temporal workflow id of the execution: ``<workflow_id>/<name>``."""
        return f"{self.workflow_id}/{self.name}"

    @property
    def execution_id(self) -> str:
        """``temporal:<namespace>:<workflow_id>/<name>``."""
        return f"{EXECUTION_ID_PREFIX}{self.namespace}:{self.temporal_id}"


def parse_execution_id(execution_id: object) -> ExecutionRef | None:
    """The parts of an execution id this adapter issues, else ``None``."""
    if not isinstance(execution_id, str) or not execution_id.startswith(EXECUTION_ID_PREFIX):
        return None
    namespace, sep, temporal_id = execution_id[len(EXECUTION_ID_PREFIX) :].partition(":")
    if not sep or not namespace:
        return None
    workflow_id, sep, name = temporal_id.partition("/")
    if not sep or not is_workflow_id(workflow_id):
        return None
    if EXECUTION_NAME_PATTERN.fullmatch(name) is None:
        return None
    return ExecutionRef(namespace=namespace, workflow_id=workflow_id, name=name)
