"""JSONPath data flow of the Amazon States Language, as the mock applies it.

Everything is compiled once, when a workflow is created, so syntax problems
surface in ``validate`` and running a state does no parsing:

* `compile_path` - a ``Path`` (``InputPath``, ``OutputPath``,
  ``SecondsPath``, ``.$`` references): ``$``, ``$.a.b``, ``$['a b']``,
  ``$.a[0]``, ``$.a[-1]``, ``$.a[*]``, ``$.a.*``, ``$.a[1:3]``; ``$$.``
  reads the context object. Wildcards and slices select a list.
  Recursive descent (``..``) and filters (``[?(...)]``) are refused.
* `compile_reference_path` - a ``Reference Path`` (``ResultPath``,
  Choice ``Variable``): a single node, no wildcards, no context object.

Payload templates are in `templates`, intrinsic functions in
`intrinsics`.

Runtime problems raise `StatesError` with the ``States.*`` error code
Step Functions uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

__all__ = [
    "Path",
    "PathSyntaxError",
    "StatesError",
    "apply_result_path",
    "compile_path",
    "compile_reference_path",
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
    """A compiled JSONPath; call `get` to read it."""

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
        """Like `get` but returns a private sentinel when nothing matches."""
        root = context if self.context else data
        if self.definite:
            return _walk_definite(root, self.segments)
        return _walk_all(root, self.segments)

    @staticmethod
    def missing(value: object) -> bool:
        """Whether `find` found nothing."""
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
    """Compile a JSONPath (``$...`` or ``$$...``); `PathSyntaxError` if invalid."""
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
