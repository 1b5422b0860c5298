"""Run a compiled state machine exactly as Step Functions does.

`Execution` walks the states of a `Machine` with one input,
through a `Runtime` (time, tasks, callbacks, randomness, children,
concurrency) and a `Recorder` (history events numbered and typed as
AWS records them), and returns an `Outcome`. It can resume from a
`Execution.checkpoint` (redrive) without re-running what succeeded.

Data flow per state, as in the specification. JSONPath: ``InputPath`` ->
``Parameters`` -> (task, ``Result``, branches...) -> ``ResultSelector`` ->
``ResultPath`` (into the raw input) -> ``OutputPath``; ``Assign`` reads the
state's result. JSONata: ``Arguments`` -> (work) -> ``Assign`` and
``Output`` side by side (``$states.input``, ``$states.result``,
``$states.errorOutput``, ``$states.context``). New variable values take
effect when the state ends.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from landlord_workflow._asl._errors import (
    DATA_LIMIT_EXCEEDED,
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    ITEM_READER_FAILED,
    NO_CHOICE_MATCHED,
    QUERY_EVALUATION_ERROR,
    RESULT_PATH_MATCH_FAILURE,
    RUNTIME,
    TIMEOUT,
    StatesError,
    error_matches,
    query_error,
    runtime_error,
)
from landlord_workflow._asl._jsonpath import MISSING, JsonPath
from landlord_workflow._asl._model import Catcher, Machine, Retrier, State
from landlord_workflow._asl._payload import WHOLE, size_bound
from landlord_workflow._asl._routing import parse_resource, task_context
from landlord_workflow._asl._runtime import (
    ChildExecution,
    ExecutionIdentity,
    Recorder,
    Runtime,
    TaskContext,
    TaskRequest,
)
from landlord_workflow._asl._scope import Env, Variables, format_time
from landlord_workflow._asl._timestamps import parse_timestamp
from landlord_workflow._asl._values import (
    MAX_PAYLOAD_BYTES,
    compact_json,
    is_int,
    is_number,
    json_kind,
    parse_compact,
    payload_size,
)
from landlord_workflow._limits import MAX_HISTORY_EVENTS

__all__ = ["HISTORY_LIMIT", "Execution", "Outcome"]

HISTORY_LIMIT: Final = MAX_HISTORY_EVENTS
"""Most events an execution's history holds (the last one must be its end)."""

_MAX_WAIT: Final = 99_999_999
_MAX_TIMESTAMP_WAIT: Final = 2**31 - 1  # AWS: "Wait state delay is too long." beyond


@dataclass(slots=True)
class Outcome:
    """How an execution ended.

    ``succeeded`` with ``output``; or failed with ``error`` and ``cause``
    (either may be ``None``: a Fail state with neither records neither, as
    on AWS) at ``state``. ``checkpoint`` is where a redrive resumes. Never
    modified once built (not a frozen dataclass: one per execution, and a
    frozen one costs four times as much to build).
    """

    succeeded: bool
    output: Any = None
    error: str | None = None
    cause: str | None = None
    state: str | None = None
    checkpoint: Mapping[str, Any] | None = None


class _HistoryLimitReached(Exception):  # noqa: N818 - internal signal
    """The next event would be number 25,000 and is not the execution's success."""


class _Failed:
    """A branch or iteration that failed (jobs report failures as values)."""

    __slots__ = ("error",)

    def __init__(self, error: StatesError) -> None:
        self.error = error


class _Node:
    """Progress of one state machine (top level, a branch, an iteration).

    ``state``/``input``/``scope`` say where it is; for a Parallel or Map
    state in progress, ``branches`` holds each branch's or iteration's own
    node (or its output once done).
    """

    __slots__ = ("bound", "branches", "entered", "input", "output", "parallel", "scope", "state")

    def __init__(self, *, parallel: bool = False) -> None:
        self.parallel = parallel
        self.entered = 0
        # An upper bound of the UTF-8 size of the current data (None: unknown);
        # see `Execution._check_size`.
        self.bound: int | None = None
        self.state: str | None = None
        self.input: Any = None
        self.scope: Variables | None = None
        self.branches: dict[int, _Node] | None = None
        self.output: Any = MISSING

    def to_json(self) -> dict[str, Any]:
        if self.output is not MISSING:
            return {"output": self.output}
        data: dict[str, Any] = {
            "state": self.state,
            "input": self.input,
            "variables": dict(self.scope.values) if self.scope is not None else {},
        }
        if self.branches:
            data["branches"] = {str(i): node.to_json() for i, node in self.branches.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], scope: Variables) -> _Node:
        node = cls()
        if "output" in data:
            node.output = data["output"]
            return node
        node.state = data["state"]
        node.input = data.get("input")
        node.scope = scope
        scope.values.update(data.get("variables") or {})
        branches = data.get("branches")
        if branches:
            node.branches = {}
            for key, child in branches.items():
                node.branches[int(key)] = cls.from_json(child, Variables(scope))
        return node


