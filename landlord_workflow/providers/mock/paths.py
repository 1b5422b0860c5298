"""JSONPath data flow of the Amazon States Language, as the mock applies it.

Everything is compiled once, when a workflow is created, so syntax problems
surface in ``validate`` and running a state does no parsing:

* :func:`compile_path` - a ``Path`` (``InputPath``, ``OutputPath``,
  ``SecondsPath``, ``.$`` references): ``$``, ``$.a.b``, ``$['a b']``,
  ``$.a[0]``, ``$.a[-1]``, ``$.a[*]``, ``$.a.*``, ``$.a[1:3]``; ``$$.``
  reads the context object. Wildcards and slices select a list.
  Recursive descent (``..``) and filters (``[?(...)]``) are refused.
* :func:`compile_reference_path` - a ``Reference Path`` (``ResultPath``,
  Choice ``Variable``): a single node, no wildcards, no context object.
* :func:`compile_template` - ``Parameters``/``ResultSelector`` payload
  templates with ``key.$`` values that are paths or intrinsic functions.

Runtime problems raise :class:`StatesError` with the ``States.*`` error code
Step Functions uses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

__all__ = [
    "INTRINSICS",
    "Path",
    "PathSyntaxError",
    "StatesError",
    "Template",
    "apply_result_path",
    "compile_expression",
    "compile_path",
    "compile_reference_path",
    "compile_template",
    "parse_timestamp",
    "runtime_error",
]


class StatesError(Exception):
    """A States-language error raised while running a state (``error``, ``cause``)."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}" if cause else error)


class PathSyntaxError(ValueError):
    """A path, template or intrinsic call the mock cannot compile."""


def runtime_error(cause: str) -> StatesError:
    """A ``States.Runtime`` error (never retried, never caught)."""
    return StatesError("States.Runtime", cause)


_MISSING = object()

# A segment is ("key", name) | ("index", i) | ("wild", None) | ("slice", (start, stop, step)).
_Segment = tuple[str, Any]

_NAME_RE = re.compile(r"[^.\[\]\s()'\"@?*,]+")
_SLICE_RE = re.compile(r"^(-?\d*):(-?\d*)(?::(-?\d+))?$")


class Path:
    """A compiled JSONPath; call :meth:`get` to read it."""

    __slots__ = ("context", "definite", "segments", "text")

    def __init__(self, text: str, context: bool, segments: tuple[_Segment, ...]) -> None:
        self.text = text
        self.context = context
        self.segments = segments
        self.definite = all(kind in ("key", "index") for kind, _ in segments)

    def __repr__(self) -> str:
        return f"Path({self.text!r})"

    def get(self, data: Any, context: Any = None) -> Any:
        """The value at this path; ``States.Runtime`` if it selects nothing."""
        root = context if self.context else data
        if self.definite:
            value = _walk_definite(root, self.segments)
            if value is _MISSING:
                raise runtime_error(
                    f"Invalid path '{self.text}': the path does not match any value in the input"
                )
            return value
        return _walk_all(root, self.segments)

    def find(self, data: Any, context: Any = None) -> Any:
        """Like :meth:`get` but returns a private sentinel when nothing matches."""
        root = context if self.context else data
        if self.definite:
            return _walk_definite(root, self.segments)
        return _walk_all(root, self.segments)

    @staticmethod
    def missing(value: object) -> bool:
        """Whether :meth:`find` found nothing."""
        return value is _MISSING


def _walk_definite(value: Any, segments: Sequence[_Segment]) -> Any:
    for kind, arg in segments:
        if kind == "key":
            if not isinstance(value, Mapping) or arg not in value:
                return _MISSING
            value = value[arg]
        else:
            if not isinstance(value, list) or not -len(value) <= arg < len(value):
                return _MISSING
            value = value[arg]
    return value


def _walk_all(root: Any, segments: Sequence[_Segment]) -> list[Any]:
    nodes = [root]
    for kind, arg in segments:
        found: list[Any] = []
        for node in nodes:
            if kind == "key":
                if isinstance(node, Mapping) and arg in node:
                    found.append(node[arg])
            elif kind == "index":
                if isinstance(node, list) and -len(node) <= arg < len(node):
                    found.append(node[arg])
            elif kind == "wild":
                if isinstance(node, Mapping):
                    found.extend(node.values())
                elif isinstance(node, list):
                    found.extend(node)
            elif isinstance(node, list):
                found.extend(node[slice(*arg)])
        nodes = found
    return nodes


