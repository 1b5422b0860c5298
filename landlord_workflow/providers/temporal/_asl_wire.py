"""What the ASL workflow, its activities and the provider agree on (pure, no I/O).

Amazon States Language definitions run on Temporal as one built-in workflow
type that interprets the definition with the engine-neutral core
(:mod:`landlord_workflow._asl`). This module holds the names and the wire
formats the three parties share, and nothing that touches Temporal:

=====================================  ============================================
``landlord-workflow-asl``              the workflow type (:data:`WORKFLOW_TYPE`)
``landlord-workflow-asl-task``         the activity running one Task state
``landlord-workflow-asl-resolve``      the activity reading the definition of a
                                       workflow a nested ``startExecution`` starts
``landlord-workflow-asl-yield``        a local activity that does nothing (see the
                                       workflow's ``sleep``)
``landlord-workflow-asl-callback``     the signal answering a ``.waitForTaskToken``
``landlord-workflow-asl-history``      the query of the state-level history
``landlord-workflow-asl-checkpoint``   the query of where a redrive resumes
``landlord-workflow.task-tokens``      the memo key listing the open task tokens
=====================================  ============================================

The workflow's arguments are ``[execution input, run config]``: the input
first, so anything reading a run's first argument sees the execution input.
The run config (:class:`RunConfig`) carries the definition's JSON text (so
a running execution keeps the definition it started with), the identity the
context object shows, the random seed and, for a redrive, the checkpoint
to resume from.

Imported by the sandboxed workflow module through the sandbox's passthrough
(it is deterministic: no clock, no randomness, no I/O), so the compile cache
below is shared by every workflow run of a worker process.
"""

from __future__ import annotations

import json
import random
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from threading import Lock
from typing import Any, Final

from landlord_workflow._asl import HISTORY_LIMIT, MAX_PAYLOAD_BYTES, Machine, compile_definition

__all__ = [
    "CALLBACK_SIGNAL",
    "CHECKPOINT_QUERY",
    "DEFAULT_TASK_TIMEOUT_SECONDS",
    "FAILURE_KEY",
    "HISTORY_QUERY",
    "LIVENESS_CAUSE",
    "RESOLVE_ACTIVITY",
    "STATES_ERROR_KEY",
    "TASK_ACTIVITY",
    "TOKENS_MEMO_KEY",
    "TOKEN_PREFIX",
    "WORKER_SHUTDOWN_CAUSE",
    "WORKFLOW_TYPE",
    "YIELD_ACTIVITY",
    "RunConfig",
    "TaskToken",
    "machine_for",
    "parse_task_token",
    "seeded_random",
]

WORKFLOW_TYPE: Final = "landlord-workflow-asl"
TASK_ACTIVITY: Final = "landlord-workflow-asl-task"
RESOLVE_ACTIVITY: Final = "landlord-workflow-asl-resolve"
YIELD_ACTIVITY: Final = "landlord-workflow-asl-yield"
"""A local activity that does nothing: it lets a long run of states end its activation."""
CALLBACK_SIGNAL: Final = "landlord-workflow-asl-callback"
HISTORY_QUERY: Final = "landlord-workflow-asl-history"
CHECKPOINT_QUERY: Final = "landlord-workflow-asl-checkpoint"
TOKENS_MEMO_KEY: Final = "landlord-workflow.task-tokens"
"""Memo key of a running ASL workflow: the keys of its open task tokens."""

STATES_ERROR_KEY: Final = "landlord-workflow.states-error"
"""Marks the details of an activity failure that carries an ASL error."""
FAILURE_KEY: Final = "landlord-workflow.asl-failure"
"""Marks the details of an ASL workflow's failure (error, cause, state, checkpoint)."""

DEFAULT_TASK_TIMEOUT_SECONDS: Final = 99_999_999.0
"""A Task without ``TimeoutSeconds`` runs this long at most (AWS's own default)."""
DEFAULT_LIVENESS_SECONDS: Final = 30.0
"""Heartbeat timeout of a Task without ``HeartbeatSeconds``: how soon a dead worker is noticed."""
LIVENESS_CAUSE: Final = (
    "The worker running the task stopped heartbeating (it stopped or lost its connection)."
)
"""Cause of the missed heartbeat of a task whose worker died (no HeartbeatSeconds)."""

WORKER_SHUTDOWN_CAUSE: Final = "The worker running the task shut down before the task finished."
"""Cause of the ``States.TaskFailed`` of a task whose worker shut down while it ran."""

TOKEN_PREFIX: Final = "temporal-task:"  # noqa: S105 - a prefix, not a secret

_COMPILED: OrderedDict[str, Machine] = OrderedDict()
_COMPILED_LIMIT: Final = 256
_COMPILED_LOCK = Lock()


def machine_for(definition_text: str) -> Machine:
    """The compiled machine of a definition's JSON text (cached; machines are immutable)."""
    with _COMPILED_LOCK:
        machine = _COMPILED.get(definition_text)
        if machine is not None:
            _COMPILED.move_to_end(definition_text)
            return machine
    machine = compile_definition(json.loads(definition_text))
    with _COMPILED_LOCK:
        _COMPILED[definition_text] = machine
        while len(_COMPILED) > _COMPILED_LIMIT:
            _COMPILED.popitem(last=False)
    return machine


