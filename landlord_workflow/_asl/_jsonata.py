"""JSONata for ASL's ``QueryLanguage: "JSONata"``, behind one small interface.

`compile_jsonata` parses an expression once per definition;
`Jsonata.evaluate` runs it with ``$states`` (fed as the lazily read input
document, so reading a field costs the same whatever the payload size), the
workflow variables it references and AWS's extra functions (``$partition``,
``$range``, ``$hash``, ``$random``, ``$uuid``, ``$parse``; ``$eval`` is not
available, as on AWS). ``$now()``/``$millis()`` read the execution's clock
and ``$random()``/``$uuid()`` its seedable source, so an evaluation is
deterministic (a Temporal workflow replays it exactly).

The engine is ``jlens`` (a Rust implementation of JSONata 2.x that passes
the reference test suite, raises the reference implementation's error
messages, is thread-safe and runs inside Temporal's sandbox); nothing outside
this module depends on that choice.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, Final

import jlens

from landlord_workflow._asl._jsonpath import MISSING
from landlord_workflow._asl._values import is_int, is_number

__all__ = [
    "Jsonata",
    "JsonataError",
    "JsonataSyntaxError",
    "UnsupportedValueError",
    "compile_jsonata",
]

# $states is the input document: field reads are lazy (no conversion of the payload).
_PREFIX: Final = "($states := $; "
# AWS's $range is a JSONata function: a single-item range is that item (a sequence).
_RANGE: Final = (
    "$range := function($start, $end, $step) {("
    " $step = 0 ? $error('$range: step must not be 0') :"
    " $map([0..$floor(($end - $start) / $step)], function($i) { $start + $i * $step })"
    ")}; "
)
_FUNCTIONS: Final = ("partition", "range", "hash", "random", "uuid", "parse", "eval")


class JsonataSyntaxError(ValueError):
    """An expression that does not parse."""


class JsonataError(Exception):
    """An evaluation error: ``code`` (``T1006``...) and the engine's message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class UnsupportedValueError(Exception):
    """The expression returned something that is not JSON (a function)."""


class _Sources:
    __slots__ = ("random", "uuid")

    def __init__(self, random: Callable[[], float], uuid: Callable[[], str]) -> None:
        self.random = random
        self.uuid = uuid


# The randomness of the evaluation running now (host functions are shared by
# every execution of a compiled definition, so they look it up here).
_SOURCES: ContextVar[_Sources] = ContextVar("landlord_workflow_jsonata_sources")


def _fail(message: str) -> Exception:
    return ValueError(message)


def _partition(items: Any, size: Any) -> Any:
    if not isinstance(items, list) or not is_number(size) or size <= 0:
        raise _fail("$partition needs an array and a positive chunk size")
    chunk = int(size)
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


_HASHES: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(data: Any, algorithm: Any) -> Any:
    if not isinstance(data, str) or algorithm not in _HASHES:
        raise _fail(f"$hash needs a string and one of {', '.join(_HASHES)}")
    return hashlib.new(_HASHES[algorithm], data.encode()).hexdigest()


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise _fail("$parse needs a string")
    try:
        return json.loads(text)
    except ValueError:
        raise _fail(f"$parse: the argument is not valid JSON: {text}") from None


def _random(seed: Any = None) -> float:
    if seed is None:
        return _SOURCES.get().random()
    if not is_int(seed):
        raise _fail("$random: the seed must be an integer")
    # A seeded $random is reproducible on its own (java.util.Random#nextDouble).
    from landlord_workflow._asl._intrinsics import _JavaRandom

    generator = _JavaRandom(seed)
    return ((generator.next(26) << 27) + generator.next(27)) * (1.0 / (1 << 53))


def _uuid() -> str:
    return _SOURCES.get().uuid()


_HOST: Final[Mapping[str, tuple[Callable[..., Any], str]]] = {
    "partition": (_partition, "<an:a>"),
    "hash": (_hash, "<ss:s>"),
    "parse": (_parse, "<s:x>"),
    "random": (_random, "<n?:n>"),
    "uuid": (_uuid, "<:s>"),
}


def _engine(source: str, uses: frozenset[str]) -> jlens.Expression:
    expression = jlens.Expression(source)
    for name in uses & _HOST.keys():
        function, signature = _HOST[name]
        expression.register_function(name, function, signature)
    return expression


class Jsonata:
    """One compiled JSONata expression."""

    __slots__ = (
        "_engine",
        "_random",
        "_type",
        "_uses",
        "_uses_clock",
        "reads_context",
        "text",
        "variables",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self._uses = frozenset(name for name in _FUNCTIONS if f"${name}" in text)
        # Only these read the clock or the execution's randomness: the others
        # are evaluated without preparing them.
        self._uses_clock = "$now" in text or "$millis" in text
        self._random = bool(self._uses & {"random", "uuid"})
        prefix = _PREFIX + (_RANGE if "range" in self._uses else "")
        self._engine = _engine(prefix + text + ")", self._uses)
        self._type: jlens.Expression | None = None
        reads = self._engine.reads()
        self.variables = frozenset(reads.get("bindings", {})) - {"states", *_FUNCTIONS}
        # $states is the input document: what the expression reads of it.
        states_read = reads.get("input")
        self.reads_context = states_read is True or (
            isinstance(states_read, dict) and "context" in states_read
        )

    def evaluate(
        self,
        data: Any,
        *,
        states: Mapping[str, Any],
        variables: Mapping[str, Any],
        random: Callable[[], float],
        uuid: Callable[[], str],
        now_millis: Callable[[], int],
    ) -> Any:
        """The value (plain JSON) or `MISSING` when undefined.

        Raises `JsonataError` on evaluation errors and `UnsupportedValueError`
        for a result that is not JSON (a function).
        """
        bindings: dict[str, Any] = {
            name: variables[name] for name in self.variables if name in variables
        }
        bindings["eval"] = None  # AWS: $eval is not supported
        token = _SOURCES.set(_Sources(random, uuid)) if self._random else None
        now = now_millis() if self._uses_clock else 0
        try:
            value = self._engine.evaluate(states, bindings, now=now)
            if value is None:
                value = self._null_or_undefined(states, bindings, now)
        except jlens.JlensError as exc:
            raise JsonataError(str(exc.code), str(exc)) from None
        except ValueError as exc:  # a host function refused its arguments
            raise JsonataError("D3137", str(exc)) from None
        finally:
            if token is not None:
                _SOURCES.reset(token)
        return _checked(value)

    def _null_or_undefined(self, states: Mapping[str, Any], bindings: Any, now: int) -> Any:
        text = self._engine.evaluate_json(json.dumps(states), bindings, now=now)
        if text is not None:
            return json.loads(text)
        if self._type is None:
            prefix = _PREFIX + (_RANGE if "range" in self._uses else "")
            self._type = _engine(prefix + "$type((" + self.text + ")))", self._uses)
        if self._type.evaluate(states, bindings, now=now) == "function":
            raise UnsupportedValueError
        return MISSING


def _checked(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise UnsupportedValueError
    return value


def compile_jsonata(text: str) -> Jsonata:
    """Compile ``text``; `JsonataSyntaxError` if it does not parse."""
    try:
        return Jsonata(text)
    except jlens.JlensError as exc:
        raise JsonataSyntaxError(f"{exc.code}: {exc}") from None
