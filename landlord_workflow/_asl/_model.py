"""The compiled form of a state machine: immutable, shared by every execution.

Built by `landlord_workflow._asl.compile_definition`; nothing here is
modified after compilation, so one `Machine` serves any number of
concurrent executions (on Temporal, each workflow compiles the definition
from its JSON text; nothing here needs pickling).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from landlord_workflow._asl._choice import Rule
from landlord_workflow._asl._jsonpath import JsonPath
from landlord_workflow._asl._payload import Expr

__all__ = ["Catcher", "ChoiceBranch", "Machine", "Retrier", "State"]


class Retrier:
    """One ``Retry`` entry."""

    __slots__ = (
        "backoff_rate",
        "error_equals",
        "interval",
        "jitter_full",
        "max_attempts",
        "max_delay",
    )

    def __init__(  # noqa: PLR0917
        self,
        error_equals: tuple[str, ...],
        interval: float,
        max_attempts: int,
        backoff_rate: float,
        max_delay: float | None,
        jitter_full: bool,
    ) -> None:
        self.error_equals = error_equals
        self.interval = interval
        self.max_attempts = max_attempts
        self.backoff_rate = backoff_rate
        self.max_delay = max_delay
        self.jitter_full = jitter_full

    def delay(self, retry_index: int, random: float) -> float:
        """Seconds before retry number ``retry_index`` (0 for the first).

        ``IntervalSeconds * BackoffRate ** n``, capped by ``MaxDelaySeconds``;
        with ``JitterStrategy: FULL`` a uniformly random part of it
        (``random`` in [0, 1)).
        """
        try:
            seconds = float(self.interval) * float(self.backoff_rate) ** retry_index
        except OverflowError:
            seconds = float("inf")
        if self.max_delay is not None:
            seconds = min(seconds, float(self.max_delay))
        seconds = min(seconds, 99_999_999.0)
        if self.jitter_full:
            seconds = seconds * random
        return seconds


class Catcher:
    """One ``Catch`` entry."""

    __slots__ = ("assign", "error_equals", "next", "output", "result_path")

    def __init__(
        self,
        error_equals: tuple[str, ...],
        next_state: str,
        result_path: JsonPath | None,
        assign: Expr | None,
        output: Expr | None,
    ) -> None:
        self.error_equals = error_equals
        self.next = next_state
        self.result_path = result_path
        self.assign = assign
        self.output = output


class ChoiceBranch:
    """One ``Choices`` rule: its condition, its target, its own Assign/Output."""

    __slots__ = ("assign", "next", "output", "rule")

    def __init__(self, rule: Rule, next_state: str, assign: Expr | None, output: Expr | None):
        self.rule = rule
        self.next = next_state
        self.assign = assign
        self.output = output


class State:
    """One compiled state. Attributes a state type does not use stay ``None``."""

    __slots__ = (
        "arguments",
        "assign",
        "batcher",
        "branches",
        "catchers",
        "cause",
        "choices",
        "credentials",
        "default",
        "distributed",
        "end",
        "entered_event",
        "error",
        "exited_event",
        "heartbeat",
        "input_path",
        "item_reader",
        "item_selector",
        "items",
        "jsonata",
        "label",
        "max_concurrency",
        "merge_key",
        "merge_overhead",
        "name",
        "needs_env",
        "next",
        "output",
        "output_path",
        "parameters",
        "processor",
        "processor_definition",
        "resource",
        "result",
        "result_key",
        "result_path",
        "result_selector",
        "result_size",
        "result_value",
        "result_writer",
        "retriers",
        "seconds",
        "texts",
        "timeout",
        "timestamp",
        "tolerated_count",
        "tolerated_percentage",
        "type",
        "waits",
        "with_retry",
    )

    def __init__(self, name: str, state_type: str, jsonata: bool) -> None:
        self.name = name
        self.type = state_type
        self.jsonata = jsonata
        # AWS's history event types for this state, and whether its context
        # object has a RetryCount (states that run work: Task, Parallel, Map).
        self.entered_event = f"{state_type}StateEntered"
        self.exited_event = f"{state_type}StateExited"
        self.with_retry = state_type in ("Task", "Parallel", "Map")
        # Whether running it may wait (the others run without a coroutine).
        self.waits = state_type in ("Task", "Parallel", "Map", "Wait")
        # Whether its expressions may read their Env (set by the compiler).
        self.needs_env = True
        self.next: str | None = None
        self.end = False
        # Data flow (JSONPath): None means the field was null; the default is "$".
        self.input_path: Expr | None = None
        self.output_path: Expr | None = None
        self.parameters: Expr | None = None
        self.result_selector: Expr | None = None
        self.result_path: JsonPath | None = None
        self.result: Any = None
        # Precomputed for the interpreter: the one name of a ResultPath like
        # ``$.key``; a constant ``Result`` and its size (measured on first use).
        self.result_key: str | None = None
        self.result_value: Any = None
        self.result_size: int | None = None
        # Set for a JSONPath Pass state that only merges a constant Result at
        # "$.key" (no InputPath, Parameters, OutputPath or Assign): the key, and
        # the most bytes the key adds to the input besides the Result.
        self.merge_key: str | None = None
        self.merge_overhead = 0
        # JSONata
        self.arguments: Expr | None = None
        self.output: Expr | None = None
        # Both
        self.assign: Expr | None = None
        self.retriers: tuple[Retrier, ...] = ()
        self.catchers: tuple[Catcher, ...] = ()
        # Task
        self.resource: str | None = None
        self.timeout: Expr | None = None
        self.heartbeat: Expr | None = None
        self.credentials: Expr | None = None
        # Wait
        self.seconds: Expr | None = None
        self.timestamp: Expr | None = None
        # Fail
        self.error: Expr | None = None
        self.cause: Expr | None = None
        # Choice
        self.choices: tuple[ChoiceBranch, ...] = ()
        self.default: str | None = None
        # Parallel
        self.branches: tuple[Machine, ...] = ()
        # Map
        self.processor: Machine | None = None
        self.processor_definition: Mapping[str, Any] | None = None
        self.distributed = False
        self.items: Expr | None = None
        self.item_selector: Expr | None = None
        self.item_reader: Mapping[str, Any] | None = None
        self.batcher: Mapping[str, Expr] | None = None
        self.result_writer: Mapping[str, Any] | None = None
        self.max_concurrency: Expr | None = None
        self.tolerated_count: Expr | None = None
        self.tolerated_percentage: Expr | None = None
        self.label: str | None = None
        # Source text of path and expression fields, for AWS's messages.
        self.texts: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<{self.type} state {self.name!r}>"


class Machine:
    """A compiled state machine (top level, a Parallel branch or a Map processor)."""

    __slots__ = ("assigns", "jsonata", "start_at", "states", "timeout_seconds")

    def __init__(
        self,
        start_at: str,
        states: Mapping[str, State],
        timeout_seconds: int | None,
        jsonata: bool,
    ) -> None:
        self.start_at = start_at
        self.states = states
        self.timeout_seconds = timeout_seconds
        self.jsonata = jsonata
        # Whether any state, catcher or choice anywhere in the definition has
        # an Assign (set on the top-level machine by the compiler).
        self.assigns = True

    def __repr__(self) -> str:
        return f"<Machine starting at {self.start_at!r} with {len(self.states)} states>"

    def walk(self, path: str = "definition") -> Iterator[tuple[str, State]]:
        """Every state with its field path, nested branches and processors included."""
        for name, state in self.states.items():
            state_path = f"{path}.States.{name}"
            yield state_path, state
            for index, branch in enumerate(state.branches):
                yield from branch.walk(f"{state_path}.Branches[{index}]")
            if state.processor is not None:
                yield from state.processor.walk(f"{state_path}.ItemProcessor")
