"""The intrinsic functions of the Amazon States Language (JSONPath states).

Every function AWS defines, with AWS's argument rules: ``States.Format``,
``StringToJson``, ``JsonToString``, ``Array``, ``ArrayPartition``,
``ArrayContains``, ``ArrayRange``, ``ArrayGetItem``, ``ArrayLength``,
``ArrayUnique``, ``Base64Encode``, ``Base64Decode``, ``Hash``, ``JsonMerge``,
``MathRandom``, ``MathAdd``, ``StringSplit`` and ``UUID``. Random ones draw
from the execution's seedable source (``MathRandom`` with a seed is
reproducible on its own, as on AWS). Failures raise
``States.IntrinsicFailure``.

Calls compile once (`compile_call`) into ``fn(data, env)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from landlord_workflow._asl._errors import INTRINSIC_FAILURE, StatesError
from landlord_workflow._asl._jsonpath import PathSyntaxError
from landlord_workflow._asl._values import compact_json, is_int, is_number, java_round

if TYPE_CHECKING:
    from landlord_workflow._asl._scope import Env

__all__ = ["INTRINSICS", "compile_call"]

Expression = Callable[[Any, "Env"], Any]
"""A compiled value expression: ``expression(data, env) -> value``."""

_MAX_STRING: Final = 10_000
_MAX_ARRAY: Final = 1_000


def _fail(cause: str) -> StatesError:
    return StatesError(INTRINSIC_FAILURE, cause)


def _count(name: str, args: list[Any], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise _fail(
            f"Invalid arguments in {name}: expected {expected} argument(s), got {len(args)}"
        )


def _string(name: str, value: Any, what: str = "argument") -> str:
    if not isinstance(value, str):
        raise _fail(f"Invalid arguments in {name}: the {what} must be a string")
    return value


def _array(name: str, value: Any, what: str = "argument") -> list[Any]:
    if not isinstance(value, list):
        raise _fail(f"Invalid arguments in {name}: the {what} must be an array")
    return value


def _integer(name: str, value: Any, what: str) -> int:
    """AWS rounds non-integer numbers to the nearest integer (Java's Math.round)."""
    if not is_number(value):
        raise _fail(f"Invalid arguments in {name}: the {what} must be a number")
    return value if is_int(value) else java_round(value)


def _format_value(value: Any) -> str:
    """How States.Format renders a value: Java's toString of the JSON value."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={_format_value(v)}" for k, v in value.items()) + "}"
    return compact_json(value)


def _format(args: list[Any], env: Env) -> Any:
    if not args:
        raise _fail("Invalid arguments in States.Format: expected at least 1 argument, got 0")
    template = _string("States.Format", args[0], "format string")
    values = args[1:]
    pieces: list[str] = []
    used = 0
    pos = 0
    length = len(template)
    while pos < length:
        char = template[pos]
        if char == "\\" and pos + 1 < length and template[pos + 1] in "{}\\'":
            pieces.append(template[pos + 1])
            pos += 2
            continue
        if template.startswith("{}", pos):
            if used >= len(values):
                raise _fail(
                    "Invalid arguments in States.Format: the format string has more "
                    "placeholders than arguments"
                )
            pieces.append(_format_value(values[used]))
            used += 1
            pos += 2
            continue
        pieces.append(char)
        pos += 1
    if used != len(values):
        raise _fail(
            "Invalid arguments in States.Format: the number of arguments does not match "
            "the number of placeholders"
        )
    return "".join(pieces)


def _string_to_json(args: list[Any], env: Env) -> Any:
    _count("States.StringToJson", args, 1)
    text = args[0]
    if text is None:
        return None
    text = _string("States.StringToJson", text)
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise _fail(
            f"Invalid arguments in States.StringToJson: the argument is not valid JSON: {text}"
        ) from None


def _json_to_string(args: list[Any], env: Env) -> Any:
    _count("States.JsonToString", args, 1)
    return compact_json(args[0])


def _array_fn(args: list[Any], env: Env) -> Any:
    return list(args)


def _array_partition(args: list[Any], env: Env) -> Any:
    _count("States.ArrayPartition", args, 2)
    items = _array("States.ArrayPartition", args[0], "first argument")
    size = _integer("States.ArrayPartition", args[1], "chunk size")
    if size <= 0:
        raise _fail("Invalid arguments in States.ArrayPartition: the chunk size must be positive")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _array_contains(args: list[Any], env: Env) -> Any:
    _count("States.ArrayContains", args, 2)
    items = _array("States.ArrayContains", args[0], "first argument")
    return any(_json_equal(item, args[1]) for item in items)


def _array_range(args: list[Any], env: Env) -> Any:
    _count("States.ArrayRange", args, 3)
    start, end, step = (
        _integer("States.ArrayRange", value, what)
        for value, what in zip(args, ("start", "end", "step"), strict=True)
    )
    if step == 0:
        raise _fail("Invalid arguments in States.ArrayRange: the step must not be 0")
    count = (end - start) // step + 1 if (end - start) * step >= 0 else 0
    if count > _MAX_ARRAY:
        raise _fail(
            f"Invalid arguments in States.ArrayRange: the array would have {count} items, "
            f"more than the maximum of {_MAX_ARRAY}"
        )
    return list(range(start, end + (1 if step > 0 else -1), step))


def _array_get_item(args: list[Any], env: Env) -> Any:
    _count("States.ArrayGetItem", args, 2)
    items = _array("States.ArrayGetItem", args[0], "first argument")
    index = _integer("States.ArrayGetItem", args[1], "index")
    if not 0 <= index < len(items):
        raise _fail(
            f"Invalid arguments in States.ArrayGetItem: index {index} is out of bounds "
            f"for an array of length {len(items)}"
        )
    return items[index]


def _array_length(args: list[Any], env: Env) -> Any:
    _count("States.ArrayLength", args, 1)
    return len(_array("States.ArrayLength", args[0]))


def _array_unique(args: list[Any], env: Env) -> Any:
    _count("States.ArrayUnique", args, 1)
    unique: list[Any] = []
    for item in _array("States.ArrayUnique", args[0]):
        if not any(_json_equal(item, seen) for seen in unique):
            unique.append(item)
    return unique


def _base64_encode(args: list[Any], env: Env) -> Any:
    _count("States.Base64Encode", args, 1)
    text = _string("States.Base64Encode", args[0])
    if len(text) > _MAX_STRING:
        raise _fail(
            f"Invalid arguments in States.Base64Encode: the input is longer than "
            f"{_MAX_STRING} characters"
        )
    return base64.b64encode(text.encode()).decode("ascii")


def _base64_decode(args: list[Any], env: Env) -> Any:
    _count("States.Base64Decode", args, 1)
    text = _string("States.Base64Decode", args[0])
    if len(text) > _MAX_STRING:
        raise _fail(
            f"Invalid arguments in States.Base64Decode: the input is longer than "
            f"{_MAX_STRING} characters"
        )
    try:
        return base64.b64decode(text.encode("ascii"), validate=True).decode()
    except (ValueError, binascii.Error, UnicodeError):
        raise _fail(
            "Invalid arguments in States.Base64Decode: the input is not valid base64"
        ) from None


_HASHES: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(args: list[Any], env: Env) -> Any:
    _count("States.Hash", args, 2)
    data, algorithm = args
    if algorithm not in _HASHES:
        raise _fail(
            f"Invalid arguments in States.Hash: the hashing algorithm must be one of "
            f"{', '.join(_HASHES)}"
        )
    text = data if isinstance(data, str) else compact_json(data)
    if len(text) > _MAX_STRING:
        raise _fail(
            f"Invalid arguments in States.Hash: the input is longer than {_MAX_STRING} characters"
        )
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


def _json_merge(args: list[Any], env: Env) -> Any:
    _count("States.JsonMerge", args, 3)
    left, right, deep = args
    if not isinstance(left, Mapping) or not isinstance(right, Mapping):
        raise _fail("Invalid arguments in States.JsonMerge: both inputs must be JSON objects")
    if deep is not False:
        raise _fail(
            "Invalid arguments in States.JsonMerge: only shallow merging is supported "
            "(the third argument must be false)"
        )
    return {**left, **right}


def _math_random(args: list[Any], env: Env) -> Any:
    _count("States.MathRandom", args, 2, 3)
    start = _integer("States.MathRandom", args[0], "start")
    end = _integer("States.MathRandom", args[1], "end")
    if end <= start:
        raise _fail("Invalid arguments in States.MathRandom: start must be less than end")
    if len(args) == 3:
        seed = _integer("States.MathRandom", args[2], "seed")
        return start + _JavaRandom(seed).next_int(end - start)
    return start + math.floor(env.random() * (end - start))


def _math_add(args: list[Any], env: Env) -> Any:
    _count("States.MathAdd", args, 2)
    return _integer("States.MathAdd", args[0], "first argument") + _integer(
        "States.MathAdd", args[1], "second argument"
    )


def _string_split(args: list[Any], env: Env) -> Any:
    _count("States.StringSplit", args, 2)
    text = _string("States.StringSplit", args[0], "input string")
    separators = _string("States.StringSplit", args[1], "splitter")
    if not separators:
        return [text] if text else []
    parts = re.split("|".join(re.escape(char) for char in separators), text)
    return [part for part in parts if part]


def _uuid(args: list[Any], env: Env) -> Any:
    _count("States.UUID", args, 0)
    return env.uuid()


INTRINSICS: Final[Mapping[str, Callable[[list[Any], Env], Any]]] = {
    "States.Array": _array_fn,
    "States.ArrayContains": _array_contains,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": _array_length,
    "States.ArrayPartition": _array_partition,
    "States.ArrayRange": _array_range,
    "States.ArrayUnique": _array_unique,
    "States.Base64Decode": _base64_decode,
    "States.Base64Encode": _base64_encode,
    "States.Format": _format,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.JsonToString": _json_to_string,
    "States.MathAdd": _math_add,
    "States.MathRandom": _math_random,
    "States.StringSplit": _string_split,
    "States.StringToJson": _string_to_json,
    "States.UUID": _uuid,
}
"""Every intrinsic function, by name."""

_ARITY: Final[Mapping[str, tuple[int, int | None]]] = {
    "States.Array": (0, None),
    "States.ArrayContains": (2, 2),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayPartition": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayUnique": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Format": (1, None),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.JsonToString": (1, 1),
    "States.MathAdd": (2, 2),
    "States.MathRandom": (2, 3),
    "States.StringSplit": (2, 2),
    "States.StringToJson": (1, 1),
    "States.UUID": (0, 0),
}


def _json_equal(left: Any, right: Any) -> bool:
    if is_number(left) and is_number(right):
        return bool(left == right)
    if type(left) is not type(right) and not (
        isinstance(left, Mapping) and isinstance(right, Mapping)
    ):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(
            _json_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, Mapping):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    return bool(left == right)


class _JavaRandom:
    """java.util.Random (a seeded MathRandom is reproducible, as on AWS)."""

    def __init__(self, seed: int) -> None:
        self.seed = (seed ^ 0x5DEECE66D) & ((1 << 48) - 1)

    def next(self, bits: int) -> int:
        self.seed = (self.seed * 0x5DEECE66D + 0xB) & ((1 << 48) - 1)
        value = self.seed >> (48 - bits)
        return value - (1 << bits) if value >= 1 << (bits - 1) else value

    def next_int(self, bound: int) -> int:
        if bound <= 0 or bound >= 1 << 31:
            return int(bound * ((self.next(26) << 27) + self.next(27)) / (1 << 53))
        if bound & -bound == bound:
            return (bound * (self.next(31) & 0x7FFFFFFF)) >> 31
        while True:
            bits = self.next(31) & 0x7FFFFFFF
            value = bits % bound
            if bits - value + (bound - 1) < 1 << 31:
                return value


# --------------------------------------------------------------------- parsing

_NAME_RE: Final = re.compile(r"States\.[A-Za-z0-9]+")
_LITERAL_RE: Final = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true\b|false\b|null\b")


class _Parser:
    def __init__(self, text: str, compile_path: Callable[[str], Expression]) -> None:
        self.text = text
        self.pos = 0
        self.compile_path = compile_path

    def error(self, message: str) -> PathSyntaxError:
        return PathSyntaxError(f"{message} at position {self.pos} in {self.text!r}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self) -> Expression:
        self.skip()
        match = _NAME_RE.match(self.text, self.pos)
        if match is None:
            raise self.error("expected an intrinsic function name")
        name = match.group()
        if name not in INTRINSICS:
            raise PathSyntaxError(f"{name} is not an intrinsic function")
        function = INTRINSICS[name]
        self.pos = match.end()
        self.skip()
        if not self.text.startswith("(", self.pos):
            raise self.error("expected '('")
        self.pos += 1
        args: list[Expression] = []
        self.skip()
        if self.text.startswith(")", self.pos):
            self.pos += 1
        else:
            while True:
                args.append(self.argument())
                self.skip()
                if self.text.startswith(",", self.pos):
                    self.pos += 1
                    continue
                if self.text.startswith(")", self.pos):
                    self.pos += 1
                    break
                raise self.error("expected ',' or ')'")
        low, high = _ARITY[name]
        if len(args) < low or (high is not None and len(args) > high):
            expected = (
                str(low) if low == high else f"{low} or more" if high is None else f"{low}-{high}"
            )
            raise PathSyntaxError(
                f"{name} takes {expected} argument(s), {len(args)} given in {self.text!r}"
            )
        arguments = tuple(args)

        def evaluate(data: Any, env: Env) -> Any:
            return function([arg(data, env) for arg in arguments], env)

        return evaluate

    def argument(self) -> Expression:
        self.skip()
        text = self.text
        if text.startswith("'", self.pos):
            return _constant(self.string())
        if text.startswith("States.", self.pos):
            return self.call()
        if text.startswith("$", self.pos):
            end = self.pos
            depth = 0
            quote = ""
            while end < len(text):
                char = text[end]
                if quote:
                    if char == quote:
                        quote = ""
                elif char in "'\"" and depth:
                    quote = char
                elif char in "[(":
                    depth += 1
                elif char in "])":
                    if depth == 0:
                        break
                    depth -= 1
                elif char == "," and depth == 0:
                    break
                end += 1
            path_text = text[self.pos : end].strip()
            self.pos = end
            return self.compile_path(path_text)
        match = _LITERAL_RE.match(text, self.pos)
        if match is None:
            raise self.error("expected a string, number, boolean, null, path or intrinsic call")
        self.pos = match.end()
        return _constant(json.loads(match.group()))

    def string(self) -> str:
        self.pos += 1
        chars: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\\" and self.pos + 1 < len(text):
                following = text[self.pos + 1]
                if following not in "{}'\\":
                    raise self.error(f"illegal escape sequence '\\{following}'")
                # \{ \} stay escaped for States.Format; \' and \\ unescape here.
                chars.append(char + following if following in "{}" else following)
                self.pos += 2
                continue
            if char == "'":
                self.pos += 1
                return "".join(chars)
            chars.append(char)
            self.pos += 1
        raise self.error("unterminated string")


def _constant(value: Any) -> Expression:
    def constant(data: Any, env: Env) -> Any:
        return value

    return constant


def compile_call(text: str, compile_path: Callable[[str], Expression]) -> Expression:
    """Compile one ``States.Fn(...)`` call; `PathSyntaxError` if it does not parse.

    ``compile_path`` compiles the path arguments (``$.a``, ``$$.b``, ``$var``).
    """
    parser = _Parser(text, compile_path)
    expression = parser.call()
    parser.skip()
    if parser.pos != len(text):
        raise parser.error("unexpected text after the call")
    return expression
