"""Choice rules: comparison operators and And/Or/Not, as Step Functions evaluates them.

A rule whose ``Variable`` (or ``...Path`` operand) selects nothing fails
the execution with ``States.Runtime``, except ``IsPresent``, which is what
it is for. A value of the wrong type makes the comparison false.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from landlord_workflow.providers.mock.paths import Path, parse_timestamp, runtime_error

__all__ = ["Rule", "build_rule"]

Rule = Callable[[Any, Any], bool]
"""A compiled rule: ``rule(data, context) -> bool``."""

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_timestamp = parse_timestamp


def _read(path: Path, data: Any, context: Any) -> Any:
    value = path.find(data, context)
    if Path.missing(value):
        raise runtime_error(
            f"Invalid path '{path.text}': The choice state's condition path references an "
            "invalid value."
        )
    return value


def _compare(kind: str, relation: str, left: Any, right: Any) -> bool:
    compare = _ORDER[relation]
    if kind == "String":
        return isinstance(left, str) and isinstance(right, str) and compare(left, right)
    if kind == "Numeric":
        return _is_number(left) and _is_number(right) and compare(left, right)
    if kind == "Boolean":
        return isinstance(left, bool) and isinstance(right, bool) and compare(left, right)
    left_ts = left if isinstance(left, datetime) else _timestamp(left)
    right_ts = right if isinstance(right, datetime) else _timestamp(right)
    return left_ts is not None and right_ts is not None and compare(left_ts, right_ts)


def _split(op: str) -> tuple[str, str]:
    for kind in ("String", "Numeric", "Boolean", "Timestamp"):
        if op.startswith(kind):
            return kind, op[len(kind) :]
    raise ValueError(op)


def build_rule(op: str, args: Sequence[Any]) -> Rule:
    """Build a rule for operator ``op``.

    ``And``/``Or``/``Not`` take compiled rules; comparisons take
    ``[variable_path, operand]`` where the operand is a value (already a
    ``datetime`` for timestamps, a compiled regex for ``StringMatches``) or a
    `Path` for the ``...Path`` operators.
    """
    if op in ("And", "Or", "Not"):
        rules: list[Rule] = list(args)
        if op == "And":
            return lambda data, context: all(rule(data, context) for rule in rules)
        if op == "Or":
            return lambda data, context: any(rule(data, context) for rule in rules)
        only = rules[0]
        return lambda data, context: not only(data, context)

    variable: Path = args[0]
    operand = args[1]
    if op == "IsPresent":
        return lambda data, context: (not Path.missing(variable.find(data, context))) == operand
    if op.startswith("Is"):
        test = _TYPE_TESTS[op]
        return lambda data, context: test(_read(variable, data, context)) == operand
    if op == "StringMatches":
        pattern = operand

        def matches(data: Any, context: Any) -> bool:
            value = _read(variable, data, context)
            return isinstance(value, str) and pattern.fullmatch(value) is not None

        return matches
    if op.endswith("Path"):
        kind, relation = _split(op[: -len("Path")])
        other: Path = operand
        return lambda data, context: _compare(
            kind, relation, _read(variable, data, context), _read(other, data, context)
        )
    kind, relation = _split(op)
    return lambda data, context: _compare(kind, relation, _read(variable, data, context), operand)


_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda value: value is None,
    "IsNumeric": _is_number,
    "IsString": lambda value: isinstance(value, str),
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsTimestamp": lambda value: _timestamp(value) is not None,
}
