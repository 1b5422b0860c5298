"""A complete minimal provider for a made-up engine: "checklist".

A checklist definition is a list of steps run in order::

    {"steps": [
        {"name": "Prepare"},
        {"name": "Finish", "set": {"result": {"ok": true}}},
        {"name": "Explode", "fail": "Tenant.Broken"},
        {"name": "Hold", "sleep": 60}
    ]}

``set`` merges keys into the data, ``fail`` fails the execution with that
error code, ``sleep`` waits that many seconds. The "engine" is this module:
each execution is an asyncio task owned by the provider. It implements the
Provider contract only (no watch, list or redrive capabilities).
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from landlord_workflow import (
    CreateWorkflowResult,
    ExecutionAlreadyExistsError,
    ExecutionError,
    ExecutionEvent,
    ExecutionInput,
    ExecutionNotFoundError,
    ExecutionResult,
    ExecutionState,
    ExecutionStatus,
    InvalidSpecError,
    ProviderError,
    WorkflowNotFoundError,
    WorkflowSpec,
    codec,
)

STEP_KEYS = {"name", "set", "fail", "sleep"}


class _Execution:
    """The engine's record of one execution (mutable, never handed out)."""

    def __init__(self, execution_id: str, workflow_id: str, payload: Any, input_text: str) -> None:
        self.execution_id = execution_id
        self.workflow_id = workflow_id
        self.input = payload
        self.input_text = input_text
        self.state = ExecutionState.RUNNING
        self.start_time = datetime.now(UTC)
        self.stop_time: datetime | None = None
        self.output: Any = None
        self.error: ExecutionError | None = None
        self.events: list[ExecutionEvent] = []
        self.task: asyncio.Task[None] | None = None

    def record(self, kind: str, state: str | None = None, **details: Any) -> None:
        details["raw_type"] = kind
        if state is not None:
            details["state"] = state
        self.events.append(ExecutionEvent(timestamp=datetime.now(UTC), type=kind, details=details))

    def close(self, state: ExecutionState, event: str) -> None:
        self.state = state
        self.stop_time = datetime.now(UTC)
        self.record(event)

    def snapshot(self, provider: str, include_history: bool) -> ExecutionStatus:
        # ``Any``: mypy cannot type the attrs ``converter=tuple`` of ``history``.
        history: Any = tuple(self.events) if include_history else ()
        return ExecutionStatus(
            execution_id=self.execution_id,
            workflow_id=self.workflow_id,
            provider_type=provider,
            state=self.state,
            start_time=self.start_time,
            stop_time=self.stop_time,
            input=_copy(self.input),
            output=_copy(self.output),
            error=self.error,
            history=history,
        )


def _copy(value: Any) -> Any:
    """A deep copy of a JSON value, so callers never share engine state."""
    return copy.deepcopy(value)