class Execution:
    """One run of a machine. Call `run` once; `checkpoint` any time."""

    __slots__ = (
        "_at",
        "_begun",
        "_execution_context",
        "_input_size",
        "_machine_context",
        "_pause",
        "_record_step",
        "_record_value",
        "_resume",
        "_stamp",
        "events",
        "history_limit",
        "info",
        "input",
        "machine",
        "max_payload_bytes",
        "recorder",
        "root",
        "runtime",
    )

    def __init__(
        self,
        machine: Machine,
        *,
        runtime: Runtime,
        recorder: Recorder,
        info: ExecutionIdentity,
        input: Any,
        checkpoint: Mapping[str, Any] | None = None,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        history_limit: int = HISTORY_LIMIT,
        input_size: int | None = None,
    ) -> None:
        """``input_size``: the UTF-8 size of ``input`` as compact JSON, if the
        engine has measured it (saves measuring it again)."""
        self.machine = machine
        self.runtime = runtime
        self.recorder = recorder
        self.info = info
        self.input = input
        self.max_payload_bytes = max_payload_bytes
        self.history_limit = history_limit
        self._resume = checkpoint
        self._begun = False
        self.events = int(checkpoint.get("events", 0)) if checkpoint else 0
        self.root = _Node()
        self._input_size = input_size
        self._execution_context: dict[str, Any] | None = None
        self._machine_context: dict[str, Any] | None = None
        # The clock is read at every state (the context's EnteredTime); a
        # runtime may offer a cheap reading (``stamp``) and turn it into the
        # datetime ``now()`` would have returned (``at``).
        stamp = getattr(runtime, "stamp", None)
        at = getattr(runtime, "at", None)
        # One pass of the event loop between states: ``runtime.pause()`` if the
        # runtime has a cheaper way than ``sleep(0)``.
        pause = getattr(runtime, "pause", None)
        self._pause: Callable[[], Awaitable[None]] = (
            pause if pause is not None else lambda: runtime.sleep(0)
        )
        # The recorder's optional methods, as functions of the recorder (a bound
        # method would be one more object alive as long as the execution).
        recorder_type = type(recorder)
        self._record_step: Callable[..., None] | None = getattr(recorder_type, "record_step", None)
        self._record_value: Callable[..., None] = getattr(
            recorder_type, "record_value", _record_with_details
        )
        self._stamp: Callable[[], Any]
        self._at: Callable[[Any], datetime]
        if stamp is not None and at is not None:
            self._stamp = stamp
            self._at = at
        else:
            self._stamp = runtime.now
            self._at = _same_moment

    # ------------------------------------------------------------ events

    def record(self, event_type: str, state: str | None, details: Mapping[str, Any] | None) -> int:
        """Record one AWS history event; return its id."""
        event_id = self.events + 1
        if event_id >= self.history_limit and event_type != "ExecutionSucceeded":
            raise _HistoryLimitReached
        self.events = event_id
        self.recorder.record(event_id, event_type, state, details)
        return event_id

    def note(self, event_type: str, state: str | None, details: Mapping[str, Any]) -> None:
        """An informational event that AWS does not record (id 0, not counted)."""
        self.recorder.record(0, event_type, state, details)

    # ---------------------------------------------------------- top level

    def checkpoint(self) -> dict[str, Any]:
        """Where a redrive resumes: plain JSON (the engine may persist it)."""
        return {"version": 1, "events": self.events, "position": self.root.to_json()}

    def begin(self) -> None:
        """Record the first event (ExecutionStarted, or ExecutionRedriven) now.

        An engine calls this when it creates the execution, so its history
        starts at once; `run` calls it otherwise.
        """
        if self._begun:
            return
        self._begun = True
        if self._resume is None:
            self.record(
                "ExecutionStarted", None, {"input": self.input, "roleArn": self.info.role_arn}
            )
        else:
            self.record("ExecutionRedriven", None, {"redriveCount": self.info.redrive_count})

    async def run(self) -> Outcome:
        """Run to the end; returns the `Outcome` (cancellation propagates)."""
        # A definition without Assign never writes a variable: it shares one
        # empty scope (a redrive restores variables into a scope of its own).
        scope = Variables() if self.machine.assigns or self._resume is not None else _NO_VARIABLES
        resume: _Node | None = None
        try:
            if not self._begun:
                self.begin()
            bound = None
            if self._resume is None:
                start, data = self.machine.start_at, self.input
                bound = self._input_size
            else:
                resume = _Node.from_json(self._resume["position"], scope)
                start, data = resume.state or self.machine.start_at, resume.input
            output = await self._run_machine(
                self.machine, start, data, scope, self.root, resume, bound
            )
        except StatesError as err:
            self._evaluation_failed(err)
            return self._failed(err)
        except _HistoryLimitReached:
            self.events += 1
            cause = (
                f"The execution reached the maximum number of events in its history "
                f"({self.history_limit})."
            )
            self.recorder.record(
                self.events, "ExecutionFailed", None, {"error": RUNTIME, "cause": cause}
            )
            return Outcome(False, error=RUNTIME, cause=cause, checkpoint=self.checkpoint())
        self.root.output = output
        self.events += 1  # the last event may be number 25,000
        self._record_value(self.recorder, self.events, "ExecutionSucceeded", None, "output", output)
        return Outcome(True, output)

    def _evaluation_failed(self, err: StatesError) -> None:
        """AWS records a failed JSONata evaluation as an EvaluationFailed event."""
        if err.error == QUERY_EVALUATION_ERROR and not err.recorded:
            err.recorded = True
            details: dict[str, Any] = {"error": err.error}
            cause = err.final_cause()
            if cause is not None:
                details["cause"] = cause
            details["state"] = err.state
            self.record("EvaluationFailed", err.state, details)

    def _failed(self, err: StatesError) -> Outcome:
        cause = err.final_cause()
        details: dict[str, Any] = {}
        if err.error is not None:
            details["error"] = err.error
        if cause is not None:
            details["cause"] = cause
        self._record_end("ExecutionFailed", None, details)
        return Outcome(
            False,
            error=err.error,
            cause=cause,
            state=err.state,
            checkpoint=self.checkpoint(),
        )

    def _record_end(self, event_type: str, state: str | None, details: Mapping[str, Any]) -> None:
        self.events += 1
        self.recorder.record(self.events, event_type, state, details)

    # ---------------------------------------------------------- machines

    async def _run_machine(  # noqa: PLR0917, PLR0915 - the hot loop, inlined on purpose
        self,
        machine: Machine,
        start: str,
        data: Any,
        scope: Variables,
        node: _Node,
        resume: _Node | None,
        bound: int | None = None,
    ) -> Any:
        """Run ``machine`` from ``start``; return its output or raise `StatesError`.

        ``bound``: an upper bound of ``data``'s size, if known.
        """
        states = machine.states
        name = start
        node.scope = scope
        nested = node.parallel
        pause = self._pause
        stamp = self._stamp
        recorder = self.recorder
        record_value = self._record_value
        record_step = self._record_step
        last_event = self.history_limit - 1
        while True:
            # One pass of the event loop per state keeps executions fair and
            # cancellable (and lets watchers see every state).
            await pause()
            state = states[name]
            node.state = name
            node.input = data
            node.branches = None
            node.bound = bound
            # Execution.record, inlined: the two events of every state.
            entered = self.events + 1
            if entered > last_event:
                raise _HistoryLimitReached
            self.events = entered
            node.entered = entered
            env = Env(self, state, stamp(), scope, data) if state.needs_env else _NO_ENV
            if not state.waits and record_step is not None:
                # A state that never waits runs in one step: nothing can read
                # the history between its two events, recorded together after.
                try:
                    output, following, assigned = self._visit_now(state, data, env, node)
                except StatesError as err:
                    record_value(recorder, entered, state.entered_event, name, "input", data)
                    err.at(name, entered)
                    if state.type != "Fail":  # (no Catch on these states)
                        self._evaluation_failed(err)
                    raise
                except BaseException:
                    record_value(recorder, entered, state.entered_event, name, "input", data)
                    raise
                resume = None
                exited = self.events + 1
                if assigned or exited > last_event:
                    record_value(recorder, entered, state.entered_event, name, "input", data)
                    if assigned:
                        self._assign(scope, assigned, name)
                    if exited > last_event:
                        raise _HistoryLimitReached
                    self.events = exited
                    self._record_exited(exited, state, output, assigned)
                else:
                    self.events = exited
                    record_step(
                        recorder,
                        entered,
                        state.entered_event,
                        exited,
                        state.exited_event,
                        name,
                        data,
                        output,
                    )
                if following is None:
                    return output
                name = following
                data = output
                bound = node.bound
                continue
            record_value(recorder, entered, state.entered_event, name, "input", data)
            try:
                if state.waits:
                    output, following, assigned = await self._visit(state, data, env, node, resume)
                else:
                    output, following, assigned = self._visit_now(state, data, env, node)
            except StatesError as err:
                err.at(name, entered)
                if state.type == "Fail":
                    raise
                try:
                    output, following, assigned = self._catch(state, data, env, err, node)
                except StatesError as uncaught:
                    self._evaluation_failed(uncaught)
                    if nested and state.type == "Task" and not uncaught.terminal:
                        # AWS: a Task failing a Parallel branch is recorded as aborted.
                        self.record("TaskStateAborted", name, None)
                    raise
            resume = None
            if assigned:
                self._assign(scope, assigned, name)
            exited = self.events + 1
            if exited > last_event:
                raise _HistoryLimitReached
            self.events = exited
            self._record_exited(exited, state, output, assigned)
            if following is None:
                return output
            name = following
            data = output
            bound = node.bound

    # ----------------------------------------------- ContextSource (for Env)

    def context_object(self, state: State, entered: Any) -> dict[str, Any]:
        """The context object (``$$``) of ``state``, entered at the stamp ``entered``."""
        state_context: dict[str, Any] = {
            "Name": state.name,
            "EnteredTime": format_time(self._at(entered)),
        }
        if state.with_retry:
            state_context["RetryCount"] = 0
        execution = self._execution_context
        info = self.info
        if execution is None:
            execution = {
                "Id": info.execution_id,
                "Input": self.input,
                "StartTime": format_time(info.start_time),
                "Name": info.name,
                "RoleArn": info.role_arn,
                "RedriveCount": info.redrive_count,
            }
            if info.redrive_time is not None:
                execution["RedriveTime"] = format_time(info.redrive_time)
            self._execution_context = execution
            self._machine_context = {"Id": info.state_machine_id, "Name": info.state_machine_name}
        return {
            "Execution": execution,
            "StateMachine": self._machine_context or {},
            "State": state_context,
        }

    def random(self) -> float:
        """A float in [0, 1) from the execution's seedable source."""
        return self.runtime.random()

    def uuid(self) -> str:
        """A random UUID string from the execution's seedable source."""
        return self.runtime.uuid()

    def now_millis(self) -> int:
        """The execution clock in milliseconds since the epoch."""
        moment = self.runtime.now()
        return int(moment.timestamp() * 1000)

    def _assign(self, scope: Variables, assigned: Mapping[str, Any], state: str) -> None:
        for name in assigned:
            if scope.is_outer(name):
                raise runtime_error(
                    f"Cannot bind a value to the variable '{name}' as it belongs to an outer scope."
                ).at(state, self.events)
        scope.values.update(assigned)

    def _catch(
        self, state: State, data: Any, env: Env, err: StatesError, node: _Node
    ) -> tuple[Any, str, dict[str, Any] | None]:
        catcher = _find_catcher(state.catchers, err)
        if catcher is None:
            raise err
        cause = err.cause
        if cause is None and err.error == TIMEOUT:
            cause = ""  # AWS: a timeout has no cause in history, "" in the error output
        error_output = {"Error": err.error, "Cause": cause}
        try:
            assigned = None
            if state.jsonata:
                env.error_output = error_output
                env.result = MISSING
                if catcher.assign is not None:
                    assigned = catcher.assign(data, env)
                output = catcher.output(data, env) if catcher.output is not None else error_output
            else:
                if catcher.assign is not None:
                    assigned = _assignments(catcher.assign(error_output, env))
                output = _apply_result_path(data, catcher.result_path, error_output)
        except StatesError as inner:
            raise inner.at(err.state or state.name, err.entered_event_id or 0) from None
        node.bound = self._check_size(state.name, output, None)
        return output, catcher.next, assigned

    def _check_size(self, name: str, output: Any, bound: int | None) -> int:
        """Fail with ``States.DataLimitExceeded`` if ``output`` is over the payload limit.

        ``bound`` is an upper bound of its size, if known: while it is within
        the limit, so is the output, and nothing is measured (the verdict is
        the same as measuring). Returns a bound of the size (the size once
        measured).
        """
        limit = self.max_payload_bytes
        if bound is None or bound > limit:
            bound = payload_size(output)
            if bound > limit:
                raise StatesError(
                    DATA_LIMIT_EXCEEDED,
                    f"The state/task '{name}' returned a result with a size exceeding the "
                    "maximum number of bytes service limit.",
                    terminal=True,
                )
        return bound

    # ------------------------------------------------------------- states

    def _record_exited(self, number: int, state: State, output: Any, assigned: Any) -> None:
        """The event of ``state`` exited with ``output`` (and the variables it assigned)."""
        if assigned:
            self.recorder.record(
                number,
                state.exited_event,
                state.name,
                {"output": output, "assignedVariables": assigned},
            )
        else:
            self._record_value(
                self.recorder, number, state.exited_event, state.name, "output", output
            )

    def _visit_now(  # noqa: PLR0915 - the hot path, inlined on purpose
        self, state: State, raw: Any, env: Env, node: _Node
    ) -> tuple[Any, str | None, dict[str, Any] | None]:
        """Run a state that never waits (Pass, Choice, Succeed, Fail), without a coroutine.

        Returns (output, next state or None, variables it assigns) and leaves
        in ``node.bound`` an upper bound of the output's size (or None).
        """
        key = state.merge_key
        if key is not None and type(raw) is dict:
            # A Pass state that only merges its constant Result at "$.key" (see
            # State.merge_key): the general path below, with what it would
            # find out already known.
            result = state.result_value
            size = state.result_size
            if size is None:
                size = state.result_size = payload_size(result)  # once per state
            output = {**raw, key: result}
            bound = node.bound
            if bound is not None:
                bound += size + state.merge_overhead
                if bound <= self.max_payload_bytes:
                    node.bound = bound
                    return output, state.next, None
            node.bound = self._check_size(state.name, output, bound)
            return output, state.next, None
        kind = state.type
        if kind == "Fail":
            self._fail(state, raw, env)
        if state.jsonata:
            if kind == "Choice":
                target, assign_expr, output_expr = self._choose_jsonata(state, raw, env)
                return self._jsonata_end(
                    state, raw, env, node, raw, target, assign_expr, output_expr
                )
            return self._jsonata_end(
                state, raw, env, node, raw, state.next, state.assign, state.output
            )
        # JSONPath. InputPath null means the state sees {} (ResultPath still uses raw).
        # (The helpers _effective, _merged_bound and _output, inlined: the hot path.)
        raw_bound = node.bound
        path = state.input_path
        if path is WHOLE:
            effective, effective_bound = raw, raw_bound
        elif path is None:
            effective, effective_bound = {}, 2
        else:
            effective, effective_bound = path(raw, env), size_bound(path, raw_bound)
        assigned: dict[str, Any] | None = None
        following: str | None = state.next
        if kind == "Pass":
            if state.parameters is not None:
                result = state.parameters(effective, env)
                result_bound = size_bound(state.parameters, effective_bound)
            else:
                result, result_bound = effective, effective_bound
            if state.result is not None:
                result = state.result_value  # a constant
                result_bound = state.result_size
                if result_bound is None:
                    result_bound = state.result_size = payload_size(result)  # once per state
            if state.assign is not None:
                assigned = _assignments(state.assign(result, env))
            result_path = state.result_path
            key = state.result_key
            if key is not None and type(raw) is dict:
                merged = {**raw, key: result}  # _apply_result_path's "$.key" case
            else:
                merged = _apply_result_path(raw, result_path, result)
            if result_path is None:
                merged_bound = raw_bound
            elif not result_path.segments:
                merged_bound = result_bound
            elif raw_bound is None or result_bound is None:
                merged_bound = None
            else:
                merged_bound = raw_bound + result_bound + result_path.insert_overhead
        else:
            if kind == "Choice":
                following, assign = self._choose(state, effective, env)
                if assign is not None:
                    assigned = _assignments(assign(effective, env))
            merged, merged_bound = effective, effective_bound
        path = state.output_path
        if path is WHOLE:
            output, output_bound = merged, merged_bound
        elif path is None:
            output, output_bound = {}, 2
        else:
            output, output_bound = path(merged, env), size_bound(path, merged_bound)
        if output is not raw:
            if output_bound is None or output_bound > self.max_payload_bytes:
                output_bound = self._check_size(state.name, output, output_bound)
            node.bound = output_bound
        return output, following, assigned

    async def _visit(
        self, state: State, raw: Any, env: Env, node: _Node, resume: _Node | None
    ) -> tuple[Any, str | None, dict[str, Any] | None]:
        """Run a state that waits (Wait, Task, Parallel, Map); as `_visit_now`."""
        kind = state.type
        if state.jsonata:
            result: Any = raw
            if kind == "Wait":
                await self._wait(state, raw, env)
            else:
                result = await self._execute(state, raw, env, node, resume)
                env.result = result
            return self._jsonata_end(
                state, raw, env, node, result, state.next, state.assign, state.output
            )
        raw_bound = node.bound
        effective, effective_bound = self._effective(state, raw, env, raw_bound)
        assigned: dict[str, Any] | None = None
        if kind == "Wait":
            await self._wait(state, effective, env)
            if state.assign is not None:
                assigned = _assignments(state.assign(effective, env))
            merged, merged_bound = effective, effective_bound
        else:
            if kind == "Task" and not state.retriers:
                # _execute without retriers is this call (one coroutine less).
                result = await self._task(state, effective, env, 0)
            else:
                result = await self._execute(state, effective, env, node, resume)
            if state.assign is not None:
                assigned = _assignments(state.assign(result, env))
            if state.result_selector is not None:
                result = state.result_selector(result, env)
            merged = _apply_result_path(raw, state.result_path, result)
            # The result's size is unknown; measuring it alone is cheaper than
            # measuring the merged output (when it is merged into the input).
            result_bound = payload_size(result) if merged is not raw and raw_bound else None
            merged_bound = _merged_bound(state.result_path, raw_bound, result_bound)
        return self._output(state, raw, merged, merged_bound, env, node), state.next, assigned

    def _effective(
        self, state: State, raw: Any, env: Env, raw_bound: int | None
    ) -> tuple[Any, int | None]:
        """InputPath (null: ``{}``) and a bound of the effective input's size."""
        path = state.input_path
        if path is WHOLE:
            return raw, raw_bound
        if path is None:
            return {}, 2
        return path(raw, env), size_bound(path, raw_bound)

    def _output(  # noqa: PLR0917
        self, state: State, raw: Any, merged: Any, merged_bound: int | None, env: Env, node: _Node
    ) -> Any:
        """OutputPath, then the size check (``node.bound``: the output's bound)."""
        path = state.output_path
        if path is WHOLE:
            output, output_bound = merged, merged_bound
        elif path is None:
            output, output_bound = {}, 2
        else:
            output = path(merged, env)
            output_bound = size_bound(path, merged_bound)
        if output is not raw:
            node.bound = self._check_size(state.name, output, output_bound)
        return output

    def _jsonata_end(  # noqa: PLR0917
        self,
        state: State,
        raw: Any,
        env: Env,
        node: _Node,
        result: Any,
        following: str | None,
        assign_expr: Any,
        output_expr: Any,
    ) -> tuple[Any, str | None, dict[str, Any] | None]:
        """JSONata: ``Assign`` and ``Output`` side by side, then the size check."""
        assigned = assign_expr(raw, env) if assign_expr is not None else None
        output = output_expr(raw, env) if output_expr is not None else result
        if output is not raw:
            node.bound = self._check_size(state.name, output, None)
        return output, following, assigned

    def _fail(self, state: State, raw: Any, env: Env) -> None:
        error = _fail_text(state.error, raw, env, "ErrorPath", state.jsonata)
        cause = _fail_text(state.cause, raw, env, "CausePath", state.jsonata)
        raise StatesError(error, cause)

    def _choose(self, state: State, data: Any, env: Env) -> tuple[str, Any]:
        for branch in state.choices:
            if branch.rule(data, env):
                return branch.next, branch.assign
        if state.default is not None:
            return state.default, state.assign
        raise StatesError(NO_CHOICE_MATCHED, f"No Matches! (state '{state.name}' has no Default)")

    def _choose_jsonata(self, state: State, data: Any, env: Env) -> tuple[str, Any, Any]:
        for branch in state.choices:
            if branch.rule(data, env):
                return branch.next, branch.assign, branch.output
        if state.default is not None:
            return state.default, state.assign, state.output
        raise StatesError(NO_CHOICE_MATCHED, f"No Matches! (state '{state.name}' has no Default)")

    async def _wait(self, state: State, data: Any, env: Env) -> None:
        if state.seconds is not None:
            value = state.seconds(data, env)
            seconds = self._wait_seconds(state, value)
        else:
            assert state.timestamp is not None  # noqa: S101 - the compiler ensures one
            value = state.timestamp(data, env)
            when = parse_timestamp(value)
            if when is None:
                if state.jsonata:
                    raise query_error(
                        "The Timestamp field cannot be parsed as an ISO-8601 extended offset "
                        f"date-time format string: {_plain(value)}"
                    )
                raise runtime_error(
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended "
                    f"offset date-time format string: {_path_text(state, 'TimestampPath')} == "
                    f"{_plain(value)}"
                )
            seconds = (when - self.runtime.now()).total_seconds()
            if seconds > _MAX_TIMESTAMP_WAIT:
                raise runtime_error("Wait state delay is too long.")
        if seconds > 0:
            await self.runtime.sleep(seconds)

    def _wait_seconds(self, state: State, value: Any) -> float:
        if state.jsonata:
            if not is_int(value) or value < 0:
                raise query_error(
                    "The Seconds field must be a non-negative integer, but was: "
                    f"{compact_json(value)}"
                )
        elif not getattr(state.seconds, "constant", False):
            where = _path_text(state, "SecondsPath")
            if not is_number(value) or (isinstance(value, float) and not value.is_integer()):
                raise runtime_error(
                    f"The SecondsPath parameter cannot be parsed as a long value: {where} == "
                    f"{_plain(value)}"
                )
            if value < 0:
                raise runtime_error(
                    f"The SecondsPath parameter references a negative value: {where} == "
                    f"{_plain(value)}"
                )
        if value > _MAX_WAIT:
            raise runtime_error("Wait state delay is too long.")
        return float(value)

    # ------------------------------------------------- Task, Parallel, Map

    async def _execute(
        self, state: State, effective: Any, env: Env, node: _Node, resume: _Node | None
    ) -> Any:
        """Run the work of a Task, Parallel or Map state, with its retriers."""
        attempts = [0] * len(state.retriers)
        retry_count = 0
        while True:
            try:
                if state.type == "Task":
                    return await self._task(state, effective, env, retry_count)
                if state.type == "Parallel":
                    return await self._parallel(state, effective, env, node, resume, retry_count)
                return await self._map(state, effective, env, node, resume, retry_count)
            except StatesError as err:
                if err.terminal:
                    raise
                retrier_index = _find_retrier(state.retriers, err)
                retrier: Retrier | None = (
                    None if retrier_index is None else state.retriers[retrier_index]
                )
                if (
                    retrier_index is None
                    or retrier is None
                    or attempts[retrier_index] >= retrier.max_attempts
                ):
                    if state.type != "Task":
                        err.at(state.name, node.entered)
                        self._evaluation_failed(err)
                        self.record(f"{state.type}StateFailed", state.name, None)
                    raise
                delay = retrier.delay(attempts[retrier_index], self.random())
                attempts[retrier_index] += 1
                retry_count += 1
                if state.type == "Task":
                    # The contract's TaskRetried is a Task's: an AWS history shows a
                    # retried Task (TaskScheduled again), a retried Parallel or Map only
                    # as its branches' states entered again.
                    self.note(
                        "TaskRetried",
                        state.name,
                        {
                            "error": err.error,
                            "cause": err.cause,
                            "retryCount": retry_count,
                            "delaySeconds": delay,
                        },
                    )
                resume = None
                if delay > 0:
                    await self.runtime.sleep(delay)

    def _attempt_env(self, env: Env, retry_count: int, extra: Mapping[str, Any] | None) -> Env:
        if retry_count == 0 and not extra:
            return env
        context = env.context
        state_context = {**context["State"], "RetryCount": retry_count}
        updates: dict[str, Any] = {"State": state_context}
        if extra:
            updates.update(extra)
        return env.with_context(updates)

    async def _task(self, state: State, effective: Any, env: Env, retry_count: int) -> Any:  # noqa: PLR0915
        assert state.resource is not None  # noqa: S101 - the compiler ensures it
        resource = parse_resource(state.resource)
        token: str | None = None
        if resource.pattern in ("waitForTaskToken", "sync", "sync:2"):
            token = self.runtime.new_task_token(state.name)
        attempt_env = self._attempt_env(
            env, retry_count, {"Task": {"Token": token}} if token else None
        )
        if state.jsonata:
            task_input = state.arguments(effective, attempt_env) if state.arguments else effective
            if state.arguments is None:
                task_input = effective
        else:
            task_input = (
                state.parameters(effective, attempt_env)
                if state.parameters is not None
                else effective
            )
        timeout = self._seconds(state, state.timeout, effective, attempt_env, "TimeoutSeconds")
        heartbeat = self._seconds(
            state, state.heartbeat, effective, attempt_env, "HeartbeatSeconds"
        )
        credentials = (
            state.credentials(effective, attempt_env) if state.credentials is not None else None
        )
        request = TaskRequest(
            resource=resource.text,
            state=state.name,
            input=task_input,
            make_context=functools.partial(
                Execution._task_context, self, state.name, retry_count, token, attempt_env
            ),
            timeout_seconds=timeout,
            heartbeat_seconds=heartbeat,
            task_token=token,
            credentials=credentials,
        )
        prefix = resource.event_prefix
        if prefix == "LambdaFunction":
            scheduled: dict[str, Any] = {"resource": resource.text, "input": task_input}
            if timeout is not None:
                scheduled["timeoutInSeconds"] = timeout
            self.record("LambdaFunctionScheduled", state.name, scheduled)
            self.record("LambdaFunctionStarted", state.name, None)
        elif prefix == "Activity":
            scheduled = {"resource": resource.text, "input": task_input}
            if timeout is not None:
                scheduled["timeoutInSeconds"] = timeout
            if heartbeat is not None:
                scheduled["heartbeatInSeconds"] = heartbeat
            self.record("ActivityScheduled", state.name, scheduled)
            self.record("ActivityStarted", state.name, None)
        else:
            scheduled = {
                "resourceType": resource.resource_type,
                "resource": resource.resource_name,
                "region": "us-east-1",
                "parameters": task_input,
            }
            if timeout is not None:
                scheduled["timeoutInSeconds"] = timeout
            if heartbeat is not None:
                scheduled["heartbeatInSeconds"] = heartbeat
            self.record("TaskScheduled", state.name, scheduled)
            self.record(
                "TaskStarted",
                state.name,
                {"resourceType": resource.resource_type, "resource": resource.resource_name},
            )
        callback = token is not None and resource.pattern == "waitForTaskToken"
        # When the task began, for what remains of its timeout once submitted.
        started = self.runtime.now() if callback and timeout is not None else None
        try:
            if resource.is_start_execution:
                result = await self._start_child(state, request, resource)
            else:
                result = await self.runtime.run_task(request)
                if callback:
                    self._record_task("Submitted", prefix, resource, state.name, {"output": result})
                    remaining = None
                    if timeout is not None and started is not None:
                        elapsed = (self.runtime.now() - started).total_seconds()
                        remaining = max(timeout - elapsed, 0.0)
                    result = await self.runtime.wait_for_callback(
                        request, timeout_seconds=remaining, heartbeat_seconds=heartbeat
                    )
        except StatesError as err:
            if err.error == TIMEOUT:
                self._record_task("TimedOut", prefix, resource, state.name, _error_details(err))
            else:
                self._record_task("Failed", prefix, resource, state.name, _error_details(err))
            raise
        self._record_task("Succeeded", prefix, resource, state.name, {"output": result})
        return result

    def _task_context(
        self, state: str, retry_count: int, token: str | None, env: Env
    ) -> TaskContext:
        """What a task handler may read about the call (see `TaskRequest.context`)."""
        return task_context(
            execution_id=self.info.execution_id,
            execution_name=self.info.name,
            state=state,
            retry_count=retry_count,
            task_token=token,
            # A private copy, as the task input is: the context holds the
            # execution's own input, which nothing may change in place.
            context_object=parse_compact(compact_json(env.context)),
        )

    def _record_task(
        self, outcome: str, prefix: str, resource: Any, state: str, details: dict[str, Any]
    ) -> None:
        if prefix == "Task":
            details = {
                "resourceType": resource.resource_type,
                "resource": resource.resource_name,
                **details,
            }
        self.record(f"{prefix}{outcome}", state, details)

    def _seconds(self, state: State, expr: Any, data: Any, env: Env, field: str) -> float | None:
        if expr is None:
            return None
        value = expr(data, env)
        if not is_int(value) or value <= 0:
            if state.jsonata:
                raise query_error(
                    f"The {field} field must be a positive integer, but was: {compact_json(value)}"
                )
            raise runtime_error(
                f"The {field}Path field must reference a positive integer, but was: "
                f"{compact_json(value)}"
            )
        return float(value)

    async def _start_child(self, state: State, request: TaskRequest, resource: Any) -> Any:
        parameters = request.input if isinstance(request.input, Mapping) else {}
        child_input = parameters.get("Input", {})
        if isinstance(child_input, str):
            with contextlib.suppress(ValueError):
                child_input = json.loads(child_input)
        child = ChildExecution(
            definition=None,
            state_machine_arn=parameters.get("StateMachineArn"),
            name=parameters.get("Name"),
            input=child_input,
            wait=resource.pattern in ("sync", "sync:2"),
            output_as_json=resource.pattern == "sync:2",
            parent=request.context,
            timeout_seconds=request.timeout_seconds,
        )
        return await self.runtime.start_execution(child)

    # ----------------------------------------------------------- Parallel

    async def _parallel(  # noqa: PLR0917
        self,
        state: State,
        effective: Any,
        env: Env,
        node: _Node,
        resume: _Node | None,
        retry_count: int,
    ) -> Any:
        attempt_env = self._attempt_env(env, retry_count, None)
        if state.jsonata:
            branch_input = (
                state.arguments(effective, attempt_env)
                if state.arguments is not None
                else effective
            )
        else:
            branch_input = (
                state.parameters(effective, attempt_env)
                if state.parameters is not None
                else effective
            )
        self.record("ParallelStateStarted", state.name, None)
        count = len(state.branches)
        outputs: list[Any] = [MISSING] * count
        nodes: dict[int, _Node] = {}
        node.branches = nodes
        previous = resume.branches if resume is not None and resume.branches else {}
        failure: list[StatesError] = []

        def job_for(index: int) -> Callable[[], Awaitable[Any]]:
            branch = state.branches[index]
            old = previous.get(index)

            async def job() -> Any:
                if old is not None and old.output is not MISSING:
                    nodes[index] = old
                    return old.output
                branch_node = _Node(parallel=True)
                nodes[index] = branch_node
                scope = (
                    old.scope
                    if old is not None and old.scope is not None
                    else Variables(env.variables)
                )
                if old is not None and old.scope is not None:
                    scope.parent = env.variables
                start = old.state if old is not None and old.state else branch.start_at
                data = old.input if old is not None and old.state else branch_input
                try:
                    output = await self._run_machine(branch, start, data, scope, branch_node, old)
                except StatesError as err:
                    return _Failed(err)
                branch_node.output = output
                return output

            return job

        def on_done(index: int, result: Any) -> bool:
            if isinstance(result, _Failed):
                failure.append(result.error)
                return True
            outputs[index] = result
            return False

        await self.runtime.run_all(
            [job_for(i) for i in range(count)], max_concurrency=0, on_done=on_done
        )
        if failure:
            raise failure[0]
        self.record("ParallelStateSucceeded", state.name, None)
        node.branches = None
        return outputs

    # ---------------------------------------------------------------- Map

    async def _map(  # noqa: PLR0917, PLR0915
        self,
        state: State,
        effective: Any,
        env: Env,
        node: _Node,
        resume: _Node | None,
        retry_count: int,
    ) -> Any:
        attempt_env = self._attempt_env(env, retry_count, None)
        items = await self._map_items(state, effective, attempt_env)
        if state.distributed:
            return await self._distributed_map(state, effective, attempt_env, items, node, resume)
        max_concurrency = self._map_int(
            state, state.max_concurrency, effective, attempt_env, "MaxConcurrency"
        )
        self.record("MapStateStarted", state.name, {"length": len(items)})
        # Tolerance applies to distributed runs only; AWS still checks the values.
        self._map_int(state, state.tolerated_count, effective, attempt_env, "ToleratedFailureCount")
        self._tolerated_percentage(state, effective, attempt_env)
        outputs: list[Any] = [MISSING] * len(items)
        nodes: dict[int, _Node] = {}
        node.branches = nodes
        previous = resume.branches if resume is not None and resume.branches else {}
        processor = state.processor
        assert processor is not None  # noqa: S101 - the compiler ensures it
        failure: list[StatesError] = []

        def job_for(index: int) -> Callable[[], Awaitable[Any]]:
            old = previous.get(index)

            async def job() -> Any:
                if old is not None and old.output is not MISSING:
                    nodes[index] = old
                    self.record(
                        "MapIterationStarted", state.name, {"name": state.name, "index": index}
                    )
                    self.record(
                        "MapIterationSucceeded", state.name, {"name": state.name, "index": index}
                    )
                    return old.output
                iteration = _Node()
                nodes[index] = iteration
                self.record("MapIterationStarted", state.name, {"name": state.name, "index": index})
                try:
                    if old is not None and old.state:
                        scope = old.scope if old.scope is not None else Variables(env.variables)
                        scope.parent = env.variables
                        start, data = old.state, old.input
                    else:
                        scope = Variables(env.variables)
                        data = self._select_item(state, effective, attempt_env, items, index)
                        start = processor.start_at
                    output = await self._run_machine(processor, start, data, scope, iteration, old)
                except StatesError as err:
                    self.record(
                        "MapIterationFailed", state.name, {"name": state.name, "index": index}
                    )
                    return _Failed(err)
                except BaseException as exc:
                    if not isinstance(exc, Exception):
                        self.record(
                            "MapIterationAborted", state.name, {"name": state.name, "index": index}
                        )
                    raise
                iteration.output = output
                self.record(
                    "MapIterationSucceeded", state.name, {"name": state.name, "index": index}
                )
                return output

            return job

        def on_done(index: int, result: Any) -> bool:
            if isinstance(result, _Failed):
                failure.append(result.error)
                return True
            outputs[index] = result
            return False

        await self.runtime.run_all(
            [job_for(i) for i in range(len(items))],
            max_concurrency=max_concurrency,
            on_done=on_done,
        )
        if failure:
            raise failure[0]
        self.record("MapStateSucceeded", state.name, None)
        node.branches = None
        return outputs

    def _map_int(self, state: State, expr: Any, data: Any, env: Env, field: str) -> int:
        if expr is None:
            return 0
        value = expr(data, env)
        if getattr(expr, "constant", False):
            return int(value)
        if state.jsonata:
            if not is_int(value) or value < 0:
                raise query_error(
                    f"The {field} field must be a non-negative integer, but was: "
                    f"{compact_json(value)}"
                )
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            value = int(value)
        if not is_int(value):
            raise runtime_error(
                f'The {field}Path field refers to value "{_plain(value)}" which is not a '
                f"valid integer: {_path_text(state, field + 'Path')}"
            )
        if value < 0:
            raise runtime_error(f"{field} cannot be negative.")
        return int(value)

    async def _map_items(self, state: State, effective: Any, env: Env) -> list[Any]:
        if state.item_reader is not None:
            return await self._read_items(state, effective, env)
        if state.items is None:
            items = effective
            if not isinstance(items, list):
                message = f"Map state input must be an array but was: {compact_json(items)}"
                if state.jsonata:
                    raise query_error(message)
                raise runtime_error(message)
            return items
        items = state.items(effective, env)
        if isinstance(items, list):
            return items
        if state.jsonata:
            raise query_error(
                f"The JSONata expression '{_expr_text(state)}' specified for the field 'Items' "
                f"returned an unexpected result type. Expected 'array', but was "
                f"'{json_kind(items)}' for value: {compact_json(items)}"
            )
        raise runtime_error(
            f'Reference path "{_path_text(state, "ItemsPath")}" must point to array.'
        )

    async def _read_items(self, state: State, effective: Any, env: Env) -> list[Any]:
        reader = state.item_reader or {}
        read_items = getattr(self.runtime, "read_items", None)
        if read_items is None:
            raise StatesError(
                ITEM_READER_FAILED,
                f"No item reader can read '{reader.get('Resource')}' on this engine.",
            )
        # The reader gets a private copy of the state's input (it may modify it).
        items = await read_items(state.name, reader, parse_compact(compact_json(effective)))
        if not isinstance(items, list):
            raise StatesError(ITEM_READER_FAILED, "Attempting to map over non-iterable node.")
        config = reader.get("ReaderConfig") or {}
        max_items = config.get("MaxItems")
        if is_int(max_items):
            if max_items <= 0:
                raise StatesError(ITEM_READER_FAILED, "field MaxItems must be positive")
            items = items[:max_items]
        return items

    def _select_item(
        self, state: State, effective: Any, env: Env, items: list[Any], index: int
    ) -> Any:
        item = items[index]
        if state.item_selector is None:
            return item
        item_env = env.with_context({"Map": {"Item": {"Index": index, "Value": item}}})
        return state.item_selector(effective, item_env)

    async def _distributed_map(  # noqa: PLR0917
        self,
        state: State,
        effective: Any,
        env: Env,
        items: list[Any],
        node: _Node,
        resume: _Node | None,
    ) -> Any:
        inputs = [self._select_item(state, effective, env, items, i) for i in range(len(items))]
        if state.batcher is not None:
            inputs = self._batch(state, effective, env, inputs)
        max_concurrency = self._map_int(
            state, state.max_concurrency, effective, env, "MaxConcurrency"
        )
        self.record("MapStateStarted", state.name, {"length": len(inputs)})
        tolerated_count = self._map_int(
            state, state.tolerated_count, effective, env, "ToleratedFailureCount"
        )
        tolerated_percentage = self._tolerated_percentage(state, effective, env)
        map_run = f"{self.info.execution_id}:{state.label or state.name}"
        self.record("MapRunStarted", state.name, {"mapRunArn": map_run})
        total = len(inputs)
        outputs: list[Any] = [MISSING] * total
        failed: list[StatesError] = []
        nodes: dict[int, _Node] = {}
        node.branches = nodes
        previous = resume.branches if resume is not None and resume.branches else {}
        assert state.processor_definition is not None  # noqa: S101 - compiled with the state

        def job_for(index: int) -> Callable[[], Awaitable[Any]]:
            old = previous.get(index)

            async def job() -> Any:
                if old is not None and old.output is not MISSING:
                    nodes[index] = old
                    return old.output
                child = ChildExecution(
                    definition=state.processor_definition,
                    state_machine_arn=None,
                    name=None,
                    input=inputs[index],
                    wait=True,
                    output_as_json=True,
                    parent=task_context(
                        execution_id=self.info.execution_id,
                        execution_name=self.info.name,
                        state=state.name,
                        retry_count=0,
                        task_token=None,
                        context_object=env.context,
                    ),
                )
                try:
                    output = await self.runtime.start_execution(child)
                except StatesError as err:
                    return _Failed(err)
                done = _Node()
                done.output = output
                nodes[index] = done
                return output

            return job

        def too_many(failures: int) -> bool:
            return bool(
                failures > tolerated_count
                and (total == 0 or failures * 100.0 / total > tolerated_percentage)
            )

        def on_done(index: int, result: Any) -> bool:
            if isinstance(result, _Failed):
                failed.append(result.error)
                outputs[index] = {"Error": result.error.error, "Cause": result.error.cause}
                return too_many(len(failed))
            outputs[index] = result
            return False

        await self.runtime.run_all(
            [job_for(i) for i in range(total)],
            max_concurrency=max_concurrency,
            on_done=on_done,
        )
        if failed and too_many(len(failed)):
            cause = "The specified tolerated failure threshold was exceeded"
            self.record(
                "MapRunFailed",
                state.name,
                {"error": EXCEED_TOLERATED_FAILURE_THRESHOLD, "cause": cause},
            )
            raise StatesError(EXCEED_TOLERATED_FAILURE_THRESHOLD, cause)
        self.record("MapRunSucceeded", state.name, None)
        self.record("MapStateSucceeded", state.name, None)
        node.branches = None
        if state.result_writer is not None:
            return await self._write_results(state, effective, env, outputs, map_run)
        return outputs

    async def _write_results(
        self, state: State, effective: Any, env: Env, outputs: list[Any], map_run: str
    ) -> Any:
        """``ResultWriter``: shape the results; with a ``Resource``, export them (S3)."""
        writer = state.result_writer or {}
        transformation = writer["Transformation"]
        results: list[Any] = outputs
        if transformation == "FLATTEN":
            results = []
            for output in outputs:
                results.extend(output if isinstance(output, list) else [output])
        elif transformation == "NONE":
            results = [
                {"Output": compact_json(output), "Status": "SUCCEEDED"} for output in outputs
            ]
        if writer["Resource"] is None:
            return results
        parameters = writer["Parameters"](effective, env) if writer["Parameters"] else {}
        export = getattr(self.runtime, "write_results", None)
        if export is not None:
            # Private copies: the results are the executions' own outputs.
            shared = parse_compact(compact_json([parameters, results]))
            return await export(state.name, writer["Resource"], shared[0], shared[1])
        # No storage here: the output AWS gives once the results are exported.
        bucket = parameters.get("Bucket") if isinstance(parameters, Mapping) else None
        prefix = parameters.get("Prefix", "") if isinstance(parameters, Mapping) else ""
        key = f"{prefix.rstrip('/')}/{self.uuid()}/manifest.json".lstrip("/")
        return {"MapRunArn": map_run, "ResultWriterDetails": {"Bucket": bucket, "Key": key}}

    def _tolerated_percentage(self, state: State, data: Any, env: Env) -> float:
        expr = state.tolerated_percentage
        if expr is None:
            return 0.0
        value = expr(data, env)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)
        if not is_number(value):
            if state.jsonata:
                raise query_error(
                    "The ToleratedFailurePercentage field must be a number, but was: "
                    f"{compact_json(value)}"
                )
            raise runtime_error(
                f'The ToleratedFailurePercentagePath field refers to value "{_plain(value)}" '
                f"which is not a valid float: {_path_text(state, 'ToleratedFailurePercentagePath')}"
            )
        if not 0 <= value <= 100:
            raise runtime_error("ToleratedFailurePercentage must be between 0 and 100.")
        return float(value)

    def _batch(self, state: State, data: Any, env: Env, inputs: list[Any]) -> list[Any]:
        batcher = state.batcher or {}
        max_items = batcher.get("MaxItemsPerBatch")
        max_bytes = batcher.get("MaxInputBytesPerBatch")
        limit_items = int(max_items(data, env)) if max_items is not None else 0
        limit_bytes = int(max_bytes(data, env)) if max_bytes is not None else 0
        batch_input = batcher.get("BatchInput")
        extra = batch_input(data, env) if batch_input is not None else None
        batches: list[Any] = []
        current: list[Any] = []
        size = 0
        for item in inputs:
            item_size = payload_size(item) if limit_bytes else 0
            if current and (
                (limit_items and len(current) >= limit_items)
                or (limit_bytes and size + item_size > limit_bytes)
            ):
                batches.append(current)
                current, size = [], 0
            current.append(item)
            size += item_size
        if current:
            batches.append(current)
        result = []
        for batch in batches:
            entry: dict[str, Any] = {}
            if isinstance(extra, Mapping):
                entry["BatchInput"] = extra
            entry["Items"] = batch
            result.append(entry)
        return result


