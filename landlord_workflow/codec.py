"""JSON <-> value types, through one private cattrs converter.

Public functions: `to_dict`, `from_dict`, `to_json`,
`from_json`, and `encode_json` (deterministic JSON text for
hashing and comparing payloads).

Wire format
-----------
- Durations (``timedelta``) are read in Go style (``"30m"``, ``"1h30m"``,
  ``"500ms"``, ``"1.5h"``, units ``ns us µs ms s m h``), ISO 8601
  (``"PT30M"``, ``"P1DT2H"``; no years or months) or as plain seconds (a
  number or numeric string); sub-microsecond parts are rounded half-even.
  Negative durations are refused. They are written as the shortest exact Go
  form: ``"30m"``, ``"1m30s"``, ``"500ms"``, ``"0s"``.
- Datetimes are RFC 3339 with an offset (``Z`` or ``±hh:mm``); naive ones are
  refused. They are read into UTC and written in UTC with ``Z``, with
  microseconds only when non-zero.
- [`ExecutionState`][landlord_workflow.ExecutionState] is written by value.
- JSON fields (``definition``, ``input``, ``output``, ``details``, ...) pass
  through as plain dicts and lists. They must be strict JSON: string keys, no
  NaN or infinities, at most `MAX_JSON_DEPTH` levels of nesting.
- ``history`` is a JSON array.
- Every field is written, defaults included, so a document round-trips.

Errors
------
Malformed JSON or fields raise [`InvalidSpecError`][landlord_workflow.errors.InvalidSpecError]
whose ``problems`` name each field by a dotted path (``"retry_policy.max_interval"``,
``"history[2].timestamp"``, ``"tags.team"``); ``"$"`` names the document itself.
Unknown keys are refused (``"retry_policy.max_atempts: unknown field"``): a typo
in a spec must not silently fall back to a default. Writing a value that cannot
be represented (a naive datetime, a set inside ``definition``) raises the same
error.
"""

from __future__ import annotations

import json
import math
import re
import types
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn
from cattrs.v import transform_error

from landlord_workflow._durations import format_duration, parse_duration
from landlord_workflow._json import (
    MAX_JSON_DEPTH,
    describe,
    encode_json,
    join_path,
    plain_json,
    rooted,
    show,
)
from landlord_workflow._types import ExecutionState
from landlord_workflow.errors import InvalidSpecError

__all__ = ["MAX_JSON_DEPTH", "encode_json", "from_dict", "from_json", "to_dict", "to_json"]

T = TypeVar("T")
Problem = tuple[str, str]

_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


