"""Walk a compiled state machine on the event loop, as Step Functions would.

The :class:`Interpreter` runs one execution from a given state with a given
input and reports what happens through a :class:`Run` (the engine's record
of the execution): states entered and exited, task failures and retries. It
returns the final output or raises :class:`RunFailedError`.

Data flow per state, as in the Amazon States Language specification:
``InputPath`` -> ``Parameters`` -> (task / ``Result``) -> ``ResultSelector``
-> ``ResultPath`` (into the raw state input) -> ``OutputPath``. A catcher's
``ResultPath`` puts ``{"Error", "Cause"}`` into the raw state input.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Protocol

from landlord_workflow.errors import WorkflowError
from landlord_workflow.providers.mock._clock import Clock, TimerHandle
from landlord_workflow.providers.mock.compiler import Catcher, Machine, Retrier, State
from landlord_workflow.providers.mock.paths import (
    StatesError,
    apply_result_path,
    parse_timestamp,
    runtime_error,
)

__all__ = [
    "Interpreter",
    "Run",
    "RunFailedError",
    "TaskFailure",
    "TaskHandler",
    "payload_size",
]

TaskHandler = Callable[[Any], Awaitable[Any]]
"""``async def handler(state_input) -> state_result`` for one Task ``Resource``."""


class TaskFailure(WorkflowError):  # noqa: N818 - public name fixed by the contract
    """Raised by a task handler to fail its task with Step Functions error ``error``.

    ``cause`` becomes the error's cause (what a catcher sees as ``Cause``).
    Retry and Catch rules match ``error`` like any Step Functions error name.
    """

    def __init__(self, error: str, cause: str | None = None) -> None:
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}" if cause else error)


class RunFailedError(Exception):
    """The execution fails at ``state`` with ``error`` and ``cause``."""

    def __init__(self, error: str, cause: str | None, state: str | None) -> None:
        self.error = error
        self.cause = cause
        self.state = state
        super().__init__(f"{error} at {state}: {cause}")


class Run(Protocol):
    """What the interpreter reports to (the engine's execution record)."""

    def enter(self, state: State, data: Any) -> Mapping[str, Any]:
        """Record entering ``state`` with ``data``; return the context object (``$$``)."""
        ...

    def event(self, kind: str, raw_type: str, state: str, **details: Any) -> None:
        """Record one history event about ``state``."""
        ...

    def exit(self, state: State, output: Any) -> None:
        """Record leaving ``state`` with ``output``."""
        ...


# Errors that States.ALL and States.TaskFailed never match (AWS: terminal).
_UNCATCHABLE = frozenset({"States.Runtime", "States.DataLimitExceeded"})


def error_matches(patterns: tuple[str, ...], error: str) -> bool:
    """Whether a Retry/Catch ``ErrorEquals`` list matches ``error``."""
    if error == "States.Runtime":
        return False
    if error in patterns:
        return True
    if error in _UNCATCHABLE:
        return False
    if "States.ALL" in patterns:
        return True
    return "States.TaskFailed" in patterns and error != "States.Timeout"


def payload_size(value: Any) -> int:
    """Size in UTF-8 bytes of ``value`` serialised as compact JSON."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode())


class _ClockTimeout:
    """Like ``asyncio.timeout`` but on a :class:`Clock` (simulated time works)."""

    def __init__(self, clock: Clock, seconds: float | None) -> None:
        self._clock = clock
        self._seconds = seconds
        self._handle: TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None
        self._cancelling = 0
        self.expired = False

    async def __aenter__(self) -> _ClockTimeout:
        if self._seconds is not None:
            task = asyncio.current_task()
            assert task is not None  # noqa: S101 - always inside a task
            self._task = task
            self._cancelling = task.cancelling()
            self._handle = self._clock.call_later(self._seconds, self._expire)
        return self

    def _expire(self) -> None:
        if self._task is not None and not self._task.done():
            self.expired = True
            self._task.cancel()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
        if (
            self.expired
            and exc_type is asyncio.CancelledError
            and self._task is not None
            and self._task.uncancel() <= self._cancelling
        ):
            raise TimeoutError from exc


class Interpreter:
    """Runs executions of compiled machines (one instance per provider)."""

    def __init__(
        self,
        *,
        clock: Clock,
        handlers: Mapping[str, TaskHandler],
        default_task_seconds: float,
        max_payload_bytes: int,
    ) -> None:
        self.clock = clock
        self.handlers = dict(handlers)
        self.default_task_seconds = default_task_seconds
        self.max_payload_bytes = max_payload_bytes

    async def run(self, run: Run, machine: Machine, start: str, data: Any) -> Any:
        """Run from state ``start`` with ``data``; return the execution output."""
        name = start
        states = machine.states
        while True:
            # One loop pass per state keeps executions fair and cancellable.
            await asyncio.sleep(0)
            state = states[name]
            context = run.enter(state, data)
            try:
                output, following = await self._state(run, state, data, context)
            except StatesError as err:
                catcher = self._catcher(state.catchers, err.error)
                if catcher is None:
                    raise RunFailedError(err.error, err.cause, name) from None
                error_output = {"Error": err.error, "Cause": err.cause or ""}
                try:
                    output = apply_result_path(data, catcher.result_path, error_output)
                except StatesError as inner:
                    raise RunFailedError(inner.error, inner.cause, name) from None
                following = catcher.next
            self._check_size(output, name)
            run.exit(state, output)
            if following is None:
                return output
            name, data = following, output

    @staticmethod
    def _catcher(catchers: tuple[Catcher, ...], error: str) -> Catcher | None:
        for catcher in catchers:
            if error_matches(catcher.error_equals, error):
                return catcher
        return None

    def _check_size(self, output: Any, state: str) -> None:
        size = payload_size(output)
        if size > self.max_payload_bytes:
            raise RunFailedError(
                "States.DataLimitExceeded",
                f"The state/task '{state}' returned a result with a size exceeding the maximum "
                f"number of bytes service limit ({size} > {self.max_payload_bytes}).",
                state,
            )

    async def _state(
        self, run: Run, state: State, raw: Any, context: Mapping[str, Any]
    ) -> tuple[Any, str | None]:
        kind = state.type
        if kind == "Fail":
            error = state.error
            cause = state.cause
            if state.error_path is not None:
                error = _path_text(state.error_path(raw, context), "ErrorPath", state.name)
            if state.cause_path is not None:
                cause = _path_text(state.cause_path(raw, context), "CausePath", state.name)
            raise RunFailedError(error or "States.Failed", cause, state.name)

        # InputPath null means the state sees {} (the raw input still feeds ResultPath).
        data = {} if state.input_path is None else state.input_path.get(raw, context)
        if kind == "Choice":
            following = self._choose(state, data, context)
            return self._output(state, data, context), following
        if kind in ("Succeed", "Wait"):
            if kind == "Wait":
                await self.clock.sleep(self._wait_seconds(state, data, context))
            return self._output(state, data, context), state.next

        if kind == "Pass":
            effective = data if state.parameters is None else state.parameters(data, context)
            result = state.result if state.has_result else effective
        else:
            result = await self._task(run, state, data, context)
        combined = apply_result_path(raw, state.result_path, result)
        return self._output(state, combined, context), state.next

    @staticmethod
    def _output(state: State, data: Any, context: Mapping[str, Any]) -> Any:
        if state.output_path is None:
            return {}
        return state.output_path.get(data, context)

    @staticmethod
    def _choose(state: State, data: Any, context: Mapping[str, Any]) -> str:
        for rule, following in state.choices:
            if rule(data, context):
                return following
        if state.default is not None:
            return state.default
        raise StatesError(
            "States.NoChoiceMatched", f"No Matches! (state '{state.name}' has no Default)"
        )

    def _wait_seconds(self, state: State, data: Any, context: Mapping[str, Any]) -> float:
        if state.seconds is not None:
            return float(state.seconds)
        if state.timestamp is not None:
            return (state.timestamp - self.clock.now()).total_seconds()
        if state.seconds_path is not None:
            value = state.seconds_path.get(data, context)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise runtime_error(
                    f"The SecondsPath '{state.seconds_path.text}' must select a non-negative "
                    f"integer, got {json.dumps(value)}"
                )
            return float(value)
        assert state.timestamp_path is not None  # noqa: S101 - ensured by the compiler
        value = state.timestamp_path.get(data, context)
        when = parse_timestamp(value)
        if when is None:
            raise runtime_error(
                f"The TimestampPath '{state.timestamp_path.text}' must select an RFC 3339 "
                f"timestamp, got {json.dumps(value)}"
            )
        return (when - self.clock.now()).total_seconds()

    # ------------------------------------------------------------------ tasks

    async def _task(self, run: Run, state: State, data: Any, context: Mapping[str, Any]) -> Any:
        """Run a Task with its retriers; return its result after ``ResultSelector``.

        As on Step Functions, every attempt evaluates ``Parameters`` afresh,
        with ``$$.State.RetryCount`` set to the number of retries so far.
        """
        attempts = [0] * len(state.retriers)
        while True:
            attempt_context = _with_retry_count(context, sum(attempts))
            task_input = (
                data if state.parameters is None else state.parameters(data, attempt_context)
            )
            try:
                result = await self._invoke(state, task_input)
            except StatesError as err:
                raw_type = "TaskTimedOut" if err.error == "States.Timeout" else "TaskFailed"
                run.event("TaskFailed", raw_type, state.name, error=err.error, cause=err.cause)
                retrier_index = self._retrier(state.retriers, err.error)
                if retrier_index is None:
                    raise
                retrier: Retrier = state.retriers[retrier_index]
                if attempts[retrier_index] >= retrier.max_attempts:
                    raise
                delay = retrier.delay(attempts[retrier_index])
                attempts[retrier_index] += 1
                run.event(
                    "TaskRetried",
                    "TaskRetried",
                    state.name,
                    error=err.error,
                    attempt=sum(attempts),
                    delay_seconds=delay,
                )
                await self.clock.sleep(delay)
            else:
                if state.result_selector is not None:
                    result = state.result_selector(result, attempt_context)
                return result

    @staticmethod
    def _retrier(retriers: tuple[Retrier, ...], error: str) -> int | None:
        for index, retrier in enumerate(retriers):
            if error_matches(retrier.error_equals, error):
                return index
        return None

    async def _invoke(self, state: State, task_input: Any) -> Any:
        resource = state.resource or ""
        handler = self.handlers.get(resource)
        timeout = _ClockTimeout(self.clock, state.timeout_seconds)
        try:
            async with timeout:
                if handler is None:
                    await self.clock.sleep(self.default_task_seconds)
                    return task_input
                result = await handler(_copy_json(task_input))
        except TimeoutError:
            if not timeout.expired:
                raise StatesError("TimeoutError", "the task handler raised TimeoutError") from None
            raise StatesError(
                "States.Timeout", f"Task '{state.name}' timed out after {state.timeout_seconds}s"
            ) from None
        except TaskFailure as failure:
            raise StatesError(failure.error, failure.cause) from None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a handler error is a task error, like Lambda
            raise StatesError(type(exc).__name__, str(exc)) from None
        try:
            return _copy_json(result)
        except (TypeError, ValueError):
            raise StatesError(
                "States.Runtime",
                f"the handler for {resource!r} returned a value that is not JSON: {type(result)!r}",
            ) from None


def _with_retry_count(context: Mapping[str, Any], retries: int) -> Mapping[str, Any]:
    """``context`` with ``State.RetryCount`` set to ``retries``."""
    if retries == 0:
        return context
    return {**context, "State": {**context["State"], "RetryCount": retries}}


def _copy_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _path_text(value: Any, field: str, state: str) -> str:
    """AWS: a Fail state's ErrorPath/CausePath must select a string."""
    if isinstance(value, str):
        return value
    raise RunFailedError(
        "States.Runtime",
        f"An error occurred while executing the state '{state}'. "
        f"The {field} must resolve to a string, got {type(value).__name__}.",
        state,
    )
