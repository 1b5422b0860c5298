"""JSONata for ASL's ``QueryLanguage: "JSONata"``, behind one small interface.

`compile_jsonata` parses an expression once per definition;
`Jsonata.evaluate` runs it on the state's data with ``$states``, the
workflow variables and AWS's extra functions (``$partition``, ``$range``,
``$hash``, ``$random``, ``$uuid``, ``$parse``) bound. ``$now()`` and
``$millis()`` read the execution's clock and ``$random()``/``$uuid()`` its
seedable source, so an evaluation is deterministic (a Temporal workflow
replays it exactly).

The engine is the ``jsonata-python`` package (a port of the reference
implementation); nothing outside this module depends on that choice.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from jsonata import jexception
from jsonata.jsonata import Jsonata as _Engine
from jsonata.utils import Utils as _Utils

from landlord_workflow._asl._jsonpath import MISSING
from landlord_workflow._asl._values import compact_json, is_int, is_number

__all__ = ["Jsonata", "JsonataError", "JsonataSyntaxError", "compile_jsonata"]

_NULL: Final = _Utils.NULL_VALUE


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


def _to_engine(value: Any) -> Any:
    """JSON ``null`` becomes the engine's null (plain ``None`` means undefined there)."""
    if value is None:
        return _NULL
    if isinstance(value, dict):
        if not _has_null(value):
            return value
        return {key: _to_engine(item) for key, item in value.items()}
    if isinstance(value, list):
        if not _has_null(value):
            return value
        return [_to_engine(item) for item in value]
    return value


def _has_null(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if node is None:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _from_engine(value: Any) -> Any:
    """Engine values back to plain JSON; functions are refused."""
    if value is _NULL:
        return None
    if isinstance(value, dict):
        return {key: _from_engine(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_engine(item) for item in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnsupportedValueError
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if value is None or isinstance(value, str | int | bool):
        return value
    raise UnsupportedValueError


# ---------------------------------------------------------------- AWS functions


def _partition(items: Any, size: Any) -> Any:
    if not isinstance(items, list) or not is_number(size) or size <= 0:
        raise jexception.JException("D3137", 0, "$partition needs an array and a positive size")
    size = int(size)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _range(start: Any, end: Any, step: Any) -> Any:
    if not all(is_number(v) for v in (start, end, step)) or step == 0:
        raise jexception.JException("D3137", 0, "$range needs numbers and a non-zero step")
    values: list[Any] = _Utils.create_sequence()
    current = start
    while (step > 0 and current <= end) or (step < 0 and current >= end):
        values.append(current)
        current += step
        if len(values) > 1000:
            raise jexception.JException("D3137", 0, "$range: at most 1000 items")
    return values


_HASHES: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(data: Any, algorithm: Any) -> Any:
    if not isinstance(data, str) or algorithm not in _HASHES:
        raise jexception.JException(
            "D3137", 0, f"$hash needs a string and one of {', '.join(_HASHES)}"
        )
    return hashlib.new(_HASHES[algorithm], data.encode()).hexdigest()


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise jexception.JException("D3137", 0, "$parse needs a string")
    try:
        return _to_engine(json.loads(text))
    except ValueError:
        raise jexception.JException("D3137", 0, f"$parse: not valid JSON: {text}") from None


_PURE: Final = {
    "partition": _Engine.JLambda(_partition),
    "range": _Engine.JLambda(_range),
    "hash": _Engine.JLambda(_hash),
    "parse": _Engine.JLambda(_parse),
}


class Jsonata:
    """One compiled JSONata expression."""

    __slots__ = ("_engine", "reads_context", "text")

    def __init__(self, text: str, engine: _Engine) -> None:
        self.text = text
        self._engine = engine
        self.reads_context = "$states" in text

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

        Raises `JsonataError` on evaluation errors and
        `UnsupportedValueError` for a non-JSON result.
        """
        bindings: dict[str, Any] = {name: _to_engine(value) for name, value in variables.items()}
        bindings["states"] = {key: _to_engine(value) for key, value in states.items()}
        bindings.update(_PURE)
        bindings["random"] = _Engine.JLambda(lambda seed=None: _seeded(seed, random))
        bindings["uuid"] = _Engine.JLambda(uuid)
        bindings["millis"] = _Engine.JLambda(now_millis)
        bindings["now"] = _Engine.JLambda(lambda *args: _now(now_millis(), *args))
        try:
            value = _run(self._engine, _to_engine(data), bindings)
        except jexception.JException as exc:
            message = str(exc)
            raise JsonataError(exc.error, message) from None
        except RecursionError:
            raise JsonataError("U1001", "Stack overflow error") from None
        if value is None:
            return MISSING
        return _from_engine(value)


def _run(engine: _Engine, data: Any, bindings: Mapping[str, Any]) -> Any:
    # The engine's own evaluate() also reads the wall clock (for its $now);
    # this is the same evaluation without that, so a replay is exact.
    frame = engine.create_frame(engine.environment)
    for key, value in bindings.items():
        frame.bind(key, value)
    frame.bind("$", data)
    if isinstance(data, list) and not _Utils.is_sequence(data):
        data = _Utils.create_sequence(data)
        data.outer_wrapper = True
    return engine.eval(engine.ast, data, frame)


def _seeded(seed: Any, random: Callable[[], float]) -> float:
    if seed is None:
        return random()
    if not is_int(seed):
        raise jexception.JException("T0410", 0, "$random seed must be an integer")
    # A seeded $random is reproducible (java.util.Random#nextDouble).
    from landlord_workflow._asl._intrinsics import _JavaRandom

    generator = _JavaRandom(seed)
    return ((generator.next(26) << 27) + generator.next(27)) * (1.0 / (1 << 53))


def _now(millis: int, picture: Any = None, timezone: Any = None) -> str:
    from datetime import UTC, datetime, timedelta

    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def compile_jsonata(text: str) -> Jsonata:
    """Compile ``text``; `JsonataSyntaxError` if it does not parse."""
    try:
        engine = _Engine(text)
    except jexception.JException as exc:
        raise JsonataSyntaxError(f"{exc.error}: {exc}") from None
    except RecursionError:
        raise JsonataSyntaxError("the expression is nested too deeply") from None
    if engine.errors:
        raise JsonataSyntaxError(str(engine.errors[0]))
    return Jsonata(text, engine)


def describe(value: Any) -> str:
    """Compact JSON of ``value`` for messages."""
    return compact_json(value)
