"""``Parameters``/``ResultSelector`` payload templates and ``.$`` expressions.

Keys ending in ``.$`` take a path (`paths`) or an intrinsic function
call (`intrinsics`); everything else is copied. Templates compile once
(syntax problems surface in ``validate``) into ``template(data, context)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from landlord_workflow.providers.mock.paths import PathSyntaxError, compile_path

__all__ = ["Template", "compile_expression", "compile_template"]

Template = Callable[[Any, Any], Any]
"""A compiled payload template: ``template(data, context) -> value``."""


def compile_template(payload: Any) -> Template:
    """Compile a ``Parameters``/``ResultSelector`` payload template.

    Keys ending in ``.$`` take a path or an intrinsic call whose value
    replaces them (under the key without ``.$``); everything else is copied.
    Raises `PathSyntaxError` naming the offending key.
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
        from landlord_workflow.providers.mock.intrinsics import compile_call

        return compile_call(stripped)
    raise PathSyntaxError(f"{text!r} is neither a path nor an intrinsic function")
