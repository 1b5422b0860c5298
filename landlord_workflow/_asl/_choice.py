"""Choice rules as Step Functions evaluates them.

JSONPath rules: every comparison operator (``StringEquals`` ...
``TimestampGreaterThanEqualsPath``, ``StringMatches``, ``Is*``) and
``And``/``Or``/``Not``. A rule whose ``Variable`` (or ``...Path`` operand)
selects nothing fails with ``States.Runtime``, except ``IsPresent``, which is
what it is for; a value of the wrong type makes the comparison false.
JSONata rules: ``Condition`` must evaluate to a boolean.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from landlord_workflow._asl._errors import query_error, runtime_error
from landlord_workflow._asl._jsonpath import MISSING, JsonPath
from landlord_workflow._asl._payload import Expr
from landlord_workflow._asl._scope import Env
from landlord_workflow._asl._timestamps import parse_timestamp
from landlord_workflow._asl._values import compact_json, is_number

__all__ = ["COMPARATORS", "PATH_COMPARATORS", "Rule", "build_rule", "jsonata_condition"]

Rule = Callable[[Any, Env], bool]
"""A compiled rule: ``rule(data, env) -> bool``."""

COMPARATORS: Final[dict[str, type]] = {
    "StringEquals": str,
    "StringLessThan": str,
    "StringGreaterThan": str,
    "StringLessThanEquals": str,
    "StringGreaterThanEquals": str,
    "StringMatches": str,
    "NumericEquals": float,
    "NumericLessThan": float,
    "NumericGreaterThan": float,
    "NumericLessThanEquals": float,
    "NumericGreaterThanEquals": float,
    "BooleanEquals": bool,
    "TimestampEquals": datetime,
    "TimestampLessThan": datetime,
    "TimestampGreaterThan": datetime,
    "TimestampLessThanEquals": datetime,
    "TimestampGreaterThanEquals": datetime,
    "IsNull": bool,
    "IsPresent": bool,
    "IsNumeric": bool,
    "IsString": bool,
    "IsBoolean": bool,
    "IsTimestamp": bool,
}
"""Comparison operators and the type of their operand."""

PATH_COMPARATORS: Final = frozenset(
    f"{name}Path" for name in COMPARATORS if not name.startswith("Is") and name != "StringMatches"
)
"""The ``...Path`` variants (operand read from the input)."""

_ORDER: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}


def _root(path: JsonPath, data: Any, env: Env) -> Any:
    if path.root == "$":
        return data
    if path.root == "$$":
        return env.context
    assert path.variable is not None  # noqa: S101 - set for variable paths
    return env.variables.lookup(path.variable)


def _find(path: JsonPath, data: Any, env: Env) -> Any:
    root = _root(path, data, env)
    if root is MISSING:
        return MISSING
    return path.find(root)


def _read(path: JsonPath, data: Any, env: Env) -> Any:
    value = _find(path, data, env)
    if value is MISSING:
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
        return is_number(left) and is_number(right) and compare(left, right)
    if kind == "Boolean":
        return isinstance(left, bool) and isinstance(right, bool) and compare(left, right)
    left_ts = left if isinstance(left, datetime) else parse_timestamp(left)
    right_ts = right if isinstance(right, datetime) else parse_timestamp(right)
    return left_ts is not None and right_ts is not None and compare(left_ts, right_ts)


def _split(op: str) -> tuple[str, str]:
    for kind in ("String", "Numeric", "Boolean", "Timestamp"):
        if op.startswith(kind):
            return kind, op[len(kind) :]
    raise ValueError(op)


_TYPE_TESTS: Final[dict[str, Callable[[Any], bool]]] = {
    "IsNull": lambda value: value is None,
    "IsNumeric": is_number,
    "IsString": lambda value: isinstance(value, str),
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsTimestamp": lambda value: parse_timestamp(value) is not None,
}


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """StringMatches: ``*`` matches anything; ``\\*`` and ``\\\\`` are literals."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def build_rule(op: str, args: Sequence[Any]) -> Rule:
    """Build a rule for operator ``op``.

    ``And``/``Or``/``Not`` take compiled rules; comparisons take
    ``[variable_path, operand]`` where the operand is a value (already a
    ``datetime`` for timestamps, a compiled regex for ``StringMatches``) or a
    `JsonPath` for the ``...Path`` operators.
    """
    if op in ("And", "Or", "Not"):
        rules: tuple[Rule, ...] = tuple(args)
        if op == "And":
            return lambda data, env: all(rule(data, env) for rule in rules)
        if op == "Or":
            return lambda data, env: any(rule(data, env) for rule in rules)
        only = rules[0]
        return lambda data, env: not only(data, env)

    variable: JsonPath = args[0]
    operand = args[1]
    if op == "IsPresent":
        return lambda data, env: (_find(variable, data, env) is not MISSING) == operand
    if op.startswith("Is"):
        test = _TYPE_TESTS[op]
        return lambda data, env: test(_read(variable, data, env)) == operand
    if op == "StringMatches":
        pattern: re.Pattern[str] = operand

        def matches(data: Any, env: Env) -> bool:
            value = _read(variable, data, env)
            return isinstance(value, str) and pattern.fullmatch(value) is not None

        return matches
    if op.endswith("Path"):
        kind, relation = _split(op[: -len("Path")])
        other: JsonPath = operand
        return lambda data, env: _compare(
            kind, relation, _read(variable, data, env), _read(other, data, env)
        )
    kind, relation = _split(op)
    return lambda data, env: _compare(kind, relation, _read(variable, data, env), operand)


def jsonata_condition(expr: Expr, text: str) -> Rule:
    """A JSONata ``Condition``: it must evaluate to a boolean."""

    def condition(data: Any, env: Env) -> bool:
        value = expr(data, env)
        if not isinstance(value, bool):
            raise query_error(
                f"The JSONata expression '{text}' specified for the field 'Condition' returned "
                f"an unexpected result type. Expected 'boolean', but was "
                f"'{_kind(value)}' for value: {compact_json(value)}"
            )
        return value

    return condition


def _kind(value: Any) -> str:
    from landlord_workflow._asl._values import json_kind

    return json_kind(value)