def seeded_random(seed: int, key: str) -> random.Random:
    """The random source of a seeded run (``key``: execution id and redrive count)."""
    return random.Random(f"{seed}:{key}")  # noqa: S311 - reproducible simulation, not secrets


@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    """Everything an ASL workflow run needs besides its input (plain JSON on the wire).

    ``execution_id``, ``name``, ``state_machine_id``, ``state_machine_name``
    and ``role_arn`` are what the context object shows; ``start_time`` is the
    execution's first start (a redrive keeps it); ``seed`` makes the run's
    randomness reproducible (``random_key`` names the stream, by default the
    execution id and redrive count); ``redrive_count``, ``checkpoint`` and
    ``previous_run_id`` describe a redrive; ``liveness_seconds`` is the
    heartbeat timeout of Tasks without ``HeartbeatSeconds``.
    """

    definition: str
    execution_id: str
    name: str
    state_machine_id: str
    state_machine_name: str
    role_arn: str | None = None
    start_time: str | None = None
    seed: int | None = None
    random_key: str | None = None
    redrive_count: int = 0
    checkpoint: Mapping[str, Any] | None = None
    previous_run_id: str | None = None
    liveness_seconds: float = DEFAULT_LIVENESS_SECONDS
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    history_limit: int = HISTORY_LIMIT
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The wire form (omits defaults, so configs stay small)."""
        data: dict[str, Any] = {
            "version": 1,
            "definition": self.definition,
            "execution_id": self.execution_id,
            "name": self.name,
            "state_machine_id": self.state_machine_id,
            "state_machine_name": self.state_machine_name,
        }
        optional = {
            "role_arn": self.role_arn,
            "start_time": self.start_time,
            "seed": self.seed,
            "random_key": self.random_key,
            "redrive_count": self.redrive_count or None,
            "checkpoint": self.checkpoint,
            "previous_run_id": self.previous_run_id,
        }
        data.update({key: value for key, value in optional.items() if value is not None})
        if self.liveness_seconds != DEFAULT_LIVENESS_SECONDS:
            data["liveness_seconds"] = self.liveness_seconds
        if self.max_payload_bytes != MAX_PAYLOAD_BYTES:
            data["max_payload_bytes"] = self.max_payload_bytes
        if self.history_limit != HISTORY_LIMIT:
            data["history_limit"] = self.history_limit
        if self.extra:
            data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunConfig:
        """Read the wire form (unknown keys are ignored, for forward compatibility)."""
        return cls(
            definition=data["definition"],
            execution_id=data["execution_id"],
            name=data["name"],
            state_machine_id=data["state_machine_id"],
            state_machine_name=data["state_machine_name"],
            role_arn=data.get("role_arn"),
            start_time=data.get("start_time"),
            seed=data.get("seed"),
            random_key=data.get("random_key"),
            redrive_count=int(data.get("redrive_count", 0)),
            checkpoint=data.get("checkpoint"),
            previous_run_id=data.get("previous_run_id"),
            liveness_seconds=float(data.get("liveness_seconds", DEFAULT_LIVENESS_SECONDS)),
            max_payload_bytes=int(data.get("max_payload_bytes", MAX_PAYLOAD_BYTES)),
            history_limit=int(data.get("history_limit", HISTORY_LIMIT)),
            extra=data.get("extra") or {},
        )

    def redriven(
        self, *, checkpoint: Mapping[str, Any], previous_run_id: str, start_time: datetime
    ) -> RunConfig:
        """The config of the next run: resume at ``checkpoint``, count one more redrive."""
        return replace(
            self,
            checkpoint=checkpoint,
            previous_run_id=previous_run_id,
            redrive_count=self.redrive_count + 1,
            start_time=self.start_time or start_time.isoformat(),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskToken:
    """A ``.waitForTaskToken`` token: which run of which workflow, and which task.

    Text form: ``temporal-task:<namespace>:<workflow id>#<run id>#<key>``; the
    key (``<n>.<uuid>``) is unique within the run and listed in the run's
    memo while the task waits.
    """

    namespace: str
    workflow_id: str
    run_id: str
    key: str

    def __str__(self) -> str:
        return f"{TOKEN_PREFIX}{self.namespace}:{self.workflow_id}#{self.run_id}#{self.key}"


def parse_task_token(text: object) -> TaskToken | None:
    """The parts of a token this adapter issued, else ``None``."""
    if not isinstance(text, str) or not text.startswith(TOKEN_PREFIX):
        return None
    namespace, sep, rest = text[len(TOKEN_PREFIX) :].partition(":")
    if not sep or not namespace:
        return None
    parts = rest.rsplit("#", 2)
    if len(parts) != 3 or not all(parts):
        return None
    workflow_id, run_id, key = parts
    return TaskToken(namespace=namespace, workflow_id=workflow_id, run_id=run_id, key=key)
