"""Strict JSON values: checking, copying and deterministic encoding.

Shared by the codec, validation and the providers: `check_json` lists
every problem in a JSON-like value with its path, `plain_json` copies it
into plain dicts and lists, and `encode_json` writes deterministic text
(sorted keys, compact, UTF-8 kept as is) so equal payloads give equal bytes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from landlord_workflow.errors import InvalidSpecError

__all__ = [
    "MAX_JSON_DEPTH",
    "check_json",
    "describe",
    "encode_json",
    "join_path",
    "plain_json",
    "rooted",
    "show",
]

Problem = tuple[str, str]

MAX_JSON_DEPTH = 256
"""Deepest nesting of objects and arrays accepted in a JSON value."""

_MAX_PROBLEMS = 20
_SAFE_INT_BITS = 13_000  # well below the 4,300-digit int/str conversion limit
_SURROGATE = re.compile("[\ud800-\udfff]")


def rooted(problems: list[Problem]) -> list[Problem]:
    """Name problems of the value itself ``"$"``."""
    return [(field or "$", message) for field, message in problems]


def join_path(base: str, sub: str) -> str:
    """Join dotted field paths: ``join_path("tags", "a") == "tags.a"``."""
    if not sub:
        return base
    if not base or sub.startswith("["):
        return base + sub
    return f"{base}.{sub}"


def describe(value: object) -> str:
    """Name the JSON kind (or Python type) of ``value`` for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


def show(text: str, limit: int = 60) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


# -- strict JSON values ------------------------------------------------------------------


_Where = tuple[Any, str | int] | None


def _render(where: _Where) -> str:
    parts: list[str] = []
    while where is not None:
        where, key = where
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return "".join(reversed(parts)).removeprefix(".")


def plain_json(value: object, problems: list[Problem], *, strict_unicode: bool) -> object:
    """Copy ``value`` into plain dicts and lists, checking it is strict JSON.

    Appends ``(relative path, message)`` for each problem (at most a few); the
    walk is iterative, so deep nesting is reported, never a ``RecursionError``.
    With ``strict_unicode`` strings holding lone surrogates are refused too
    (they cannot be encoded as UTF-8).
    """
    root: list[object] = [None]
    stack: list[tuple[object, _Where, int, Any, Any]] = [(value, None, 0, root, 0)]
    start = len(problems)

    def problem(where: _Where, message: str) -> None:
        problems.append((_render(where), message))

    while stack and len(problems) - start < _MAX_PROBLEMS:
        item, where, depth, parent, slot = stack.pop()
        kind = type(item)  # exact dict/list first: an ABC check costs a Python call
        if item is None or kind is bool:
            parent[slot] = item
        elif isinstance(item, str):
            if strict_unicode and not item.isascii() and _SURROGATE.search(item):
                problem(where, "contains a lone surrogate (not valid Unicode)")
            parent[slot] = item
        elif isinstance(item, int):
            if item.bit_length() > _SAFE_INT_BITS:
                try:
                    int.__repr__(item)
                except ValueError:
                    problem(where, "integer has too many digits")
            parent[slot] = item
        elif isinstance(item, float):
            if not math.isfinite(item):
                name = "NaN" if math.isnan(item) else "Infinity"
                problem(where, f"{name} is not allowed in JSON")
            parent[slot] = item
        elif kind is dict or kind is list or isinstance(item, Mapping | list | tuple):
            if depth >= MAX_JSON_DEPTH:
                problem(None, f"nested deeper than {MAX_JSON_DEPTH} levels")
                continue
            if kind is dict or (kind is not list and isinstance(item, Mapping)):
                obj: dict[str, object] = {}
                parent[slot] = obj
                entries: list[tuple[object, _Where, int, Any, Any]] = []
                for key, child in cast("Mapping[object, object]", item).items():
                    if not isinstance(key, str):
                        problem(where, f"object keys must be strings, found {describe(key)}")
                        continue
                    if strict_unicode and not key.isascii() and _SURROGATE.search(key):
                        problem(where, "an object key contains a lone surrogate")
                        continue
                    obj[key] = None
                    entries.append((child, (where, key), depth + 1, obj, key))
                stack.extend(reversed(entries))
            else:
                array: list[object] = [None] * len(cast("Sequence[object]", item))
                parent[slot] = array
                stack.extend(
                    (child, (where, index), depth + 1, array, index)
                    for index, child in reversed(list(enumerate(cast("Sequence[object]", item))))
                )
        else:
            problem(where, f"{describe(item)} is not a JSON value")
    return root[0]


_COMPACT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
"""``json.dumps`` with these options, the encoder built once (dumps builds one per call)."""


def check_json(value: object, field: str, *, max_bytes: int | None = None) -> list[Problem]:
    """Problems that stop ``value`` from being strict, UTF-8 encodable JSON.

    With ``max_bytes``, also checks the size of its compact encoding (encoded
    once). Used by `landlord_workflow._validation`.
    """
    problems: list[Problem] = []
    plain = plain_json(value, problems, strict_unicode=True)
    if problems:
        return [(join_path(field, path), message) for path, message in problems]
    if max_bytes is not None:
        try:
            text = _COMPACT(plain)
        except RecursionError:
            return [(field, "nested too deeply to encode")]
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
        if size > max_bytes:
            return [(field, f"encodes to {size:,} bytes of JSON; the limit is {max_bytes:,}")]
    return []


def encode_json(value: object) -> str:
    """Deterministic compact JSON text for ``value`` (keys sorted, strict, UTF-8 safe).

    Equal values give equal text, so providers can hash or compare payloads.
    Raises [`InvalidSpecError`][landlord_workflow.errors.InvalidSpecError] naming the offending path
    when ``value``
    is not strict JSON (NaN, infinities, non-string keys, lone surrogates,
    sets, bytes, nesting deeper than `MAX_JSON_DEPTH`).
    """
    problems: list[Problem] = []
    plain = plain_json(value, problems, strict_unicode=True)
    if problems:
        raise InvalidSpecError(rooted(problems))
    try:
        return json.dumps(
            plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except RecursionError:
        raise InvalidSpecError.single("$", "nested too deeply to encode") from None