class _NoContext:
    """The source of `_NO_ENV`: nothing to read (reading is an engine bug)."""

    __slots__ = ()

    def random(self) -> float:
        raise AssertionError("a state compiled as pure read its environment")

    def uuid(self) -> str:
        raise AssertionError("a state compiled as pure read its environment")

    def now_millis(self) -> int:
        raise AssertionError("a state compiled as pure read its environment")

    def context_object(self, state: Any, entered: Any) -> dict[str, Any]:
        raise AssertionError("a state compiled as pure read its environment")


_NO_VARIABLES: Final = Variables()
"""The scope of every execution of a definition without Assign (never written)."""

_NO_ENV: Final = Env(_NoContext(), None, None, Variables())
"""What a state whose expressions never read their Env gets (`State.needs_env`)."""

_KEEP_EFFECTIVE: Final = frozenset({"Choice", "Wait", "Succeed"})
"""States whose output before OutputPath is their effective input."""


def _record_with_details(  # noqa: PLR0917
    recorder: Recorder, event_id: int, event_type: str, state: str | None, key: str, value: Any
) -> None:
    """``record_value`` for a recorder without one."""
    recorder.record(event_id, event_type, state, {key: value})


def _same_moment(moment: Any) -> datetime:
    return moment  # type: ignore[no-any-return]


