"""A scripted fake provider for Manager tests: records calls, fails or hangs on cue."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import anyio

from landlord_workflow import (
    CreateWorkflowResult,
    ExecutionAlreadyExistsError,
    ExecutionError,
    ExecutionInput,
    ExecutionNotFoundError,
    ExecutionResult,
    ExecutionState,
    ExecutionStatus,
    WorkflowNotFoundError,
    WorkflowSpec,
)

HANG = "hang"


class FakeProvider:
    """A provider whose engine is a dict. ``script(op, *steps)`` queues what the
    next calls of ``op`` do: an exception instance to raise, ``HANG`` to block
    until cancelled, or ``"lose"`` to perform the call and then raise
    ``ProviderUnavailableError`` (a lost response)."""

    def __init__(self, name: str = "fake") -> None:
        self._name = name
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.cancelled: list[str] = []
        self.workflows: dict[str, WorkflowSpec] = {}
        self.executions: dict[str, dict[str, Any]] = {}
        self._script: dict[str, list[Any]] = {}
        self._ids = itertools.count(1)
        self.closed = False
        self.status_sequence: dict[str, list[ExecutionState]] = {}

    @property
    def name(self) -> str:
        return self._name

    def owns_execution(self, execution_id: str) -> bool:
        return execution_id.startswith(f"{self._name}:")

    async def get_workflow(self, workflow_id: str) -> WorkflowSpec:
        await self._enter("get_workflow", workflow_id)
        spec = self.workflows.get(workflow_id)
        if spec is None:
            raise WorkflowNotFoundError(workflow_id)
        return spec

    def script(self, operation: str, *steps: Any) -> None:
        self._script.setdefault(operation, []).extend(steps)

    def calls_of(self, operation: str) -> list[tuple[Any, ...]]:
        return [args for op, args in self.calls if op == operation]

    async def _enter(self, operation: str, *args: Any) -> str | None:
        self.calls.append((operation, args))
        steps = self._script.get(operation)
        if not steps:
            return None
        step = steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        if step == HANG:
            try:
                await anyio.sleep_forever()
            finally:
                self.cancelled.append(operation)
        return str(step)

    async def validate(self, spec: WorkflowSpec) -> None:
        await self._enter("validate", spec)

    async def create_workflow(self, spec: WorkflowSpec) -> CreateWorkflowResult:
        step = await self._enter("create_workflow", spec)
        self.workflows[spec.workflow_id] = spec
        result = CreateWorkflowResult(
            workflow_id=spec.workflow_id,
            provider_type=self.name,
            resource_ids={"id": f"fake:{spec.workflow_id}"},
            created_at=datetime.now(UTC),
        )
        await self._lose(step)
        return result

    async def start_execution(
        self, workflow_id: str, execution_input: ExecutionInput
    ) -> ExecutionResult:
        step = await self._enter("start_execution", workflow_id, execution_input)
        if workflow_id not in self.workflows:
            raise WorkflowNotFoundError(workflow_id)
        name = execution_input.execution_name or f"generated-{next(self._ids)}"
        execution_id = f"{self._name}:{workflow_id}:{name}"
        existing = self.executions.get(execution_id)
        if existing is not None:
            if existing["input"] != execution_input.input or existing["state"].is_terminal:
                raise ExecutionAlreadyExistsError(name, execution_id=execution_id)
        else:
            sequence = list(self.status_sequence.get(workflow_id, [ExecutionState.SUCCEEDED]))
            self.executions[execution_id] = {
                "workflow_id": workflow_id,
                "input": execution_input.input,
                "state": ExecutionState.RUNNING,
                "sequence": sequence,
                "started": datetime.now(UTC),
            }
        result = ExecutionResult(
            execution_id=execution_id,
            workflow_id=workflow_id,
            provider_type=self.name,
            state=ExecutionState.RUNNING,
            started_at=self.executions[execution_id]["started"],
        )
        await self._lose(step)
        return result

    async def get_execution_status(
        self, execution_id: str, *, include_history: bool = False
    ) -> ExecutionStatus:
        await self._enter("get_execution_status", execution_id, include_history)
        execution = self.executions.get(execution_id)
        if execution is None:
            raise ExecutionNotFoundError(execution_id)
        if not execution["state"].is_terminal and execution["sequence"]:
            execution["state"] = execution["sequence"].pop(0)
        state: ExecutionState = execution["state"]
        error = None
        if state in (ExecutionState.FAILED, ExecutionState.TIMED_OUT):
            error = ExecutionError(code="States.TaskFailed", message="boom", failed_at="Step")
        return ExecutionStatus(
            execution_id=execution_id,
            workflow_id=execution["workflow_id"],
            provider_type=self.name,
            state=state,
            start_time=execution["started"],
            stop_time=datetime.now(UTC) if state.is_terminal else None,
            input=execution["input"],
            output={"ok": True} if state is ExecutionState.SUCCEEDED else None,
            error=error,
        )

    async def stop_execution(self, execution_id: str, reason: str) -> None:
        await self._enter("stop_execution", execution_id, reason)
        execution = self.executions.get(execution_id)
        if execution is None:
            raise ExecutionNotFoundError(execution_id)
        if not execution["state"].is_terminal:
            execution["state"] = ExecutionState.CANCELLED

    async def delete_workflow(self, workflow_id: str) -> None:
        await self._enter("delete_workflow", workflow_id)
        self.workflows.pop(workflow_id, None)

    async def aclose(self) -> None:
        self.closed = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _lose(self, step: str | None) -> None:
        if step == "lose":
            from landlord_workflow import ProviderUnavailableError

            raise ProviderUnavailableError("response lost")


class RedrivableFake(FakeProvider):
    """The fake plus redrive: a redriven execution restarts its sequence."""

    async def redrive_execution(self, execution_id: str) -> ExecutionResult:
        await self._enter("redrive_execution", execution_id)
        execution = self.executions[execution_id]
        execution["state"] = ExecutionState.RUNNING
        execution["sequence"] = [ExecutionState.SUCCEEDED]
        return ExecutionResult(
            execution_id=execution_id,
            workflow_id=execution["workflow_id"],
            provider_type=self.name,
            state=ExecutionState.RUNNING,
            started_at=execution["started"],
        )


async def collect(iterator: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in iterator]
