"""The intrinsic functions of the Amazon States Language that the mock implements.

``States.Format``, ``States.StringToJson``, ``States.JsonToString``,
``States.Array`` and the array, encoding, hash, JSON-merge, math, split and
UUID helpers (see `INTRINSICS`). Others (``States.MathRandom``) are
refused at validation. Failures raise ``States.IntrinsicFailure``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from landlord_workflow.providers.mock.paths import PathSyntaxError, StatesError, compile_path

__all__ = ["INTRINSICS", "compile_call"]

Template = Callable[[Any, Any], Any]
"""A compiled expression: ``expression(data, context) -> value``."""

Intrinsic = Callable[[list[Any]], Any]


def _format(args: list[Any]) -> Any:
    template = _arg_str(args, 0, "States.Format")
    values = args[1:]
    pieces: list[str] = []
    used = 0
    pos = 0
    while pos < len(template):
        char = template[pos]
        if char == "\\" and pos + 1 < len(template):
            pieces.append(template[pos + 1])
            pos += 2
            continue
        if template.startswith("{}", pos):
            if used >= len(values):
                raise _intrinsic_error("States.Format: more placeholders than arguments")
            pieces.append(_format_value(values[used]))
            used += 1
            pos += 2
            continue
        pieces.append(char)
        pos += 1
    if used != len(values):
        raise _intrinsic_error("States.Format: more arguments than placeholders")
    return "".join(pieces)


def _format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        raise _intrinsic_error(
            "States.Format: arguments must be strings, numbers, booleans or null"
        )
    return json.dumps(value)


def _string_to_json(args: list[Any]) -> Any:
    text = _arg_str(args, 0, "States.StringToJson", count=1)
    try:
        return json.loads(text)
    except ValueError:
        raise _intrinsic_error("States.StringToJson: the argument is not valid JSON") from None


def _json_to_string(args: list[Any]) -> Any:
    _count(args, 1, "States.JsonToString")
    return json.dumps(args[0], separators=(",", ":"), ensure_ascii=False)


def _array_partition(args: list[Any]) -> Any:
    _count(args, 2, "States.ArrayPartition")
    items, size = args
    if not isinstance(items, list) or not _is_int(size) or size <= 0:
        raise _intrinsic_error("States.ArrayPartition: needs an array and a positive chunk size")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _array_contains(args: list[Any]) -> Any:
    _count(args, 2, "States.ArrayContains")
    if not isinstance(args[0], list):
        raise _intrinsic_error("States.ArrayContains: the first argument must be an array")
    return args[1] in args[0]


def _array_range(args: list[Any]) -> Any:
    _count(args, 3, "States.ArrayRange")
    start, end, step = args
    if not all(_is_int(v) for v in args) or step == 0:
        raise _intrinsic_error("States.ArrayRange: needs integer start, end and non-zero step")
    values = list(range(start, end + (1 if step > 0 else -1), step))
    if len(values) > 1000:
        raise _intrinsic_error("States.ArrayRange: at most 1000 items")
    return values


def _array_get_item(args: list[Any]) -> Any:
    _count(args, 2, "States.ArrayGetItem")
    items, index = args
    if not isinstance(items, list) or not _is_int(index) or not 0 <= index < len(items):
        raise _intrinsic_error("States.ArrayGetItem: index out of range")
    return items[index]


def _array_length(args: list[Any]) -> Any:
    _count(args, 1, "States.ArrayLength")
    if not isinstance(args[0], list):
        raise _intrinsic_error("States.ArrayLength: the argument must be an array")
    return len(args[0])


def _array_unique(args: list[Any]) -> Any:
    _count(args, 1, "States.ArrayUnique")
    if not isinstance(args[0], list):
        raise _intrinsic_error("States.ArrayUnique: the argument must be an array")
    unique: list[Any] = []
    for item in args[0]:
        if item not in unique:
            unique.append(item)
    return unique


def _base64_encode(args: list[Any]) -> Any:
    text = _arg_str(args, 0, "States.Base64Encode", count=1)
    return base64.b64encode(text.encode()).decode("ascii")


def _base64_decode(args: list[Any]) -> Any:
    text = _arg_str(args, 0, "States.Base64Decode", count=1)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True).decode()
    except ValueError:
        raise _intrinsic_error("States.Base64Decode: the argument is not valid base64") from None


_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(args: list[Any]) -> Any:
    _count(args, 2, "States.Hash")
    data, algorithm = args
    if algorithm not in _HASHES:
        raise _intrinsic_error(f"States.Hash: algorithm must be one of {', '.join(_HASHES)}")
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


def _json_merge(args: list[Any]) -> Any:
    _count(args, 3, "States.JsonMerge")
    left, right, deep = args
    if not isinstance(left, dict) or not isinstance(right, dict):
        raise _intrinsic_error("States.JsonMerge: both arguments must be objects")
    if deep is not False:
        raise _intrinsic_error("States.JsonMerge: only shallow merges (false) are supported")
    return {**left, **right}


def _math_add(args: list[Any]) -> Any:
    _count(args, 2, "States.MathAdd")
    if not all(_is_number(v) for v in args):
        raise _intrinsic_error("States.MathAdd: arguments must be numbers")
    return args[0] + args[1]


def _string_split(args: list[Any]) -> Any:
    _count(args, 2, "States.StringSplit")
    text, separators = args
    if not isinstance(text, str) or not isinstance(separators, str) or not separators:
        raise _intrinsic_error("States.StringSplit: needs a string and a separator string")
    parts = re.split("|".join(re.escape(char) for char in separators), text)
    return [part for part in parts if part]


def _uuid(args: list[Any]) -> Any:
    _count(args, 0, "States.UUID")
    return str(uuid.uuid4())


INTRINSICS: Mapping[str, Intrinsic] = {
    "States.Array": list,
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
    "States.StringSplit": _string_split,
    "States.StringToJson": _string_to_json,
    "States.UUID": _uuid,
}
"""The intrinsic functions the mock implements, by name."""


def _intrinsic_error(cause: str) -> StatesError:
    return StatesError("States.IntrinsicFailure", cause)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _count(args: list[Any], count: int, name: str) -> None:
    if len(args) != count:
        raise _intrinsic_error(f"{name}: expects {count} argument(s), got {len(args)}")


def _arg_str(args: list[Any], index: int, name: str, count: int | None = None) -> str:
    if count is not None:
        _count(args, count, name)
    if len(args) <= index or not isinstance(args[index], str):
        raise _intrinsic_error(f"{name}: argument {index + 1} must be a string")
    value: str = args[index]
    return value


class _IntrinsicParser:
    """Recursive-descent parser for ``States.Fn(arg, ...)`` expressions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> PathSyntaxError:
        return PathSyntaxError(f"{self.text!r}: {message} at position {self.pos}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def end(self) -> None:
        self.skip()
        if self.pos != len(self.text):
            raise self.error("unexpected text after the call")

    def call(self) -> Template:
        self.skip()
        match = re.compile(r"States\.[A-Za-z0-9]+").match(self.text, self.pos)
        if match is None:
            raise self.error("expected an intrinsic function name")
        name = match.group()
        if name not in INTRINSICS:
            raise PathSyntaxError(f"intrinsic function {name} is not supported by the mock engine")
        function = INTRINSICS[name]
        self.pos = match.end()
        self.skip()
        if not self.text.startswith("(", self.pos):
            raise self.error("expected '('")
        self.pos += 1
        args: list[Template] = []
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

        def evaluate(data: Any, context: Any) -> Any:
            return function([arg(data, context) for arg in args])

        return evaluate

    def argument(self) -> Template:
        self.skip()
        rest = self.text[self.pos :]
        if rest.startswith("'"):
            return _constant(self.string())
        if rest.startswith("States."):
            return self.call()
        if rest.startswith("$"):
            end = self.pos
            depth = 0
            while end < len(self.text):
                char = self.text[end]
                if char == "[":
                    depth += 1
                elif char == "]":
                    depth -= 1
                elif char in ",)" and depth == 0:
                    break
                end += 1
            path = compile_path(self.text[self.pos : end].strip())
            self.pos = end
            return path.get
        match = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null").match(
            self.text, self.pos
        )
        if match is None:
            raise self.error("expected a string, number, boolean, null, path or intrinsic")
        self.pos = match.end()
        return _constant(json.loads(match.group()))

    def string(self) -> str:
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                following = self.text[self.pos + 1]
                # Keep \{ and \} escaped for States.Format; unescape the rest.
                chars.append(char + following if following in "{}" else following)
                self.pos += 2
                continue
            if char == "'":
                self.pos += 1
                return "".join(chars)
            chars.append(char)
            self.pos += 1
        raise self.error("unterminated string")


def _constant(value: Any) -> Template:
    def constant(data: Any, context: Any) -> Any:
        return value

    return constant


def compile_call(text: str) -> Template:
    """Compile one ``States.Fn(...)`` expression; `PathSyntaxError` if invalid."""
    parser = _IntrinsicParser(text)
    expression = parser.call()
    parser.end()
    return expression
