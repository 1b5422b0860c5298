"""Compiled value expressions and payload templates, in both query languages.

Everything here compiles once per definition into ``expr(data, env) ->
value`` callables:

- JSONPath: paths (`path_reader`, with AWS's wording when nothing is
  there), ``.$`` payload templates (``Parameters``, ``ResultSelector``,
  ``ItemSelector``, ``Assign``) whose values are paths, context paths,
  variable references or intrinsic calls;
- JSONata: ``{% ... %}`` expressions and templates (``Arguments``,
  ``Output``, ``Assign``, ``Items``...), with ``$states`` and variables.

Constant parts of a template are built once and shared (values are never
modified in place).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from landlord_workflow._asl._errors import query_error, runtime_error
from landlord_workflow._asl._intrinsics import compile_call
from landlord_workflow._asl._jsonata import (
    Jsonata,
    JsonataError,
    JsonataSyntaxError,
    UnsupportedValueError,
    compile_jsonata,
)
from landlord_workflow._asl._jsonpath import (
    MISSING,
    JsonPath,
    PathError,
    PathSyntaxError,
    compile_path,
)
from landlord_workflow._asl._scope import Env
from landlord_workflow._asl._values import compact_json, payload_size

__all__ = [
    "WHOLE",
    "Expr",
    "TemplateError",
    "compile_jsonata_template",
    "compile_jsonpath_template",
    "compile_value",
    "constant",
    "is_jsonata_string",
    "is_pure",
    "jsonata_expression",
    "path_reader",
    "size_bound",
]

Expr = Callable[[Any, Env], Any]
"""A compiled expression: ``expr(data, env) -> value``."""


class TemplateError(ValueError):
    """A template or expression that does not compile; ``field`` says where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def constant(value: Any) -> Expr:
    """An expression that always returns ``value``."""

    def fixed(data: Any, env: Env) -> Any:
        return value

    size: list[int] = []

    def bound(data_bound: int | None) -> int | None:
        if not size:
            size.append(payload_size(value))  # measured once, on first use
        return size[0]

    fixed.constant = True  # type: ignore[attr-defined]
    fixed.bound = bound  # type: ignore[attr-defined]
    fixed.pure = True  # type: ignore[attr-defined]
    return fixed


def _is_constant(expr: Expr) -> bool:
    return getattr(expr, "constant", False) is True


def is_pure(expr: Expr | None) -> bool:
    """Whether ``expr`` reads only its data, never its `Env` (``None``: nothing to read).

    Constants, paths rooted at ``$`` and templates made of them are pure;
    context paths, variables, intrinsic functions and JSONata are not.
    """
    return expr is None or getattr(expr, "pure", False) is True


# -- size bounds -------------------------------------------------------------------
#
# An expression may carry ``bound(data_bound) -> int | None``: an upper bound
# of the UTF-8 size (compact JSON) of what it returns, given an upper bound of
# the size of the data it reads (None: unknown). The interpreter uses them to
# skip measuring outputs that cannot be over the payload limit; anything
# without one (context, variables, intrinsics, JSONata) is measured.


def size_bound(expr: Expr, data_bound: int | None) -> int | None:
    """``expr``'s bound for data of at most ``data_bound`` bytes, or None if unknown."""
    bound = getattr(expr, "bound", None)
    return None if bound is None else bound(data_bound)


def _same_bound(data_bound: int | None) -> int | None:
    # A definite path on the data selects a part of it: its JSON text is a
    # piece of the data's text (a trailing property union, a subset of one
    # object's members), so it is no longer.
    return data_bound


def _object_bound(parts: tuple[tuple[int, Expr], ...]) -> Callable[[int | None], int | None]:
    # {"k1":v1,"k2":v2}: braces, each key with its colon, the values, the commas.
    fixed = 2 + sum(key_size + 1 for key_size, _ in parts) + max(len(parts) - 1, 0)
    return _sum_bound(fixed, tuple(expr for _, expr in parts))


def _list_bound(items: tuple[Expr, ...]) -> Callable[[int | None], int | None]:
    return _sum_bound(2 + max(len(items) - 1, 0), items)


