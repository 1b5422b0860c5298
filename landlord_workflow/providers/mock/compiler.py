"""Compile an ASL definition into the mock engine's runnable form.

:func:`compile_machine` checks the engine-neutral structure
(:func:`landlord_workflow._asl.structure.structure_problems`) and then everything the
mock needs to run the definition exactly as Step Functions would. Anything
it does not implement (``Parallel``, ``Map``, JSONata, heartbeats, unknown
fields or intrinsics, ...) is refused with a problem naming the state and
the construct, so a definition never runs differently from AWS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from landlord_workflow._asl.structure import structure_problems
from landlord_workflow.errors import InvalidSpecError
from landlord_workflow.providers.mock.choice import Rule, build_rule
from landlord_workflow.providers.mock.paths import (
    Path,
    PathSyntaxError,
    compile_path,
    compile_reference_path,
    parse_timestamp,
)
from landlord_workflow.providers.mock.templates import (
    Template,
    compile_expression,
    compile_template,
)

__all__ = ["Catcher", "Machine", "Retrier", "State", "compile_machine"]

_TOP_FIELDS = frozenset(
    {"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}
)
_COMMON = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW = frozenset({"Next", "End"})
_IO = frozenset({"InputPath", "OutputPath"})
_FIELDS: Mapping[str, frozenset[str]] = {
    "Pass": _COMMON | _FLOW | _IO | {"Parameters", "Result", "ResultPath"},
    "Task": _COMMON
    | _FLOW
    | _IO
    | {"Resource", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch"}
    | {"TimeoutSeconds"},
    "Wait": _COMMON | _FLOW | _IO | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Choice": _COMMON | _IO | {"Choices", "Default"},
    "Succeed": _COMMON | _IO,
    "Fail": _COMMON | {"Error", "Cause", "ErrorPath", "CausePath"},
}
# Valid ASL that the mock does not implement: refused with a clear message.
_UNSUPPORTED_FIELDS = frozenset(
    {
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "TimeoutSecondsPath",
        "Credentials",
        "Arguments",
        "Output",
        "Assign",
        "Items",
        "ItemsPath",
    }
)
_RETRY_FIELDS = frozenset(
    {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "Comment"}
    | {"JitterStrategy"}
)
_CATCH_FIELDS = frozenset({"ErrorEquals", "Next", "ResultPath", "Comment"})

_COMPARATORS = {
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
_PATH_COMPARATORS = {
    f"{name}Path" for name in _COMPARATORS if not name.startswith("Is") and name != "StringMatches"
}


class Retrier:
    """One ``Retry`` entry."""

    __slots__ = ("backoff_rate", "error_equals", "interval", "max_attempts", "max_delay")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.error_equals: tuple[str, ...] = tuple(raw["ErrorEquals"])
        self.interval: float = raw.get("IntervalSeconds", 1)
        self.max_attempts: int = raw.get("MaxAttempts", 3)
        self.backoff_rate: float = raw.get("BackoffRate", 2.0)
        self.max_delay: float | None = raw.get("MaxDelaySeconds")

    def delay(self, retry_index: int) -> float:
        """Seconds to wait before retry number ``retry_index`` (0 for the first)."""
        seconds = float(self.interval) * float(self.backoff_rate) ** retry_index
        if self.max_delay is not None:
            seconds = min(seconds, float(self.max_delay))
        return seconds


class Catcher:
    """One ``Catch`` entry."""

    __slots__ = ("error_equals", "next", "result_path")

    def __init__(self, raw: Mapping[str, Any], result_path: Path | None) -> None:
        self.error_equals: tuple[str, ...] = tuple(raw["ErrorEquals"])
        self.next: str = raw["Next"]
        self.result_path = result_path


class State:
    """One compiled state; attributes unused by its type stay ``None``."""

    __slots__ = (
        "catchers",
        "cause",
        "cause_path",
        "choices",
        "default",
        "end",
        "error",
        "error_path",
        "has_result",
        "input_path",
        "name",
        "next",
        "output_path",
        "parameters",
        "resource",
        "result",
        "result_path",
        "result_selector",
        "retriers",
        "seconds",
        "seconds_path",
        "timeout_seconds",
        "timestamp",
        "timestamp_path",
        "type",
    )

    def __init__(self, name: str, raw: Mapping[str, Any]) -> None:
        self.name = name
        self.type: str = raw["Type"]
        self.next: str | None = raw.get("Next")
        self.end: bool = raw.get("End") is True or self.type in ("Succeed", "Fail")
        self.input_path: Path | None = None
        self.output_path: Path | None = None
        self.parameters: Template | None = None
        self.result_selector: Template | None = None
        self.result_path: Path | None = None
        self.result: Any = raw.get("Result")
        self.has_result = "Result" in raw
        self.resource: str | None = raw.get("Resource")
        self.timeout_seconds: float | None = raw.get("TimeoutSeconds")
        self.retriers: tuple[Retrier, ...] = ()
        self.catchers: tuple[Catcher, ...] = ()
        self.seconds: float | None = raw.get("Seconds")
        self.seconds_path: Path | None = None
        self.timestamp: datetime | None = None
        self.timestamp_path: Path | None = None
        self.choices: tuple[tuple[Rule, str], ...] = ()
        self.default: str | None = raw.get("Default")
        self.error: str | None = raw.get("Error")
        self.cause: str | None = raw.get("Cause")
        self.error_path: Template | None = None
        self.cause_path: Template | None = None


class Machine:
    """A compiled state machine."""

    __slots__ = ("start_at", "states", "timeout_seconds")

    def __init__(
        self, start_at: str, states: Mapping[str, State], timeout_seconds: float | None
    ) -> None:
        self.start_at = start_at
        self.states = states
        self.timeout_seconds = timeout_seconds


def compile_machine(definition: Mapping[str, Any]) -> Machine:
    """Compile ``definition`` or raise :class:`InvalidSpecError` listing every problem."""
    problems = structure_problems(definition)
    if problems:
        # Still report what the mock refuses, so one round trip shows everything.
        problems.extend(p for p in _Compiler(definition).support_problems() if p not in problems)
        raise InvalidSpecError(problems)
    compiler = _Compiler(definition)
    machine = compiler.compile()
    if compiler.problems:
        raise InvalidSpecError(compiler.problems)
    return machine


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Compiler:
    def __init__(self, definition: Mapping[str, Any]) -> None:
        self.definition = definition
        self.problems: list[tuple[str, str]] = []

    def problem(self, field: str, message: str) -> None:
        self.problems.append((field, message))

    def support_problems(self) -> list[tuple[str, str]]:
        """Only the 'not supported by the mock' checks (for structurally broken input)."""
        if isinstance(self.definition, Mapping):
            self.top_level()
            states = self.definition.get("States")
            if isinstance(states, Mapping):
                for name, raw in states.items():
                    if isinstance(raw, Mapping):
                        self.state_type(f"definition.States.{name}", raw)
        return self.problems

    def top_level(self) -> None:
        definition = self.definition
        language = definition.get("QueryLanguage", "JSONPath")
        if language != "JSONPath":
            self.problem(
                "definition.QueryLanguage",
                f"{language} is not supported by the mock engine (only JSONPath)",
            )
        for key in definition:
            if key not in _TOP_FIELDS:
                self.problem(f"definition.{key}", "unknown top-level field")
        timeout = definition.get("TimeoutSeconds")
        if timeout is not None and (not _is_int(timeout) or timeout <= 0):
            self.problem("definition.TimeoutSeconds", "must be a positive integer")

    def state_type(self, path: str, raw: Mapping[str, Any]) -> bool:
        kind = raw.get("Type")
        if kind in ("Parallel", "Map"):
            self.problem(f"{path}.Type", f"{kind} is not supported by the mock engine")
            return False
        language = raw.get("QueryLanguage", "JSONPath")
        if language != "JSONPath":
            self.problem(
                f"{path}.QueryLanguage",
                f"{language} is not supported by the mock engine (only JSONPath)",
            )
            return False
        return kind in _FIELDS

    def compile(self) -> Machine:
        definition = self.definition
        self.top_level()
        states: dict[str, State] = {}
        for name, raw in definition["States"].items():
            path = f"definition.States.{name}"
            if not self.state_type(path, raw):
                continue
            states[name] = self.state(name, path, raw)
        timeout = definition.get("TimeoutSeconds")
        return Machine(definition["StartAt"], states, timeout)

    # ---------------------------------------------------------------- states

    def state(self, name: str, path: str, raw: Mapping[str, Any]) -> State:
        kind = raw["Type"]
        allowed = _FIELDS[kind]
        for key in raw:
            if key in allowed:
                continue
            if key in _UNSUPPORTED_FIELDS:
                self.problem(f"{path}.{key}", f"{key} is not supported by the mock engine")
            else:
                self.problem(
                    f"{path}.{key}",
                    f"field {key} is not valid (or not supported) in a {kind} state",
                )
        state = State(name, raw)
        state.input_path = self.optional_path(raw, "InputPath", path)
        state.output_path = self.optional_path(raw, "OutputPath", path)
        if "Parameters" in raw:
            state.parameters = self.template(raw["Parameters"], f"{path}.Parameters")
        if "ResultSelector" in raw:
            state.result_selector = self.template(raw["ResultSelector"], f"{path}.ResultSelector")
        state.result_path = self.result_path(raw, path)
        getattr(self, f"state_{kind.lower()}")(state, path, raw)
        return state

    def state_pass(self, state: State, path: str, raw: Mapping[str, Any]) -> None:
        pass

    def state_succeed(self, state: State, path: str, raw: Mapping[str, Any]) -> None:
        pass

    def state_task(self, state: State, path: str, raw: Mapping[str, Any]) -> None:
        if not isinstance(raw.get("Resource"), str) or not raw["Resource"]:
            self.problem(f"{path}.Resource", "is required (a non-empty string)")
        timeout = raw.get("TimeoutSeconds")
        if timeout is not None and (not _is_int(timeout) or timeout <= 0):
            self.problem(f"{path}.TimeoutSeconds", "must be a positive integer")
        state.retriers = tuple(self.retriers(raw.get("Retry", []), f"{path}.Retry"))
        state.catchers = tuple(self.catchers(raw.get("Catch", []), f"{path}.Catch"))

    def state_wait(self, state: State, path: str, raw: Mapping[str, Any]) -> None:
        given = [
            key for key in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if key in raw
        ]
        if len(given) != 1:
            self.problem(
                path,
                "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
            )
            return
        field = given[0]
        value = raw[field]
        if field == "Seconds":
            if not _is_int(value) or value < 0:
                self.problem(f"{path}.Seconds", "must be a non-negative integer")
        elif field == "Timestamp":
            state.timestamp = parse_timestamp(value)
            if state.timestamp is None:
                self.problem(f"{path}.Timestamp", "must be an RFC 3339 timestamp with a time zone")
        elif field == "SecondsPath":
            state.seconds_path = self.path(value, f"{path}.SecondsPath", reference=True)
        else:
            state.timestamp_path = self.path(value, f"{path}.TimestampPath", reference=True)

    def state_fail(self, state: State, path: str, raw: Mapping[str, Any]) -> None:
        for field, path_field in (("Error", "ErrorPath"), ("Cause", "CausePath")):
            if field in raw and path_field in raw:
                self.problem(
                    f"{path}.{path_field}", f"use either {field} or {path_field}, not both"
                )
            if field in raw and not isinstance(raw[field], str):
                self.problem(f"{path}.{field}", "must be a string")
            if path_field in raw:
                compiled = self.expression(raw[path_field], f"{path}.{path_field}")
                if field == "Error":
                    state.error_path = compiled
                else:
                    state.cause_path = compiled

    def state_choice(self, state: State, path: str, raw: Mapping[str, Any]) -> None:
        choices: list[tuple[Rule, str]] = []
        for index, rule in enumerate(raw.get("Choices") or ()):
            rule_path = f"{path}.Choices[{index}]"
            if isinstance(rule, Mapping) and isinstance(rule.get("Next"), str):
                compiled = self.rule(rule, rule_path, top=True)
                if compiled is not None:
                    choices.append((compiled, rule["Next"]))
        state.choices = tuple(choices)

    # ------------------------------------------------------------- pieces

    def path(self, text: Any, field: str, *, reference: bool) -> Path | None:
        if not isinstance(text, str):
            self.problem(field, "must be a path string")
            return None
        try:
            return compile_reference_path(text) if reference else compile_path(text)
        except PathSyntaxError as exc:
            self.problem(field, str(exc))
            return None

    def expression(self, text: Any, field: str) -> Template | None:
        if not isinstance(text, str):
            self.problem(field, "must be a path or intrinsic function string")
            return None
        try:
            return compile_expression(text)
        except PathSyntaxError as exc:
            self.problem(field, str(exc))
            return None

    def optional_path(self, raw: Mapping[str, Any], key: str, path: str) -> Path | None:
        if key not in raw:
            return compile_path("$")
        if raw[key] is None:
            return None
        return self.path(raw[key], f"{path}.{key}", reference=False)

    def result_path(self, raw: Mapping[str, Any], path: str) -> Path | None:
        if "ResultPath" not in raw:
            return compile_path("$")
        if raw["ResultPath"] is None:
            return None
        return self.path(raw["ResultPath"], f"{path}.ResultPath", reference=True)

    def template(self, payload: Any, field: str) -> Template | None:
        try:
            return compile_template(payload)
        except PathSyntaxError as exc:
            self.problem(field, str(exc))
            return None

    def error_equals(self, raw: Mapping[str, Any], field: str) -> bool:
        errors = raw.get("ErrorEquals")
        if (
            not isinstance(errors, list)
            or not errors
            or not all(isinstance(e, str) for e in errors)
        ):
            self.problem(f"{field}.ErrorEquals", "must be a non-empty array of error names")
            return False
        if "States.ALL" in errors and len(errors) != 1:
            self.problem(f"{field}.ErrorEquals", "States.ALL must appear alone")
            return False
        return True

    def retriers(self, raw: Any, field: str) -> list[Retrier]:
        if not isinstance(raw, list):
            self.problem(field, "must be an array")
            return []
        result = []
        for index, entry in enumerate(raw):
            entry_path = f"{field}[{index}]"
            if not isinstance(entry, Mapping):
                self.problem(entry_path, "must be a JSON object")
                continue
            for key in entry:
                if key not in _RETRY_FIELDS:
                    self.problem(f"{entry_path}.{key}", f"field {key} is not valid in a retrier")
            if entry.get("JitterStrategy", "NONE") != "NONE":
                self.problem(
                    f"{entry_path}.JitterStrategy",
                    "JitterStrategy FULL is not supported by the mock engine",
                )
            checks: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
                ("IntervalSeconds", lambda v: _is_int(v) and v >= 1, "a positive integer"),
                ("MaxAttempts", lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
                ("BackoffRate", lambda v: _is_number(v) and v >= 1.0, "a number >= 1.0"),
                ("MaxDelaySeconds", lambda v: _is_int(v) and v >= 1, "a positive integer"),
            )
            ok = self.error_equals(entry, entry_path)
            for key, check, description in checks:
                if key in entry and not check(entry[key]):
                    self.problem(f"{entry_path}.{key}", f"must be {description}")
                    ok = False
            if ok:
                result.append(Retrier(entry))
        return result

    def catchers(self, raw: Any, field: str) -> list[Catcher]:
        if not isinstance(raw, list):
            self.problem(field, "must be an array")
            return []
        result = []
        for index, entry in enumerate(raw):
            entry_path = f"{field}[{index}]"
            if not isinstance(entry, Mapping):
                continue  # reported by the structure checks
            for key in entry:
                if key not in _CATCH_FIELDS:
                    self.problem(f"{entry_path}.{key}", f"field {key} is not valid in a catcher")
            ok = self.error_equals(entry, entry_path)
            result_path = self.result_path(entry, entry_path)
            if ok and isinstance(entry.get("Next"), str):
                result.append(Catcher(entry, result_path))
        return result

    def rule(self, raw: Mapping[str, Any], field: str, *, top: bool) -> Rule | None:
        allowed = {"Comment"} | ({"Next"} if top else set())
        operators = [key for key in raw if key not in allowed]
        if "And" in raw or "Or" in raw or "Not" in raw:
            if len(operators) != 1:
                self.problem(field, "a boolean rule has exactly one of And, Or, Not")
                return None
            op = operators[0]
            if op == "Not":
                if not isinstance(raw["Not"], Mapping):
                    self.problem(f"{field}.Not", "must be a rule object")
                    return None
                inner = self.rule(raw["Not"], f"{field}.Not", top=False)
                return None if inner is None else build_rule("Not", [inner])
            items = raw[op]
            if not isinstance(items, list) or not items:
                self.problem(f"{field}.{op}", "must be a non-empty array of rules")
                return None
            inner_rules = [
                self.rule(item, f"{field}.{op}[{i}]", top=False)
                if isinstance(item, Mapping)
                else None
                for i, item in enumerate(items)
            ]
            if any(rule is None for rule in inner_rules):
                if not all(isinstance(item, Mapping) for item in items):
                    self.problem(f"{field}.{op}", "must be an array of rule objects")
                return None
            return build_rule(op, [r for r in inner_rules if r is not None])
        if "Variable" not in raw:
            self.problem(f"{field}.Variable", "is required (or use And, Or, Not)")
            return None
        variable = self.path(raw["Variable"], f"{field}.Variable", reference=False)
        comparators = [key for key in operators if key != "Variable"]
        if len(comparators) != 1:
            self.problem(field, "a rule needs exactly one comparison operator")
            return None
        op = comparators[0]
        value = raw[op]
        if op in _PATH_COMPARATORS:
            operand: Any = self.path(value, f"{field}.{op}", reference=False)
            if operand is None:
                return None
        elif op in _COMPARATORS:
            expected = _COMPARATORS[op]
            if expected is float and not _is_number(value):
                self.problem(f"{field}.{op}", "must be a number")
                return None
            if expected is str and not isinstance(value, str):
                self.problem(f"{field}.{op}", "must be a string")
                return None
            if expected is bool and not isinstance(value, bool):
                self.problem(f"{field}.{op}", "must be a boolean")
                return None
            if expected is datetime:
                operand = parse_timestamp(value)
                if operand is None:
                    self.problem(f"{field}.{op}", "must be an RFC 3339 timestamp with a time zone")
                    return None
                value = operand
            if op == "StringMatches":
                value = _wildcard_regex(value)
            operand = value
        else:
            self.problem(f"{field}.{op}", f"{op} is not a comparison operator the mock supports")
            return None
        if variable is None:
            return None
        return build_rule(op, [variable, operand])


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
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
