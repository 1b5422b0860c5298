"""What the interpreter needs from the engine that runs it.

The interpreter core is plain Python: it never touches a clock, a random
generator, an event loop or the network. Everything that depends on the
engine goes through a `Runtime` (time, sleeping, tasks, callbacks,
randomness, child executions, concurrency) and a `Recorder` (history
events). The mock engine implements them on asyncio; a Temporal workflow
implements them with workflow time, workflow randomness, activities,
signals and child workflows, so the same definition runs the same way on
both.

Cancellation: stopping an execution (or its timeout) reaches the core as the
cancellation of its coroutine; the core never swallows it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# The values below are never modified once built. ExecutionInfo, TaskRequest and
# ChildExecution are built for every execution or task, and are not frozen
# dataclasses: a frozen one costs about four times as much to build.
# TaskContext, which task handlers receive, stays frozen.

__all__ = [
    "ChildExecution",
    "ExecutionIdentity",
    "ExecutionInfo",
    "Recorder",
    "Runtime",
    "TaskContext",
    "TaskRequest",
]


class ExecutionIdentity(Protocol):
    """What the interpreter reads about the execution: `ExecutionInfo`, or any
    object with the same attributes (an engine's own record of the execution)."""

    @property
    def execution_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def state_machine_id(self) -> str: ...
    @property
    def state_machine_name(self) -> str: ...
    @property
    def start_time(self) -> datetime: ...
    @property
    def role_arn(self) -> str: ...
    @property
    def redrive_count(self) -> int: ...
    @property
    def redrive_time(self) -> datetime | None: ...


@dataclass(slots=True, kw_only=True)
class ExecutionInfo:
    """Who the execution is (the ``Execution`` and ``StateMachine`` context fields).

    ``start_time`` is the execution's start; ``redrive_count`` how many times
    it has been redriven (``redrive_time`` the last redrive, if any).
    """

    execution_id: str
    name: str
    state_machine_id: str
    state_machine_name: str
    start_time: datetime
    role_arn: str = "arn:aws:iam::123456789012:role/landlord-workflow"
    redrive_count: int = 0
    redrive_time: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskContext:
    """What a task handler may read about the call (its optional second argument).

    ``context_object`` is the ASL context object (``$$``) the state saw.
    """

    execution_id: str
    execution_name: str
    state_name: str
    retry_count: int
    task_token: str | None
    context_object: Mapping[str, Any] = field(default_factory=dict)


class TaskRequest:
    """One Task invocation.

    ``resource`` is the state's ``Resource`` as written; ``input`` the
    effective input (after ``Parameters``/``Arguments``); ``timeout_seconds``
    and ``heartbeat_seconds`` the state's (evaluated) limits, ``None`` when
    unset; ``task_token`` is set for ``.waitForTaskToken`` tasks;
    ``credentials`` the evaluated ``Credentials`` field (nothing to assume
    off AWS). The runtime maps ITS timeouts to ``States.Timeout`` /
    ``States.HeartbeatTimeout`` (raised as `StatesError` with no cause; the
    core reports a missed heartbeat as ``States.Timeout``, as AWS does).

    ``context`` is given, or built on first use by ``make_context`` (most
    tasks never read it, and the context object it holds costs a clock
    formatting and three dicts). Never modified once built.
    """

    __slots__ = (
        "_context",
        "_make_context",
        "credentials",
        "heartbeat_seconds",
        "input",
        "resource",
        "state",
        "task_token",
        "timeout_seconds",
    )

    def __init__(
        self,
        *,
        resource: str,
        state: str,
        input: Any,
        context: TaskContext | None = None,
        make_context: Callable[[], TaskContext] | None = None,
        timeout_seconds: float | None,
        heartbeat_seconds: float | None,
        task_token: str | None = None,
        credentials: Any = None,
    ) -> None:
        if context is None and make_context is None:
            raise TypeError("TaskRequest needs a context or a make_context")
        self.resource = resource
        self.state = state
        self.input = input
        self._context = context
        self._make_context = make_context
        self.timeout_seconds = timeout_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.task_token = task_token
        self.credentials = credentials

    @property
    def context(self) -> TaskContext:
        """What the task handler may read about the call (built on first use)."""
        context = self._context
        if context is None:
            assert self._make_context is not None  # noqa: S101 - checked when built
            context = self._context = self._make_context()
        return context

    def __repr__(self) -> str:
        return f"TaskRequest(resource={self.resource!r}, state={self.state!r})"


@dataclass(slots=True, kw_only=True)
class ChildExecution:
    """A child execution: nested ``states:startExecution`` or a distributed Map item.

    ``definition`` is the ASL document to run (for a distributed Map, the
    ``ItemProcessor``; for ``startExecution``, ``None``: the runtime resolves
    ``state_machine_arn``). ``name`` is the child's execution name, ``wait``
    whether the parent waits for the end (``.sync``), ``output_as_json``
    whether the output is returned parsed (``.sync:2``) or as text
    (``.sync``), ``parent`` the context of the parent's Task.
    """

    definition: Mapping[str, Any] | None
    state_machine_arn: str | None
    name: str | None
    input: Any
    wait: bool
    output_as_json: bool
    parent: TaskContext
    timeout_seconds: float | None = None


class Recorder(Protocol):
    """Receives every history event, numbered and typed as AWS records them.

    ``event_type`` is AWS's type (``PassStateEntered``, ``TaskScheduled``,
    ``MapIterationStarted``...); ``details`` holds the event's fields with
    AWS's names (``input``, ``output``, ``error``, ``cause``, ``resource``,
    ``index``...) as plain values, shared, not copied: an engine that keeps
    them must not modify them. An engine may keep only the events it exposes
    and just count the rest.
    """

    def record(
        self,
        event_id: int,
        event_type: str,
        state: str | None,
        details: Mapping[str, Any] | None,
    ) -> None:
        """Record one event.

        A recorder may also have ``record_value(event_id, event_type, state,
        key, value)``, the same as ``record`` with the details ``{key:
        value}``: the core then uses it for the events every state records
        (``...StateEntered`` with its input, ``...StateExited`` with its
        output, ``ExecutionSucceeded``), sparing a dict per event. With
        ``record_step(entered_id, entered_type, exited_id, exited_type,
        state, input, output)`` too, the two events of a state that ran in
        one step (one that never waits, without Assign) come in one call,
        once it has run (nothing can read the history in between).
        """
        ...


class Runtime(Protocol):
    """The engine services an execution runs on.

    Two methods are optional (looked up when needed): ``async
    read_items(state, item_reader, state_input) -> list`` reads the items of
    a Map's ``ItemReader`` (without it the Map fails
    ``States.ItemReaderFailed``), and ``async write_results(state, resource,
    parameters, results) -> output`` exports a ``ResultWriter``'s results
    (without it the Map's output is AWS's ``{"MapRunArn",
    "ResultWriterDetails"}`` and nothing is stored).

    Three more are optional speed-ups the core looks up once per execution:
    ``pause()`` (see `sleep`), and ``stamp()`` with ``at(stamp)``: a cheap
    reading of the clock, and the datetime ``now()`` would have returned at
    that reading (the core reads the clock at every state, for the context
    object's ``EnteredTime``, which is seldom read).
    """

    def now(self) -> datetime:
        """The execution clock (aware UTC); workflow time on Temporal."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep on the execution clock (Wait states, retry intervals).

        ``sleep(0)`` (between two states) only yields to the event loop. A
        runtime may also have ``pause()``, returning an awaitable that does
        just that more cheaply: the core then uses it between states.
        """
        ...

    def random(self) -> float:
        """A float in [0, 1) from the execution's seedable source."""
        ...

    def uuid(self) -> str:
        """A random (version 4) UUID string from the execution's seedable source."""
        ...

    def new_task_token(self, state: str) -> str:
        """A fresh task token for a ``.waitForTaskToken`` task of ``state``."""
        ...

    async def run_task(self, request: TaskRequest) -> Any:
        """Invoke the task; return its JSON result or raise `StatesError`.

        For a request with a ``task_token`` the runtime opens the token
        BEFORE invoking (a callback may arrive while the invocation runs)
        and keeps it open until `wait_for_callback` ends; the result
        of the invocation is then what AWS calls the submitted output.
        """
        ...

    async def wait_for_callback(
        self,
        request: TaskRequest,
        *,
        timeout_seconds: float | None,
        heartbeat_seconds: float | None,
    ) -> Any:
        """Wait for ``SendTaskSuccess`` (return its output) or ``SendTaskFailure``.

        ``SendTaskFailure(error, cause)`` raises ``StatesError(error, cause)``;
        no answer within ``timeout_seconds`` raises ``States.Timeout``, no
        heartbeat within ``heartbeat_seconds`` ``States.HeartbeatTimeout``
        (which the core reports as ``States.Timeout``, as AWS does).
        The token is closed when this returns, raises or is cancelled.
        """
        ...

    async def start_execution(self, request: ChildExecution) -> Any:
        """Start a child execution; with ``wait``, return its output when it succeeds.

        A child that fails raises `StatesError` with its error and
        cause. Without ``wait``, return AWS's StartExecution answer
        (``{"ExecutionArn", "StartDate"}``).
        """
        ...

    async def run_all(
        self,
        jobs: Sequence[Callable[[], Awaitable[Any]]],
        *,
        max_concurrency: int,
        on_done: Callable[[int, Any], bool],
    ) -> None:
        """Run ``jobs`` concurrently, at most ``max_concurrency`` at a time (0: no limit).

        Jobs never raise `StatesError` (they report failures as
        values); after each job ends, ``on_done(index, result)`` is called
        and, if it returns ``True``, every running job is cancelled, no
        further job starts, and ``run_all`` returns once they are all gone.
        An exception raised by a job (a bug) cancels the others and
        propagates; cancellation of ``run_all`` cancels every job.
        Jobs start in index order.
        """
        ...