def _sum_bound(fixed: int, exprs: tuple[Expr, ...]) -> Callable[[int | None], int | None]:
    """``fixed`` bytes plus a bound of each of ``exprs`` (None if any has none)."""

    def bound(data_bound: int | None) -> int | None:
        total = fixed
        for expr in exprs:
            part = size_bound(expr, data_bound)
            if part is None:
                return None
            total += part
        return total

    return bound


# ------------------------------------------------------------------ JSONPath


def _root(path: JsonPath, data: Any, env: Env) -> Any:
    if path.root == "$":
        return data
    if path.root == "$$":
        return env.context
    assert path.variable is not None  # noqa: S101 - compile_path sets it for "var"
    return env.variables.lookup(path.variable)


def _whole(data: Any, env: Env) -> Any:
    return data


_whole.bound = _same_bound  # type: ignore[attr-defined]
_whole.pure = True  # type: ignore[attr-defined]
WHOLE: Expr = _whole
"""The path ``$``: the data itself (the interpreter skips calling it)."""


def path_reader(path: JsonPath, describe_missing: Callable[[JsonPath, Any, str], str]) -> Expr:
    """Read ``path``; a definite path that selects nothing fails ``States.Runtime``.

    ``describe_missing(path, root_value, jayway_message)`` words the cause.
    """
    if path.is_root and path.root == "$":
        return WHOLE

    def read(data: Any, env: Env) -> Any:
        root = _root(path, data, env)
        if root is MISSING:
            raise runtime_error(describe_missing(path, root, f"No results for path: {path.text}"))
        try:
            value = path.read(root)
        except PathError as exc:
            raise runtime_error(describe_missing(path, root, str(exc))) from None
        if value is MISSING:
            raise runtime_error(
                describe_missing(path, root, f"No results for path: {path.jayway()}")
            )
        return value

    if path.root == "$":
        read.pure = True  # type: ignore[attr-defined]
        if path.selects_part:
            read.bound = _same_bound  # type: ignore[attr-defined]
    return read


def _field_missing(field: str) -> Callable[[JsonPath, Any, str], str]:
    def describe(path: JsonPath, root: Any, message: str) -> str:
        shown = "null" if root is MISSING else compact_json(root)
        return (
            f"The JSONPath '{path.text}' specified for the field '{field}' could not be "
            f"found in the input '{shown}'"
        )

    return describe


def invalid_path(path: JsonPath, root: Any, message: str) -> str:
    """How AWS words a missing InputPath/OutputPath/...Path: ``Invalid path 'x' : msg``."""
    return f"Invalid path '{path.text}' : {message}"


def compile_value(text: str, field: str) -> Expr:
    """A ``.$`` value: a path (``$``, ``$$``, ``$var``) or an intrinsic function call."""
    stripped = text.strip()
    if stripped.startswith("States."):

        def argument_path(path_text: str) -> Expr:
            try:
                path = compile_path(path_text)
            except PathSyntaxError as exc:
                raise TemplateError(field, str(exc)) from None
            return path_reader(path, _field_missing(field))

        try:
            return compile_call(stripped, argument_path)
        except PathSyntaxError as exc:
            raise TemplateError(field, str(exc)) from None
    if stripped.startswith("$"):
        try:
            path = compile_path(stripped)
        except PathSyntaxError as exc:
            raise TemplateError(field, str(exc)) from None
        return path_reader(path, _field_missing(field))
    raise TemplateError(
        field,
        f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic "
        "function call",
    )