class ChecklistProvider:
    """The Provider port for the checklist engine (name ``"checklist"``)."""

    def __init__(self, *, name: str = "checklist") -> None:
        self._name = name
        self._workflows: dict[str, WorkflowSpec] = {}
        self._executions: dict[str, _Execution] = {}
        self._closed = False

    @property
    def name(self) -> str:
        return self._name

    def owns_execution(self, execution_id: str) -> bool:
        # Pure: the shape of the ids this provider issues, no lookup.
        return execution_id.startswith(f"{self._name}:")

    # -- workflows ---------------------------------------------------------------

    async def validate(self, spec: WorkflowSpec) -> None:
        problems: list[tuple[str, str]] = []
        steps = spec.definition.get("steps")
        if not isinstance(steps, list) or not steps:
            problems.append(("definition.steps", "must be a non-empty array"))
            steps = []
        for index, step in enumerate(steps):
            where = f"definition.steps[{index}]"
            if not isinstance(step, Mapping):
                problems.append((where, "must be an object"))
                continue
            if not isinstance(step.get("name"), str) or not step["name"]:
                problems.append((f"{where}.name", "must be a non-empty string"))
            problems.extend(
                (f"{where}.{key}", "unknown key") for key in step if key not in STEP_KEYS
            )
            if "sleep" in step and not isinstance(step["sleep"], int | float):
                problems.append((f"{where}.sleep", "must be a number of seconds"))
        if problems:
            raise InvalidSpecError(problems)

    async def create_workflow(self, spec: WorkflowSpec) -> CreateWorkflowResult:
        self._check_open()
        await self.validate(spec)
        # The engine keeps the whole spec (a private copy), so get_workflow
        # returns every field: retry policy, timeout, description, tags.
        self._workflows[spec.workflow_id] = codec.from_json(WorkflowSpec, codec.to_json(spec))
        return CreateWorkflowResult(
            workflow_id=spec.workflow_id,
            provider_type=self.name,
            resource_ids={"checklist": f"checklist/{spec.workflow_id}"},
            created_at=datetime.now(UTC),
        )

    async def get_workflow(self, workflow_id: str) -> WorkflowSpec:
        self._check_open()
        spec = self._workflows.get(workflow_id)
        if spec is None:
            raise WorkflowNotFoundError(workflow_id)
        return spec

    async def delete_workflow(self, workflow_id: str) -> None:
        self._check_open()
        self._workflows.pop(workflow_id, None)

    # -- executions --------------------------------------------------------------

    async def start_execution(
        self, workflow_id: str, execution_input: ExecutionInput
    ) -> ExecutionResult:
        self._check_open()
        spec = self._workflows.get(workflow_id)
        if spec is None:
            raise WorkflowNotFoundError(workflow_id)
        steps = list(spec.definition["steps"])
        name = execution_input.execution_name or uuid.uuid4().hex
        execution_id = f"{self._name}:{workflow_id}:{name}"
        input_text = codec.encode_json(execution_input.input)
        existing = self._executions.get(execution_id)
        if existing is not None:
            if existing.state.is_terminal or existing.input_text != input_text:
                raise ExecutionAlreadyExistsError(name, execution_id=execution_id)
        else:
            existing = _Execution(
                execution_id, workflow_id, _copy(execution_input.input), input_text
            )
            existing.record("ExecutionStarted")
            self._executions[execution_id] = existing
            existing.task = asyncio.get_running_loop().create_task(self._run(existing, steps))
        return ExecutionResult(
            execution_id=execution_id,
            workflow_id=workflow_id,
            provider_type=self.name,
            state=existing.state,
            started_at=existing.start_time,
        )

    async def _run(self, execution: _Execution, steps: list[Mapping[str, Any]]) -> None:
        data = _copy(execution.input)
        for step in steps:
            execution.record("StateEntered", step["name"])
            await asyncio.sleep(float(step.get("sleep", 0)))
            if "fail" in step:
                execution.record("TaskFailed", step["name"], error=step["fail"])
                execution.error = ExecutionError(
                    code=step["fail"], message="step failed", failed_at=step["name"]
                )
                execution.close(ExecutionState.FAILED, "ExecutionFailed")
                return
            if isinstance(data, dict):
                data.update(_copy(step.get("set", {})))
            execution.record("StateExited", step["name"])
        execution.output = data
        execution.close(ExecutionState.SUCCEEDED, "ExecutionSucceeded")

    async def get_execution_status(
        self, execution_id: str, *, include_history: bool = False
    ) -> ExecutionStatus:
        self._check_open()
        return self._find(execution_id).snapshot(self.name, include_history)

    async def stop_execution(self, execution_id: str, reason: str) -> None:
        self._check_open()
        execution = self._find(execution_id)
        if execution.state.is_terminal:
            return
        if execution.task is not None:
            execution.task.cancel()
        execution.error = ExecutionError(code="Cancelled", message=reason)
        execution.close(ExecutionState.CANCELLED, "ExecutionCancelled")

    # -- lifecycle ---------------------------------------------------------------

    async def aclose(self) -> None:
        self._closed = True
        tasks = [e.task for e in self._executions.values() if e.task and not e.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- helpers -----------------------------------------------------------------

    def _find(self, execution_id: str) -> _Execution:
        execution = self._executions.get(execution_id)
        if execution is None:
            raise ExecutionNotFoundError(execution_id)
        return execution

    def _check_open(self) -> None:
        if self._closed:
            raise ProviderError("this ChecklistProvider is closed")
