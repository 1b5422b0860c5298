"""JSON value helpers shared by the interpreter: kinds, text, sizes, rounding.

Values flowing through an execution are plain JSON (``dict``, ``list``,
``str``, ``int``, ``float``, ``bool``, ``None``) and are never modified in
place once created, so the interpreter shares them freely instead of copying.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final, TypeGuard

from landlord_workflow._limits import MAX_PAYLOAD_BYTES

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "compact_json",
    "is_int",
    "is_number",
    "java_round",
    "json_kind",
    "parse_compact",
    "payload_size",
]


_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

# The same C encoder ``_ENCODER.encode`` builds on every call, built once and
# without the circular-reference table: values in an execution are trees (they
# come from JSON text or are built new, and are never modified in place). A
# value that is not a tree (a cycle) ends in RecursionError, and is encoded
# again the checking way, which raises what it always raised.
_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_FAST: Final = (
    _make_encoder(
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    if _make_encoder is not None
    else None
)


def compact_json(value: Any) -> str:
    """``value`` as compact JSON text (what AWS prints and measures)."""
    if _FAST is not None:
        try:
            return "".join(_FAST(value, 0))
        except RecursionError:
            pass
    return _ENCODER.encode(value)


_DECODER: Final = json.JSONDecoder()


def parse_compact(text: str) -> Any:
    """The value of JSON ``text`` that `compact_json` wrote (a fresh copy of it).

    ``json.loads`` without its two wrappers and whitespace scans: the text
    starts and ends with its value.
    """
    return _DECODER.raw_decode(text)[0]


def payload_size(value: Any) -> int:
    """Size of ``value`` in UTF-8 bytes of compact JSON."""
    text = compact_json(value)
    # Only non-ASCII text needs encoding to count its bytes.
    return len(text) if text.isascii() else len(text.encode())


def is_int(value: Any) -> TypeGuard[int]:
    """Whether ``value`` is a JSON integer (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    """Whether ``value`` is a JSON number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def java_round(value: float) -> int:
    """Java's ``Math.round``: halves round up (towards positive infinity)."""
    return math.floor(value + 0.5)


def json_kind(value: Any) -> str:
    """The JSON type name AWS uses in messages: object, array, string, number, boolean, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    return "array"


def check_json(value: Any) -> str | None:
    """Why ``value`` is not a plain JSON value, or ``None`` (no NaN/Infinity, string keys)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if node is None or isinstance(node, str | bool | int):
            continue
        if isinstance(node, float):
            if not math.isfinite(node):
                return f"{node!r} is not a JSON number"
            continue
        if isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str):
                    return f"object key {key!r} is not a string"
                stack.append(item)
            continue
        if isinstance(node, list):
            stack.extend(node)
            continue
        return f"a {type(node).__name__} is not a JSON value"
    return None