class _FieldError(Exception):
    """Raised by hooks: problems with paths relative to the converted value."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


def _fail(message: str) -> NoReturn:
    raise _FieldError([("", message)])


def _json_value(value: object) -> object:
    problems: list[Problem] = []
    plain = plain_json(value, problems, strict_unicode=False)
    if problems:
        raise _FieldError(problems)
    return plain


def _json_object(value: object) -> object:
    if not isinstance(value, Mapping):
        _fail(f"expected a JSON object, got {describe(value)}")
    return _json_value(value)


# -- scalar hooks -------------------------------------------------------------------------


def _str(value: object, _: object = None) -> str:
    if not isinstance(value, str):
        _fail(f"expected a string, got {describe(value)}")
    return value


def _int(value: object, _: object = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        _fail(f"expected an integer, got {describe(value)}")
    return value


def _float(value: object, _: object = None) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        _fail(f"expected a number, got {describe(value)}")
    try:
        number = float(value)
    except OverflowError:
        _fail("number out of range")
    if not math.isfinite(number):
        _fail(f"expected a finite number, got {number}")
    return number


def _structure_duration(value: object, _: object = None) -> timedelta:
    try:
        duration = parse_duration(value)
    except ValueError as exc:
        _fail(str(exc))
    if duration < timedelta(0):
        _fail("must not be negative")
    return duration


def _unstructure_duration(value: object) -> str:
    if not isinstance(value, timedelta):
        _fail(f"expected a timedelta, got {describe(value)}")
    return format_duration(value)


def _structure_datetime(value: object, _: object = None) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _RFC3339.fullmatch(value):
        try:
            parsed = datetime.fromisoformat(f"{value[:10]}T{value[11:]}".upper())
        except ValueError:
            _fail(f"not a valid date and time: {show(value)}")
    elif isinstance(value, str) and _RFC3339.fullmatch(value + "Z"):
        _fail(f'must include a UTC offset such as "Z" (timezone-aware), got {show(value)}')
    else:
        shown = show(value) if isinstance(value, str) else describe(value)
        _fail(f'expected an RFC 3339 timestamp such as "2026-01-30T10:00:00Z", got {shown}')
    if parsed.utcoffset() is None:
        _fail("must be timezone-aware")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        _fail("out of range once converted to UTC")


def _unstructure_datetime(value: object) -> str:
    if not isinstance(value, datetime):
        _fail(f"expected a datetime, got {describe(value)}")
    if value.utcoffset() is None:
        _fail("must be timezone-aware")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        _fail("out of range once converted to UTC")
    return utc.replace(tzinfo=None).isoformat() + "Z"


_STATES = ", ".join(state.value for state in ExecutionState)


def _structure_state(value: object, _: object = None) -> ExecutionState:
    if isinstance(value, str):
        try:
            return ExecutionState(value)
        except ValueError:
            pass
    shown = show(value) if isinstance(value, str) else describe(value)
    _fail(f"expected one of {_STATES}, got {shown}")


def _unstructure_state(value: object) -> str:
    return _structure_state(value).value


def _str_mapping(value: object, _: object = None) -> dict[str, str]:
    if not isinstance(value, Mapping):
        _fail(f"expected a JSON object, got {describe(value)}")
    result: dict[str, str] = {}
    problems: list[Problem] = []
    for key, item in value.items():
        if not isinstance(key, str):
            problems.append(("", f"keys must be strings, found {describe(key)}"))
        elif not isinstance(item, str):
            problems.append((key, f"expected a string, got {describe(item)}"))
        else:
            result[key] = item
    if problems:
        raise _FieldError(problems)
    return result


# -- type predicates and hook factories --------------------------------------------------


def _is_mapping_of(value_type: object) -> Callable[[object], bool]:
    def predicate(tp: object) -> bool:
        return get_origin(tp) in {Mapping, dict} and get_args(tp) == (str, value_type)

    return predicate


def _is_homogeneous_tuple(tp: object) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _optional_arg(tp: object) -> Any:
    if get_origin(tp) in {Union, types.UnionType}:
        args = [arg for arg in get_args(tp) if arg is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0]
    return None


def _tuple_structure_factory(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    element_type = get_args(tp)[0]
    element_hook = converter.get_structure_hook(element_type)

    def structure(value: object, _: object = None) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            _fail(f"expected an array, got {describe(value)}")
        items: list[Any] = []
        errors: list[Exception] = []
        for index, item in enumerate(value):
            try:
                items.append(element_hook(item, element_type))
            except Exception as exc:  # collected, reported with its index
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    IterableValidationNote(f"Structuring @ index {index}", index, element_type),
                ]
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {tp!r}", errors, tp)
        return tuple(items)

    return structure


def _tuple_unstructure_factory(tp: Any, converter: cattrs.Converter) -> Callable[[Any], Any]:
    element_hook = converter.get_unstructure_hook(get_args(tp)[0])

    def unstructure(value: object) -> list[Any]:
        if not isinstance(value, list | tuple):
            _fail(f"expected a sequence, got {describe(value)}")
        result: list[Any] = []
        problems: list[Problem] = []
        for index, item in enumerate(value):
            try:
                result.append(element_hook(item))
            except _FieldError as exc:
                problems.extend((join_path(f"[{index}]", p), m) for p, m in exc.problems)
        if problems:
            raise _FieldError(problems)
        return result

    return unstructure


def _optional_unstructure_factory(tp: Any, converter: cattrs.Converter) -> Callable[[Any], Any]:
    inner = converter.get_unstructure_hook(_optional_arg(tp))

    def unstructure(value: object) -> Any:
        return None if value is None else inner(value)

    return unstructure


def _attrs_structure_factory(cl: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    inner = make_dict_structure_fn(cl, converter)

    def structure(value: object, _: object = None) -> Any:
        if not isinstance(value, Mapping):
            _fail(f"expected a JSON object, got {describe(value)}")
        return inner(value, cl)

    return structure


def _attrs_unstructure_factory(cl: Any, converter: cattrs.Converter) -> Callable[[Any], Any]:
    attrs.resolve_types(cl)
    fields = [
        (field.name, converter.get_unstructure_hook(field.type)) for field in attrs.fields(cl)
    ]

    def unstructure(value: object) -> dict[str, Any]:
        if not isinstance(value, cl):
            _fail(f"expected {cl.__name__}, got {describe(value)}")
        result: dict[str, Any] = {}
        problems: list[Problem] = []
        for name, hook in fields:
            try:
                result[name] = hook(getattr(value, name))
            except _FieldError as exc:
                problems.extend((join_path(name, p), m) for p, m in exc.problems)
        if problems:
            raise _FieldError(problems)
        return result

    return unstructure


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)
    # Simplest types first, containers and classes after.
    for tp, structure, unstructure in (
        (str, _str, _str),
        (int, _int, _int),
        (float, _float, _float),
        (timedelta, _structure_duration, _unstructure_duration),
        (datetime, _structure_datetime, _unstructure_datetime),
        (ExecutionState, _structure_state, _unstructure_state),
    ):
        converter.register_structure_hook(tp, structure)
        converter.register_unstructure_hook(tp, unstructure)

    def is_any(tp: object) -> bool:
        return tp is Any

    converter.register_structure_hook_func(is_any, lambda value, _: _json_value(value))
    converter.register_unstructure_hook_func(is_any, _json_value)
    converter.register_structure_hook_func(
        _is_mapping_of(Any), lambda value, _: _json_object(value)
    )
    converter.register_unstructure_hook_func(_is_mapping_of(Any), _json_object)
    converter.register_structure_hook_func(_is_mapping_of(str), _str_mapping)
    converter.register_unstructure_hook_func(_is_mapping_of(str), _str_mapping)
    converter.register_unstructure_hook_factory(
        lambda tp: _optional_arg(tp) is not None, _optional_unstructure_factory
    )
    converter.register_structure_hook_factory(_is_homogeneous_tuple, _tuple_structure_factory)
    converter.register_unstructure_hook_factory(_is_homogeneous_tuple, _tuple_unstructure_factory)
    converter.register_structure_hook_factory(attrs.has, _attrs_structure_factory)
    converter.register_unstructure_hook_factory(attrs.has, _attrs_unstructure_factory)
    return converter


_CONVERTER = _make_converter()


# -- errors from structuring -------------------------------------------------------------


def _leaf_problems(exc: BaseException, base: str) -> list[Problem]:
    if isinstance(exc, _FieldError | InvalidSpecError):
        return [(join_path(base, path), message) for path, message in exc.problems]
    if isinstance(exc, ForbiddenExtraKeysError):
        known = ", ".join(field.name for field in attrs.fields(exc.cl))
        return [
            (join_path(base, str(key)), f"unknown field (known fields: {known})")
            for key in sorted(exc.extra_fields, key=str)
        ]
    if isinstance(exc, KeyError):
        return [(base, "required field missing")]
    if isinstance(exc, RecursionError):
        return [(base, "nested too deeply")]
    return [(base, f"invalid value ({type(exc).__name__}: {exc})")]


def _structure_problems(exc: BaseException) -> list[Problem]:
    """Turn a cattrs validation error into ``(field, message)`` pairs.

    `cattrs.transform_error` walks the exception group and builds each
    path; the formatter hands back a token so every leaf exception can be
    matched to its path and described here.
    """
    leaves: list[BaseException] = []

    def remember(leaf: BaseException, _type: object) -> str:
        leaves.append(leaf)
        return str(len(leaves) - 1)

    problems: list[Problem] = []
    for line in transform_error(exc, path="$", format_exception=remember):
        token, _, path = line.partition(" @ ")
        base = path.removeprefix("$").removeprefix(".")
        problems.extend(_leaf_problems(leaves[int(token)], base))
    return rooted(problems)


# -- public functions ---------------------------------------------------------------------


def to_dict(obj: object) -> dict[str, Any]:
    """Unstructure a value type into a plain JSON-compatible dict (every field written)."""
    if not attrs.has(type(obj)):
        raise TypeError(f"to_dict expects an attrs value type, got {type(obj).__name__}")
    try:
        result: dict[str, Any] = _CONVERTER.unstructure(obj, unstructure_as=type(obj))
    except _FieldError as exc:
        raise InvalidSpecError(rooted(exc.problems)) from None
    return result


def from_dict(cls: type[T], data: object) -> T:
    """Structure ``data`` (a JSON-compatible dict) into ``cls``.

    Raises [`InvalidSpecError`][landlord_workflow.errors.InvalidSpecError] listing every problem by
    field path.
    """
    try:
        return _CONVERTER.structure(data, cls)
    except (ClassValidationError, IterableValidationError) as exc:
        raise InvalidSpecError(_structure_problems(exc)) from exc
    except _FieldError as exc:
        raise InvalidSpecError(rooted(exc.problems)) from None
    except RecursionError:
        raise InvalidSpecError.single("$", "nested too deeply") from None


def to_json(obj: object) -> str:
    """Compact JSON text for a value type (see `to_dict`)."""
    return json.dumps(to_dict(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed in JSON")


def from_json(cls: type[T], text: str | bytes) -> T:
    """Parse JSON text into ``cls``; every problem raises
    [`InvalidSpecError`][landlord_workflow.errors.InvalidSpecError]."""
    if not isinstance(text, str | bytes | bytearray):
        raise InvalidSpecError.single("$", f"expected JSON text, got {describe(text)}")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise InvalidSpecError.single("$", message) from None
    except ValueError as exc:  # NaN/Infinity, huge integers, undecodable bytes
        raise InvalidSpecError.single("$", f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidSpecError.single("$", "not valid JSON: nested too deeply") from None
    return from_dict(cls, data)