def _merged_bound(
    path: JsonPath | None, raw_bound: int | None, result_bound: int | None
) -> int | None:
    """An upper bound of the size of ``raw`` with ``result`` placed at ``path`` (ResultPath).

    No path keeps ``raw``; ``$`` is ``result``. Otherwise the result replaces
    what is there (which only shrinks ``raw``) or is added with its key, and
    every missing object on the way is created: at most the key, its colon,
    a comma and the object's braces per name in the path.
    """
    if path is None:
        return raw_bound
    if not path.segments:
        return result_bound
    if raw_bound is None or result_bound is None:
        return None
    return raw_bound + result_bound + path.insert_overhead


def _find_catcher(catchers: tuple[Catcher, ...], error: StatesError) -> Catcher | None:
    for catcher in catchers:
        if error_matches(catcher.error_equals, error):
            return catcher
    return None


def _find_retrier(retriers: tuple[Retrier, ...], error: StatesError) -> int | None:
    for index, retrier in enumerate(retriers):
        if error_matches(retrier.error_equals, error):
            return index
    return None


def _assignments(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _error_details(err: StatesError) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if err.error is not None:
        details["error"] = err.error
    if err.cause is not None:
        details["cause"] = err.cause
    return details


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else compact_json(value)


def _path_text(state: State, field: str) -> str:
    text = state.texts.get(field)
    if text is not None and text.startswith("$$"):
        return text[1:]  # AWS prints context paths relative to the context object
    return text if text is not None else "$"


def _expr_text(state: State) -> str:
    return state.texts.get("Items", "")


def _fail_text(expr: Any, raw: Any, env: Env, field: str, jsonata: bool) -> str | None:
    if expr is None:
        return None
    value = expr(raw, env)
    if isinstance(value, str):
        return value
    if jsonata:
        name = field.removesuffix("Path")
        raise query_error(
            f"The {name} field must evaluate to a string, but was: {compact_json(value)}"
        )
    raise runtime_error(f"The {field} must resolve to a string, got {json_kind(value)}.")


def _apply_result_path(raw: Any, path: JsonPath | None, result: Any) -> Any:
    """Place ``result`` into ``raw`` at ``path`` (``None``: keep ``raw``)."""
    if path is None:
        return raw
    segments = path.segments
    if not segments:
        return result
    if len(segments) == 1 and type(raw) is dict:
        kind, key = segments[0]
        if kind == 0:  # $.key on an object: a copy with the key set (as _assign_at)
            return {**raw, key: result}
    return _assign_at(raw, segments, 0, result, path)


def _assign_at(node: Any, segments: Any, position: int, result: Any, path: JsonPath) -> Any:
    kind, arg = segments[position]
    last = position == len(segments) - 1
    if kind == 0:  # key
        if node is None or node is MISSING:
            node = {}
        if not isinstance(node, Mapping):
            raise StatesError(
                RESULT_PATH_MATCH_FAILURE,
                f"Unable to apply ResultPath '{path.text}' to input {compact_json(node)}",
            )
        copy = dict(node)
        copy[arg] = (
            result if last else _assign_at(node.get(arg), segments, position + 1, result, path)
        )
        return copy
    if not isinstance(node, list) or not -len(node) <= arg < len(node):
        raise StatesError(
            RESULT_PATH_MATCH_FAILURE,
            f"Unable to apply ResultPath '{path.text}' to input {compact_json(node)}",
        )
    items = list(node)
    items[arg] = result if last else _assign_at(items[arg], segments, position + 1, result, path)
    return items