@lru_cache(maxsize=4096)
def compile_path(text: str) -> Path:
    """Compile a JSONPath (``$...`` or ``$$...``); :class:`PathSyntaxError` if invalid."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"{text!r} is not a path: paths start with '$'")
    context = text.startswith("$$")
    pos = 2 if context else 1
    segments: list[_Segment] = []
    length = len(text)
    while pos < length:
        char = text[pos]
        if text.startswith("..", pos):
            raise PathSyntaxError(f"{text!r}: recursive descent '..' is not supported by the mock")
        if char == ".":
            pos += 1
            if pos < length and text[pos] == "*":
                segments.append(("wild", None))
                pos += 1
                continue
            match = _NAME_RE.match(text, pos)
            if match is None:
                raise PathSyntaxError(f"{text!r}: expected a field name at position {pos}")
            segments.append(("key", match.group()))
            pos = match.end()
        elif char == "[":
            end = _bracket_end(text, pos)
            segments.append(_bracket_segment(text, text[pos + 1 : end].strip()))
            pos = end + 1
        else:
            raise PathSyntaxError(f"{text!r}: unexpected {char!r} at position {pos}")
    return Path(text, context, tuple(segments))


def _bracket_end(text: str, start: int) -> int:
    quote: str | None = None
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if quote is not None:
            if char == "\\":
                pos += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "]":
            return pos
        pos += 1
    raise PathSyntaxError(f"{text!r}: unclosed '['")


def _bracket_segment(text: str, inner: str) -> _Segment:
    if inner.startswith(("?", "(")):
        raise PathSyntaxError(f"{text!r}: filter and script expressions are not supported")
    if inner == "*":
        return ("wild", None)
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return ("key", inner[1:-1].replace("\\" + inner[0], inner[0]))
    if re.fullmatch(r"-?\d+", inner):
        return ("index", int(inner))
    match = _SLICE_RE.match(inner)
    if match is not None:
        start, stop, step = (int(part) if part else None for part in match.groups())
        if step == 0:
            raise PathSyntaxError(f"{text!r}: slice step must not be 0")
        return ("slice", (start, stop, step))
    if "," in inner:
        raise PathSyntaxError(f"{text!r}: union expressions are not supported")
    raise PathSyntaxError(f"{text!r}: cannot read [{inner}]")


def compile_reference_path(text: str) -> Path:
    """Compile a Reference Path: a single node of the input (``$``, ``$.a[0].b``)."""
    path = compile_path(text)
    if path.context:
        raise PathSyntaxError(f"{text!r}: a reference path cannot read the context object ($$)")
    if not path.definite:
        raise PathSyntaxError(f"{text!r}: a reference path must select a single node")
    return path


def apply_result_path(raw_input: Any, path: Path | None, result: Any) -> Any:
    """Place ``result`` into ``raw_input`` at ``path`` (``None``: keep the input).

    ``raw_input`` is never modified: the objects along the path are copied.
    Fails with ``States.ResultPathMatchFailure`` when the path runs through a
    value that is not an object.
    """
    if path is None:
        return raw_input
    if not path.segments:
        return result
    return _assign(raw_input, path.segments, result, path.text)


def _assign(node: Any, segments: Sequence[_Segment], result: Any, text: str) -> Any:
    kind, arg = segments[0]
    rest = segments[1:]
    if kind == "key":
        if not isinstance(node, Mapping):
            raise StatesError(
                "States.ResultPathMatchFailure",
                f"Unable to apply ResultPath '{text}': the input at that location is not an object",
            )
        copy = dict(node)
        copy[arg] = _assign(node.get(arg, {}), rest, result, text) if rest else result
        return copy
    if not isinstance(node, list) or not -len(node) <= arg < len(node):
        raise StatesError(
            "States.ResultPathMatchFailure",
            f"Unable to apply ResultPath '{text}': index {arg} does not exist in the input",
        )
    items = list(node)
    items[arg] = _assign(items[arg], rest, result, text) if rest else result
    return items


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp with a zone (``2024-01-01T00:00:00Z``) or ``None``."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


# --------------------------------------------------------------- templates

Template = Callable[[Any, Any], Any]
"""A compiled payload template: ``template(data, context) -> value``."""


def compile_template(payload: Any) -> Template:
    """Compile a ``Parameters``/``ResultSelector`` payload template.

    Keys ending in ``.$`` take a path or an intrinsic call whose value
    replaces them (under the key without ``.$``); everything else is copied.
    Raises :class:`PathSyntaxError` naming the offending key.
    """
    if isinstance(payload, Mapping):
        parts: list[tuple[str, Template]] = []
        for key, value in payload.items():
            if isinstance(key, str) and key.endswith(".$"):
                if not isinstance(value, str):
                    raise PathSyntaxError(f"{key}: a '.$' field needs a path or intrinsic string")
                try:
                    parts.append((key[:-2], compile_expression(value)))
                except PathSyntaxError as exc:
                    raise PathSyntaxError(f"{key}: {exc}") from None
            else:
                try:
                    parts.append((key, compile_template(value)))
                except PathSyntaxError as exc:
                    raise PathSyntaxError(f"{key}.{exc}") from None

        def render_object(data: Any, context: Any) -> Any:
            return {key: part(data, context) for key, part in parts}

        return render_object
    if isinstance(payload, list):
        items = [compile_template(item) for item in payload]

        def render_list(data: Any, context: Any) -> Any:
            return [item(data, context) for item in items]

        return render_list
    constant = json.loads(json.dumps(payload))

    def render_constant(data: Any, context: Any) -> Any:
        return _fresh(constant)

    return render_constant


def _fresh(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fresh(item) for item in value]
    return value


def compile_expression(text: str) -> Template:
    """Compile a path or an intrinsic call (the value of a ``.$`` field, ``ErrorPath``)."""
    stripped = text.strip()
    if stripped.startswith("$"):
        path = compile_path(stripped)
        return path.get
    if stripped.startswith("States."):
        parser = _IntrinsicParser(stripped)
        expression = parser.call()
        parser.end()
        return expression
    raise PathSyntaxError(f"{text!r} is neither a path nor an intrinsic function")


# -------------------------------------------------------------- intrinsics

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
