"""What an expression sees while a state runs: context object, variables, randomness.

`Env` is built once per state visit. The context object (``$$`` /
``$states.context``) is assembled only when an expression reads it.
`Variables` is one scope of workflow variables (``Assign``): the
top-level states share one; each Parallel branch and Map iteration gets an
inner scope that reads the outer ones but can never assign them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from landlord_workflow._asl._jsonpath import MISSING

__all__ = ["ContextSource", "Env", "Variables", "format_time"]


def format_time(moment: datetime) -> str:
    """A timestamp as the context object shows it: ``2024-01-02T03:04:05.678Z``."""
    moment = moment.astimezone(UTC)
    if moment.year >= 1000:  # isoformat's text, without strftime's cost
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Variables:
    """One scope of workflow variables; ``parent`` is the enclosing scope (read-only)."""

    __slots__ = ("parent", "values")

    def __init__(
        self, parent: Variables | None = None, values: Mapping[str, Any] | None = None
    ) -> None:
        self.parent = parent
        self.values: dict[str, Any] = dict(values) if values else {}

    def lookup(self, name: str) -> Any:
        """The value of ``name`` in this scope or an outer one, else `MISSING`."""
        scope: Variables | None = self
        while scope is not None:
            values = scope.values
            if name in values:
                return values[name]
            scope = scope.parent
        return MISSING

    def is_outer(self, name: str) -> bool:
        """Whether ``name`` belongs to an enclosing scope (it cannot be assigned here)."""
        scope = self.parent
        while scope is not None:
            if name in scope.values:
                return True
            scope = scope.parent
        return False

    def child(self) -> Variables:
        """A new inner scope (a Parallel branch or a Map iteration)."""
        return Variables(self)

    def visible(self) -> dict[str, Any]:
        """Every variable visible here, inner scopes winning."""
        chain: list[Variables] = []
        scope: Variables | None = self
        while scope is not None:
            chain.append(scope)
            scope = scope.parent
        merged: dict[str, Any] = {}
        for each in reversed(chain):
            merged.update(each.values)
        return merged

    def __iter__(self) -> Iterator[str]:
        return iter(self.visible())


class ContextSource(Protocol):
    """Where an `Env` gets what is the same for every state of an execution."""

    def random(self) -> float:
        """A float in [0, 1) from the execution's seedable source."""
        ...

    def uuid(self) -> str:
        """A random UUID string from the execution's seedable source."""
        ...

    def now_millis(self) -> int:
        """The execution clock in milliseconds since the epoch."""
        ...

    def context_object(self, state: Any, entered: Any) -> dict[str, Any]:
        """The context object of ``state`` (a compiled state) entered at ``entered``."""
        ...


class Env:
    """The evaluation environment of one state visit.

    ``context`` is the context object; ``variables`` the visible variables;
    ``random()`` a float in [0, 1) and ``uuid()`` a UUID string, both from the
    execution's seedable source; ``now_millis()`` the execution clock;
    ``input``, ``result`` and ``error_output`` feed JSONata's ``$states``
    (``result``/``error_output`` are `MISSING` until they exist).

    An Env is built for every state, so it holds only references: the
    context object is assembled by ``source`` from ``state`` and
    ``entered`` the first time an expression reads it.
    """

    __slots__ = (
        "_context",
        "_entered",
        "_source",
        "_state",
        "error_output",
        "input",
        "result",
        "variables",
    )

    def __init__(
        self,
        source: ContextSource,
        state: Any,
        entered: Any,
        variables: Variables,
        state_input: Any = None,
    ) -> None:
        self._source = source
        self._state = state
        self._entered = entered
        self._context: dict[str, Any] | None = None
        self.variables = variables
        self.input = state_input
        self.result: Any = MISSING
        self.error_output: Any = MISSING

    @property
    def random(self) -> Callable[[], float]:
        """A float in [0, 1) from the execution's seedable source (a callable)."""
        return self._source.random

    @property
    def uuid(self) -> Callable[[], str]:
        """A random UUID string from the execution's seedable source (a callable)."""
        return self._source.uuid

    @property
    def now_millis(self) -> Callable[[], int]:
        """The execution clock in milliseconds (a callable)."""
        return self._source.now_millis

    @property
    def context(self) -> dict[str, Any]:
        """The context object (built on first use)."""
        if self._context is None:
            self._context = self._source.context_object(self._state, self._entered)
        return self._context

    def with_context(self, extra: Mapping[str, Any]) -> Env:
        """A copy whose context object also has ``extra`` (``Task``, ``Map`` entries)."""
        env = Env(self._source, self._state, self._entered, self.variables, self.input)
        env._context = {**self.context, **extra}
        env.result = self.result
        env.error_output = self.error_output
        return env