def compile_jsonpath_template(payload: Any, field: str = "") -> Expr:
    """Compile a JSONPath payload template (``"key.$": "<path or intrinsic>"``)."""
    if isinstance(payload, Mapping):
        parts: list[tuple[str, Expr]] = []
        for key, value in payload.items():
            if not isinstance(key, str):
                raise TemplateError(field, "object keys must be strings")
            if key.endswith(".$"):
                if not isinstance(value, str):
                    raise TemplateError(
                        _join(field, key),
                        f"The value for the field '{key}' must be a valid JSONPath or a "
                        "valid intrinsic function call",
                    )
                parts.append((key[:-2], compile_value(value, key)))
            else:
                parts.append((key, compile_jsonpath_template(value, _join(field, key))))
        if all(_is_constant(expr) for _, expr in parts):
            return constant({key: expr(None, None) for key, expr in parts})  # type: ignore[arg-type]
        frozen = tuple(parts)

        def render_object(data: Any, env: Env) -> Any:
            return {key: expr(data, env) for key, expr in frozen}

        render_object.bound = _object_bound(  # type: ignore[attr-defined]
            tuple((payload_size(key), expr) for key, expr in frozen)
        )
        render_object.pure = all(is_pure(expr) for _, expr in frozen)  # type: ignore[attr-defined]
        return render_object
    if isinstance(payload, list):
        items = [
            compile_jsonpath_template(item, f"{field}[{index}]")
            for index, item in enumerate(payload)
        ]
        if all(_is_constant(expr) for expr in items):
            return constant([expr(None, None) for expr in items])  # type: ignore[arg-type]
        frozen_items = tuple(items)

        def render_list(data: Any, env: Env) -> Any:
            return [expr(data, env) for expr in frozen_items]

        render_list.bound = _list_bound(frozen_items)  # type: ignore[attr-defined]
        render_list.pure = all(is_pure(expr) for expr in frozen_items)  # type: ignore[attr-defined]
        return render_list
    return constant(payload)


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


# ------------------------------------------------------------------- JSONata


def is_jsonata_string(value: Any) -> bool:
    """Whether ``value`` is a ``{% ... %}`` expression string."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def jsonata_expression(text: str, field: str) -> Expr:
    """Compile a ``{% expr %}`` string into an expression (``field`` names it in errors)."""
    inner = text[2:-2].strip()
    try:
        compiled = compile_jsonata(inner)
    except JsonataSyntaxError as exc:
        raise TemplateError(field, f"the JSONata expression '{inner}' is invalid: {exc}") from None
    return _jsonata_runner(compiled, field)


def _jsonata_runner(compiled: Jsonata, field: str) -> Expr:
    text = compiled.text

    def run(data: Any, env: Env) -> Any:
        states: dict[str, Any] = {"input": env.input}
        if compiled.reads_context:
            states["context"] = env.context
        if env.result is not MISSING:
            states["result"] = env.result
        if env.error_output is not MISSING:
            states["errorOutput"] = env.error_output
        variables = {}
        for name in compiled.variables:
            found = env.variables.lookup(name)
            if found is not MISSING:
                variables[name] = found
        try:
            value = compiled.evaluate(
                env.input,
                states=states,
                variables=variables,
                random=env.random,
                uuid=env.uuid,
                now_millis=env.now_millis,
            )
        except JsonataError as exc:
            raise query_error(
                f"The JSONata expression '{text}' specified for the field '{field}' threw an "
                f"error during evaluation. {exc.code}: {exc.message}"
            ) from None
        except UnsupportedValueError:
            raise query_error(
                f"The JSONata expression '{text}' specified for the field '{field}' returned "
                "an unsupported result type."
            ) from None
        if value is MISSING:
            raise query_error(
                f"The JSONata expression '{text}' specified for the field '{field}' returned "
                "nothing (undefined)."
            )
        return value

    return run


def compile_jsonata_template(payload: Any, field: str) -> Expr:
    """Compile a JSONata-state template: ``{% %}`` strings anywhere, the rest constant."""
    if is_jsonata_string(payload):
        return jsonata_expression(payload, field)
    if isinstance(payload, Mapping):
        parts = []
        for key, value in payload.items():
            if not isinstance(key, str):
                raise TemplateError(field, "object keys must be strings")
            parts.append((key, compile_jsonata_template(value, f"{field}/{key}")))
        if all(_is_constant(expr) for _, expr in parts):
            return constant({key: expr(None, None) for key, expr in parts})  # type: ignore[arg-type]
        frozen = tuple(parts)

        def render_object(data: Any, env: Env) -> Any:
            return {key: expr(data, env) for key, expr in frozen}

        return render_object
    if isinstance(payload, list):
        items = [
            compile_jsonata_template(item, f"{field}[{index}]")
            for index, item in enumerate(payload)
        ]
        if all(_is_constant(expr) for expr in items):
            return constant([expr(None, None) for expr in items])  # type: ignore[arg-type]
        frozen_items = tuple(items)

        def render_list(data: Any, env: Env) -> Any:
            return [expr(data, env) for expr in frozen_items]

        return render_list
    return constant(payload)
