"""Validate an ASL definition as AWS does at create time, and compile it.

`compile_definition` checks everything ``CreateStateMachine`` checks
(structure, fields allowed per state type and query language, transitions,
paths, templates, intrinsic calls, JSONata syntax, Retry/Catch rules,
numeric ranges) and returns an immutable `Machine`. Every problem is
reported at once as ``InvalidSpecError([(field, message), ...])`` with
dotted field paths rooted at ``definition`` (e.g.
``definition.States.Deploy.Retry[0].MaxAttempts``); no definition, however
malformed or deeply nested, raises anything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from landlord_workflow._asl._choice import (
    COMPARATORS,
    PATH_COMPARATORS,
    Rule,
    build_rule,
    jsonata_condition,
    wildcard_regex,
)
from landlord_workflow._asl._jsonpath import (
    JsonPath,
    PathSyntaxError,
    compile_path,
    compile_reference_path,
)
from landlord_workflow._asl._model import Catcher, ChoiceBranch, Machine, Retrier, State
from landlord_workflow._asl._payload import (
    Expr,
    TemplateError,
    compile_jsonata_template,
    compile_jsonpath_template,
    compile_value,
    constant,
    invalid_path,
    is_jsonata_string,
    is_pure,
    jsonata_expression,
    path_reader,
)
from landlord_workflow._asl._routing import parse_resource
from landlord_workflow._asl._timestamps import parse_timestamp
from landlord_workflow._asl._values import is_int, is_number
from landlord_workflow.errors import InvalidSpecError

__all__ = ["MAX_NESTING", "STATE_TYPES", "compile_definition"]

STATE_TYPES: Final = frozenset(
    {"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
)
"""Every state ``Type`` of the Amazon States Language."""

MAX_NESTING: Final = 200
"""Deepest JSON nesting of a definition we compile (far beyond real ones)."""

_MAX_INT: Final = 99_999_999
_NAME_MAX: Final = 80
_MAX_PROBLEMS: Final = 100

_TOP_FIELDS: Final = frozenset(
    {"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}
)
_NESTED_FIELDS: Final = frozenset({"StartAt", "States", "Comment", "ProcessorConfig"})

_COMMON: Final = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW: Final = frozenset({"Next", "End"})

# Fields per state type: (both languages, JSONPath only, JSONata only).
_FIELDS: Final[Mapping[str, tuple[frozenset[str], frozenset[str], frozenset[str]]]] = {
    "Pass": (
        _COMMON | _FLOW | {"Assign"},
        frozenset({"InputPath", "OutputPath", "Parameters", "Result", "ResultPath"}),
        frozenset({"Output"}),
    ),
    "Task": (
        _COMMON
        | _FLOW
        | {
            "Assign",
            "Resource",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "HeartbeatSeconds",
            "Credentials",
        },
        frozenset(
            {
                "InputPath",
                "OutputPath",
                "Parameters",
                "ResultSelector",
                "ResultPath",
                "TimeoutSecondsPath",
                "HeartbeatSecondsPath",
            }
        ),
        frozenset({"Arguments", "Output"}),
    ),
    "Choice": (
        _COMMON | {"Assign", "Choices", "Default"},
        frozenset({"InputPath", "OutputPath"}),
        frozenset({"Output"}),
    ),
    "Wait": (
        _COMMON | _FLOW | {"Assign", "Seconds", "Timestamp"},
        frozenset({"InputPath", "OutputPath", "SecondsPath", "TimestampPath"}),
        frozenset({"Output"}),
    ),
    "Succeed": (
        _COMMON,
        frozenset({"InputPath", "OutputPath"}),
        frozenset({"Output"}),
    ),
    "Fail": (
        _COMMON | {"Error", "Cause"},
        frozenset({"ErrorPath", "CausePath"}),
        frozenset(),
    ),
    "Parallel": (
        _COMMON | _FLOW | {"Assign", "Branches", "Retry", "Catch"},
        frozenset({"InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath"}),
        frozenset({"Arguments", "Output"}),
    ),
    "Map": (
        _COMMON
        | _FLOW
        | {
            "Assign",
            "ItemProcessor",
            "Iterator",
            "ItemSelector",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "ToleratedFailureCount",
            "ToleratedFailurePercentage",
            "Label",
            "Retry",
            "Catch",
        },
        frozenset(
            {
                "InputPath",
                "OutputPath",
                "ItemsPath",
                "Parameters",
                "ResultSelector",
                "ResultPath",
                "MaxConcurrencyPath",
                "ToleratedFailureCountPath",
                "ToleratedFailurePercentagePath",
            }
        ),
        frozenset({"Items", "Output", "Arguments"}),
    ),
}
_RETRY_FIELDS: Final = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)
_CATCH_FIELDS: Final = {
    False: frozenset({"ErrorEquals", "Next", "ResultPath", "Comment", "Assign"}),
    True: frozenset({"ErrorEquals", "Next", "Output", "Comment", "Assign"}),
}
# Optimized integrations whose actions are a short, fixed list (others are not checked).
_OPTIMIZED: Final[Mapping[str, frozenset[str]]] = {
    "dynamodb": frozenset({"getItem", "putItem", "updateItem", "deleteItem"}),
    "sqs": frozenset({"sendMessage"}),
    "sns": frozenset({"publish"}),
    "events": frozenset({"putEvents"}),
    "lambda": frozenset({"invoke"}),
    "states": frozenset({"startExecution"}),
    "batch": frozenset({"submitJob"}),
    "ecs": frozenset({"runTask"}),
    "glue": frozenset({"startJobRun"}),
}
_VARIABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED_VARIABLES: Final = frozenset({"states"})


def _is_control(char: str) -> bool:
    code = ord(char)
    return code <= 0x1F or 0x7F <= code <= 0x9F


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects/arrays deeper than ``limit`` (iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            if depth > limit:
                return True
            stack.extend((item, depth + 1) for item in node.values())
        elif isinstance(node, list):
            if depth > limit:
                return True
            stack.extend((item, depth + 1) for item in node)
    return False


def compile_definition(definition: Any) -> Machine:
    """Validate and compile ``definition``; ``InvalidSpecError`` lists every problem."""
    if not isinstance(definition, Mapping):
        raise InvalidSpecError([("definition", "must be a JSON object")])
    if _depth_exceeds(definition, MAX_NESTING):
        raise InvalidSpecError(
            [("definition", f"nests objects and arrays deeper than {MAX_NESTING} levels")]
        )
    compiler = _Compiler()
    try:
        machine = compiler.machine(definition, "definition", jsonata=False, top=True)
    except RecursionError:  # pragma: no cover - guarded by the depth check
        raise InvalidSpecError([("definition", "is nested too deeply")]) from None
    if compiler.problems:
        raise InvalidSpecError(compiler.problems[:_MAX_PROBLEMS])
    assert machine is not None  # noqa: S101 - no problems means a machine
    machine.assigns = compiler.assigns
    return machine


class _Compiler:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []
        self.assigns = False  # whether any Assign field is anywhere

    def problem(self, field: str, message: str) -> None:
        self.problems.append((field, message))

    # ------------------------------------------------------------ machines

    def machine(self, raw: Any, path: str, *, jsonata: bool, top: bool = False) -> Machine | None:
        if not isinstance(raw, Mapping):
            self.problem(path, "must be a JSON object")
            return None
        allowed = _TOP_FIELDS if top else _NESTED_FIELDS
        for key in raw:
            if key not in allowed:
                self.problem(f"{path}.{key}", f"the field '{key}' is not supported here")
        if top:
            language = raw.get("QueryLanguage", "JSONPath")
            if language not in ("JSONPath", "JSONata"):
                self.problem(f"{path}.QueryLanguage", "must be JSONPath or JSONata")
            jsonata = language == "JSONata"
            if "Version" in raw and raw["Version"] != "1.0":
                self.problem(f"{path}.Version", 'must be "1.0"')
        timeout = raw.get("TimeoutSeconds") if top else None
        if top and "TimeoutSeconds" in raw and (not is_int(timeout) or not 0 < timeout <= _MAX_INT):
            self.problem(f"{path}.TimeoutSeconds", f"must be an integer from 1 to {_MAX_INT}")
            timeout = None
        if "Comment" in raw and not isinstance(raw["Comment"], str):
            self.problem(f"{path}.Comment", "must be a string")

        states = raw.get("States")
        start_at = raw.get("StartAt")
        if states is None:
            self.problem(f"{path}.States", "is required")
        elif not isinstance(states, Mapping):
            self.problem(f"{path}.States", "must be a JSON object")
            states = None
        elif not states:
            self.problem(f"{path}.States", "must define at least one state")
            states = None
        if start_at is None:
            self.problem(f"{path}.StartAt", "is required")
        elif not isinstance(start_at, str):
            self.problem(f"{path}.StartAt", "must be a string")
            start_at = None
        elif states is not None and start_at not in states:
            self.problem(f"{path}.StartAt", f"names no state: {start_at!r}")
        if states is None:
            return None

        compiled: dict[str, State] = {}
        for name, state_raw in states.items():
            if not isinstance(name, str):
                self.problem(f"{path}.States", f"state names must be strings, got {name!r}")
                continue
            state_path = f"{path}.States.{name}"
            problem = _state_name_problem(name)
            if problem is not None:
                self.problem(state_path, problem)
            state = self.state(name, state_raw, state_path, states, jsonata)
            if state is not None:
                compiled[name] = state
        if isinstance(start_at, str) and start_at in states:
            self.reachability(start_at, states, path)
        if not isinstance(start_at, str):
            return None
        return Machine(start_at, compiled, timeout, jsonata)

    def reachability(self, start: str, states: Mapping[str, Any], path: str) -> None:
        edges: dict[str, list[str]] = {}
        terminal: set[str] = set()
        for name, raw in states.items():
            if not isinstance(raw, Mapping):
                continue
            targets: list[str] = []
            if isinstance(raw.get("Next"), str):
                targets.append(raw["Next"])
            if isinstance(raw.get("Default"), str):
                targets.append(raw["Default"])
            for key in ("Choices", "Catch"):
                rules = raw.get(key)
                if isinstance(rules, list):
                    targets.extend(
                        rule["Next"]
                        for rule in rules
                        if isinstance(rule, Mapping) and isinstance(rule.get("Next"), str)
                    )
            edges[name] = targets
            if raw.get("Type") in ("Succeed", "Fail") or raw.get("End") is True:
                terminal.add(name)
        seen = {start}
        stack = [start]
        reaches_end = False
        while stack:
            name = stack.pop()
            if name in terminal:
                reaches_end = True
            for target in edges.get(name, ()):
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        if not reaches_end:
            self.problem(
                f"{path}.States",
                f"no terminal state (End: true, Succeed or Fail) is reachable from {start!r}",
            )
        for name in states:
            if name not in seen and isinstance(name, str):
                self.problem(
                    f"{path}.States.{name}", f"UNREACHABLE_STATE: State '{name}' is not reachable"
                )

    # -------------------------------------------------------------- states

    def state(
        self,
        name: str,
        raw: Any,
        path: str,
        states: Mapping[str, Any],
        parent_jsonata: bool,
    ) -> State | None:
        if not isinstance(raw, Mapping):
            self.problem(path, "must be a JSON object")
            return None
        kind = raw.get("Type")
        if kind is None:
            self.problem(f"{path}.Type", "is required")
            return None
        if not isinstance(kind, str) or kind not in STATE_TYPES:
            allowed_types = ", ".join(sorted(STATE_TYPES))
            shown = kind if isinstance(kind, str) else repr(kind)
            self.problem(f"{path}.Type", f"unknown state type {shown!r} (one of {allowed_types})")
            return None
        language = raw.get("QueryLanguage")
        jsonata = parent_jsonata
        if language is not None:
            if language not in ("JSONPath", "JSONata"):
                self.problem(f"{path}.QueryLanguage", "must be JSONPath or JSONata")
            elif language == "JSONPath" and parent_jsonata:
                self.problem(
                    f"{path}.QueryLanguage",
                    "a state cannot use JSONPath when the state machine's QueryLanguage is JSONata",
                )
            else:
                jsonata = language == "JSONata"
        both, jsonpath_only, jsonata_only = _FIELDS[kind]
        for key in raw:
            if key in both or key in (jsonata_only if jsonata else jsonpath_only):
                continue
            if key in (jsonpath_only if jsonata else jsonata_only):
                language_name = "JSONata" if jsonata else "JSONPath"
                self.problem(
                    f"{path}.{key}",
                    f"the field '{key}' is not supported in a {language_name} state",
                )
            else:
                self.problem(
                    f"{path}.{key}", f"the field '{key}' is not supported in a {kind} state"
                )
        if "Comment" in raw and not isinstance(raw["Comment"], str):
            self.problem(f"{path}.Comment", "must be a string")

        state = State(name, kind, jsonata)
        for key, value in raw.items():
            if isinstance(value, str) and (key.endswith("Path") or key == "Items"):
                state.texts[key] = value[2:-2].strip() if is_jsonata_string(value) else value
        self.flow(state, raw, path, states)
        if kind != "Fail":
            if jsonata:
                if "Output" in raw:
                    state.output = self.jsonata_template(raw["Output"], f"{path}.Output", "Output")
            else:
                state.input_path = self.data_path(raw, "InputPath", path)
                state.output_path = self.data_path(raw, "OutputPath", path)
        if "Assign" in raw:
            state.assign = self.assign(raw["Assign"], f"{path}.Assign", jsonata)
        if kind in ("Task", "Parallel", "Map"):
            state.retriers = self.retriers(raw.get("Retry"), f"{path}.Retry")
            state.catchers = self.catchers(raw.get("Catch"), f"{path}.Catch", states, jsonata)
            if not jsonata:
                if "ResultSelector" in raw:
                    state.result_selector = self.jsonpath_template(
                        raw["ResultSelector"], f"{path}.ResultSelector"
                    )
                state.result_path = self.result_path(raw, path)
        getattr(self, f"state_{kind.lower()}")(state, raw, path, states)
        _precompute(state)
        return state

    def flow(
        self, state: State, raw: Mapping[str, Any], path: str, states: Mapping[str, Any]
    ) -> None:
        kind = state.type
        if kind in ("Choice", "Succeed", "Fail"):
            state.end = kind != "Choice"
            return
        has_next = "Next" in raw
        end = raw.get("End")
        if "End" in raw and not isinstance(end, bool):
            self.problem(f"{path}.End", "must be a boolean")
        if has_next and end is True:
            self.problem(f"{path}.End", "a state cannot have both Next and End")
        elif not has_next and end is not True:
            self.problem(path, "a state needs Next or End: true")
        if has_next:
            state.next = self.target(raw["Next"], f"{path}.Next", states)
        state.end = end is True

    def target(self, value: Any, field: str, states: Mapping[str, Any]) -> str | None:
        if not isinstance(value, str):
            self.problem(field, "must be a state name (string)")
            return None
        if value not in states:
            self.problem(field, f"names no state: {value!r}")
            return None
        return value

    # -------------------------------------------------------- state types

    def state_pass(self, state: State, raw: Mapping[str, Any], path: str, states: Any) -> None:
        if state.jsonata:
            return
        if "Parameters" in raw:
            state.parameters = self.jsonpath_template(raw["Parameters"], f"{path}.Parameters")
        if "Result" in raw:
            state.result = constant(raw["Result"])
            state.result_value = raw["Result"]
        state.result_path = self.result_path(raw, path)

    def state_succeed(self, state: State, raw: Mapping[str, Any], path: str, states: Any) -> None:
        pass

    def state_task(self, state: State, raw: Mapping[str, Any], path: str, states: Any) -> None:
        resource = raw.get("Resource")
        if not isinstance(resource, str) or not resource:
            self.problem(f"{path}.Resource", "is required (a non-empty string)")
        else:
            state.resource = resource
            parsed = parse_resource(resource)
            actions = _OPTIMIZED.get(parsed.service) if parsed.kind == "integration" else None
            if actions is not None and parsed.action not in actions:
                self.problem(
                    f"{path}.Resource",
                    f"The resource provided {resource} is not recognized. The value is not a "
                    "valid resource ARN, or the resource is not available in this region.",
                )
        self.arguments_or_parameters(state, raw, path)
        state.timeout = self.duration(raw, "TimeoutSeconds", path, state.jsonata)
        state.heartbeat = self.duration(raw, "HeartbeatSeconds", path, state.jsonata)
        timeout = raw.get("TimeoutSeconds")
        heartbeat = raw.get("HeartbeatSeconds")
        if is_int(timeout) and is_int(heartbeat) and heartbeat >= timeout:
            self.problem(
                f"{path}.HeartbeatSeconds",
                "must be smaller than TimeoutSeconds",
            )
        if "Credentials" in raw:
            credentials = raw["Credentials"]
            if not isinstance(credentials, Mapping):
                self.problem(f"{path}.Credentials", "must be a JSON object")
            else:
                state.credentials = self.payload(credentials, f"{path}.Credentials", state.jsonata)

    def arguments_or_parameters(self, state: State, raw: Mapping[str, Any], path: str) -> None:
        if state.jsonata:
            if "Arguments" in raw:
                state.arguments = self.jsonata_template(
                    raw["Arguments"], f"{path}.Arguments", "Arguments"
                )
        elif "Parameters" in raw:
            state.parameters = self.jsonpath_template(raw["Parameters"], f"{path}.Parameters")

    def duration(self, raw: Mapping[str, Any], field: str, path: str, jsonata: bool) -> Expr | None:
        """``TimeoutSeconds``/``HeartbeatSeconds`` (+``Path``): an expression giving seconds."""
        path_field = f"{field}Path"
        if field in raw and path_field in raw:
            self.problem(f"{path}.{path_field}", f"use either {field} or {path_field}, not both")
            return None
        if field in raw:
            value = raw[field]
            if jsonata and is_jsonata_string(value):
                return self.jsonata_value(value, f"{path}.{field}", field)
            if not is_int(value) or not 0 < value <= _MAX_INT:
                self.problem(f"{path}.{field}", f"must be an integer from 1 to {_MAX_INT}")
                return None
            return constant(value)
        if path_field in raw:
            reference = self.reference_path(raw[path_field], f"{path}.{path_field}")
            if reference is None:
                return None
            return path_reader(reference, invalid_path)
        return None

    def state_wait(self, state: State, raw: Mapping[str, Any], path: str, states: Any) -> None:
        given = [k for k in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if k in raw]
        if len(given) != 1:
            self.problem(
                path,
                "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
            )
            return
        field = given[0]
        value = raw[field]
        if field == "Seconds":
            if state.jsonata and is_jsonata_string(value):
                state.seconds = self.jsonata_value(value, f"{path}.Seconds", "Seconds")
            elif not is_int(value) or not 0 <= value <= _MAX_INT:
                self.problem(f"{path}.Seconds", f"must be an integer from 0 to {_MAX_INT}")
            else:
                state.seconds = constant(value)
        elif field == "Timestamp":
            if state.jsonata and is_jsonata_string(value):
                state.timestamp = self.jsonata_value(value, f"{path}.Timestamp", "Timestamp")
            elif parse_timestamp(value) is None:
                self.problem(f"{path}.Timestamp", "String does not match RFC3339 timestamp")
            else:
                state.timestamp = constant(value)
        else:
            reference = self.reference_path(value, f"{path}.{field}")
            if reference is not None:
                reader = path_reader(reference, _wait_path_missing(field))
                if field == "SecondsPath":
                    state.seconds = reader
                else:
                    state.timestamp = reader

    def state_fail(self, state: State, raw: Mapping[str, Any], path: str, states: Any) -> None:
        for field, path_field in (("Error", "ErrorPath"), ("Cause", "CausePath")):
            if field in raw and path_field in raw:
                self.problem(
                    f"{path}.{path_field}", f"use either {field} or {path_field}, not both"
                )
                continue
            compiled: Expr | None = None
            if field in raw:
                value = raw[field]
                if not isinstance(value, str):
                    self.problem(f"{path}.{field}", "must be a string")
                elif state.jsonata and is_jsonata_string(value):
                    compiled = self.jsonata_value(value, f"{path}.{field}", field)
                else:
                    compiled = constant(value)
            elif path_field in raw:
                value = raw[path_field]
                if not isinstance(value, str):
                    self.problem(f"{path}.{path_field}", "must be a path or intrinsic function")
                else:
                    try:
                        compiled = compile_value(value, path_field)
                    except TemplateError as exc:
                        self.problem(f"{path}.{path_field}", exc.message)
            if field == "Error":
                state.error = compiled
            else:
                state.cause = compiled

    def state_choice(self, state: State, raw: Mapping[str, Any], path: str, states: Any) -> None:
        rules = raw.get("Choices")
        if not isinstance(rules, list) or not rules:
            self.problem(f"{path}.Choices", "must be a non-empty array")
            rules = []
        branches: list[ChoiceBranch] = []
        for index, rule in enumerate(rules):
            rule_path = f"{path}.Choices[{index}]"
            if not isinstance(rule, Mapping):
                self.problem(rule_path, "must be a JSON object")
                continue
            if "Next" not in rule:
                self.problem(f"{rule_path}.Next", "is required")
                continue
            target = self.target(rule["Next"], f"{rule_path}.Next", states)
            compiled = self.choice_rule(rule, rule_path, state.jsonata)
            assign = (
                self.assign(rule["Assign"], f"{rule_path}.Assign", state.jsonata)
                if "Assign" in rule
                else None
            )
            output = None
            if state.jsonata and "Output" in rule:
                output = self.jsonata_template(rule["Output"], f"{rule_path}.Output", "Output")
            if compiled is not None and target is not None:
                branches.append(ChoiceBranch(compiled, target, assign, output))
        state.choices = tuple(branches)
        if "Default" in raw:
            state.default = self.target(raw["Default"], f"{path}.Default", states)

    def choice_rule(self, raw: Mapping[str, Any], path: str, jsonata: bool) -> Rule | None:
        if jsonata:
            for key in raw:
                if key not in ("Condition", "Next", "Comment", "Assign", "Output"):
                    self.problem(
                        f"{path}.{key}",
                        f"the field '{key}' is not supported in a JSONata Choice rule",
                    )
            condition = raw.get("Condition")
            if isinstance(condition, bool):
                constant_condition = condition
                return lambda data, env: constant_condition
            if not isinstance(condition, str) or not is_jsonata_string(condition):
                self.problem(f"{path}.Condition", "is required (a {% JSONata %} expression)")
                return None
            expr = self.jsonata_value(condition, f"{path}.Condition", "Condition")
            if expr is None:
                return None
            return jsonata_condition(expr, condition[2:-2].strip())
        return self.jsonpath_rule(raw, path, top=True)

    def jsonpath_rule(self, raw: Mapping[str, Any], path: str, *, top: bool) -> Rule | None:  # noqa: PLR0915
        allowed = {"Comment"} | ({"Next", "Assign"} if top else set())
        operators = [key for key in raw if key not in allowed]
        if any(op in raw for op in ("And", "Or", "Not")):
            if len(operators) != 1:
                self.problem(path, "a boolean rule has exactly one of And, Or, Not")
                return None
            op = operators[0]
            if op == "Not":
                if not isinstance(raw["Not"], Mapping):
                    self.problem(f"{path}.Not", "must be a rule object")
                    return None
                inner = self.jsonpath_rule(raw["Not"], f"{path}.Not", top=False)
                return None if inner is None else build_rule("Not", [inner])
            items = raw[op]
            if not isinstance(items, list) or not items:
                self.problem(f"{path}.{op}", "must be a non-empty array of rules")
                return None
            inner_rules: list[Rule | None] = []
            for index, item in enumerate(items):
                if not isinstance(item, Mapping):
                    self.problem(f"{path}.{op}[{index}]", "must be a rule object")
                    inner_rules.append(None)
                else:
                    inner_rules.append(self.jsonpath_rule(item, f"{path}.{op}[{index}]", top=False))
            if any(rule is None for rule in inner_rules):
                return None
            return build_rule(op, inner_rules)
        if "Condition" in raw:
            self.problem(f"{path}.Condition", "is only supported in JSONata states")
            return None
        if "Variable" not in raw:
            self.problem(f"{path}.Variable", "is required (or use And, Or, Not)")
            return None
        variable = self.any_path(raw["Variable"], f"{path}.Variable")
        comparators = [key for key in operators if key != "Variable"]
        if len(comparators) != 1:
            self.problem(path, "a rule needs exactly one comparison operator")
            return None
        op = comparators[0]
        value = raw[op]
        operand: Any
        if op in PATH_COMPARATORS:
            operand = self.any_path(value, f"{path}.{op}")
            if operand is None:
                return None
        elif op in COMPARATORS:
            expected = COMPARATORS[op]
            if expected is float and not is_number(value):
                self.problem(f"{path}.{op}", "must be a number")
                return None
            if expected is str and not isinstance(value, str):
                self.problem(f"{path}.{op}", "must be a string")
                return None
            if expected is bool and not isinstance(value, bool):
                self.problem(f"{path}.{op}", "must be a boolean")
                return None
            operand = value
            if expected is not float and expected not in (str, bool):
                operand = parse_timestamp(value)
                if operand is None:
                    self.problem(f"{path}.{op}", "must be an RFC 3339 timestamp")
                    return None
            if op == "StringMatches":
                operand = wildcard_regex(value)
        else:
            self.problem(f"{path}.{op}", f"{op} is not a comparison operator")
            return None
        if variable is None:
            return None
        return build_rule(op, [variable, operand])

    def state_parallel(self, state: State, raw: Mapping[str, Any], path: str, states: Any) -> None:
        self.arguments_or_parameters(state, raw, path)
        branches = raw.get("Branches")
        if not isinstance(branches, list) or not branches:
            self.problem(f"{path}.Branches", "must be a non-empty array")
            return
        compiled: list[Machine] = []
        for index, branch in enumerate(branches):
            machine = self.machine(branch, f"{path}.Branches[{index}]", jsonata=state.jsonata)
            if machine is not None:
                if isinstance(branch, Mapping) and "ProcessorConfig" in branch:
                    self.problem(
                        f"{path}.Branches[{index}].ProcessorConfig",
                        "the field 'ProcessorConfig' is not supported here",
                    )
                compiled.append(machine)
        state.branches = tuple(compiled)

    def state_map(self, state: State, raw: Mapping[str, Any], path: str, states: Any) -> None:  # noqa: PLR0915
        jsonata = state.jsonata
        field = "ItemProcessor" if "ItemProcessor" in raw else "Iterator"
        if "ItemProcessor" in raw and "Iterator" in raw:
            self.problem(f"{path}.Iterator", "use either ItemProcessor or Iterator, not both")
        if field not in raw:
            self.problem(f"{path}.ItemProcessor", "is required")
            return
        processor_raw = raw[field]
        mode = "INLINE"
        if isinstance(processor_raw, Mapping):
            config = processor_raw.get("ProcessorConfig", {})
            if not isinstance(config, Mapping):
                self.problem(f"{path}.{field}.ProcessorConfig", "must be a JSON object")
                config = {}
            for key in config:
                if key not in ("Mode", "ExecutionType"):
                    self.problem(
                        f"{path}.{field}.ProcessorConfig.{key}",
                        f"the field '{key}' is not supported here",
                    )
            mode = config.get("Mode", "INLINE")
            if mode not in ("INLINE", "DISTRIBUTED"):
                self.problem(
                    f"{path}.{field}.ProcessorConfig.Mode", "must be INLINE or DISTRIBUTED"
                )
            execution_type = config.get("ExecutionType")
            if execution_type is not None and execution_type not in ("STANDARD", "EXPRESS"):
                self.problem(
                    f"{path}.{field}.ProcessorConfig.ExecutionType", "must be STANDARD or EXPRESS"
                )
            if mode == "DISTRIBUTED" and execution_type is None:
                self.problem(
                    f"{path}.{field}.ProcessorConfig.ExecutionType",
                    "is required when Mode is DISTRIBUTED",
                )
        state.distributed = mode == "DISTRIBUTED"
        state.processor = self.machine(processor_raw, f"{path}.{field}", jsonata=jsonata)
        if state.processor is not None and isinstance(processor_raw, Mapping):
            processor_definition = {
                key: value for key, value in processor_raw.items() if key != "ProcessorConfig"
            }
            if jsonata:
                processor_definition["QueryLanguage"] = "JSONata"
            state.processor_definition = processor_definition

        # Items
        if jsonata:
            items_field = "Items" if "Items" in raw or "Arguments" not in raw else "Arguments"
            if items_field in raw:
                items = raw[items_field]
                if is_jsonata_string(items):
                    state.items = self.jsonata_value(items, f"{path}.{items_field}", items_field)
                elif isinstance(items, list):
                    state.items = self.jsonata_template(items, f"{path}.{items_field}", items_field)
                else:
                    self.problem(
                        f"{path}.{items_field}", "must be an array or a JSONata expression"
                    )
        elif "ItemsPath" in raw:
            items_path = self.any_path(raw["ItemsPath"], f"{path}.ItemsPath")
            if items_path is not None:
                state.items = path_reader(items_path, invalid_path)

        # ItemSelector (or the legacy Parameters)
        if "ItemSelector" in raw and "Parameters" in raw:
            self.problem(f"{path}.Parameters", "use either ItemSelector or Parameters, not both")
        selector = raw.get("ItemSelector", raw.get("Parameters"))
        if selector is not None or "ItemSelector" in raw or "Parameters" in raw:
            selector_field = "ItemSelector" if "ItemSelector" in raw else "Parameters"
            if not isinstance(selector, Mapping):
                self.problem(f"{path}.{selector_field}", "must be a JSON object")
            else:
                state.item_selector = self.payload(selector, f"{path}.{selector_field}", jsonata)

        # Concurrency and tolerance
        state.max_concurrency = self.map_number(raw, "MaxConcurrency", path, jsonata, integer=True)
        state.tolerated_count = self.map_number(
            raw, "ToleratedFailureCount", path, jsonata, integer=True
        )
        state.tolerated_percentage = self.map_number(
            raw, "ToleratedFailurePercentage", path, jsonata, integer=False
        )
        if "Label" in raw:
            label = raw["Label"]
            if (
                not isinstance(label, str)
                or len(label) > 40
                or any(
                    c.isspace() or c in '<>{}[]?*"#%\\^|~`$&,;:/' or _is_control(c) for c in label
                )
            ):
                self.problem(
                    f"{path}.Label",
                    "must be at most 40 characters without whitespace or special characters",
                )
            else:
                state.label = label
        if "ItemReader" in raw:
            reader = raw["ItemReader"]
            if not isinstance(reader, Mapping):
                self.problem(f"{path}.ItemReader", "must be a JSON object")
            else:
                self.item_reader(state, reader, f"{path}.ItemReader")
        if "ItemBatcher" in raw:
            self.item_batcher(state, raw["ItemBatcher"], f"{path}.ItemBatcher")
        if "ResultWriter" in raw:
            self.result_writer(state, raw["ResultWriter"], f"{path}.ResultWriter")

    def result_writer(self, state: State, writer: Any, path: str) -> None:
        """``ResultWriter``: ``WriterConfig`` (formatting), ``Resource``+``Parameters`` (S3)."""
        if not isinstance(writer, Mapping) or not writer:
            self.problem(path, "must be a non-empty JSON object")
            return
        for key in writer:
            if key not in ("Resource", "Parameters", "Arguments", "WriterConfig"):
                self.problem(f"{path}.{key}", f"the field '{key}' is not supported here")
        config = writer.get("WriterConfig", {})
        if not isinstance(config, Mapping):
            self.problem(f"{path}.WriterConfig", "must be a JSON object")
            config = {}
        has_resource = "Resource" in writer
        transformation = config.get("Transformation", "NONE" if has_resource else "COMPACT")
        if transformation not in ("NONE", "COMPACT", "FLATTEN"):
            self.problem(f"{path}.WriterConfig.Transformation", "must be NONE, COMPACT or FLATTEN")
        output_type = config.get("OutputType", "JSON")
        if output_type not in ("JSON", "JSONL"):
            self.problem(f"{path}.WriterConfig.OutputType", "must be JSON or JSONL")
        parameters: Expr | None = None
        field = "Arguments" if state.jsonata else "Parameters"
        if field in writer:
            parameters = self.payload(writer[field], f"{path}.{field}", state.jsonata)
        if has_resource and not isinstance(writer["Resource"], str):
            self.problem(f"{path}.Resource", "must be a string")
        state.result_writer = {
            "Resource": writer.get("Resource"),
            "Parameters": parameters,
            "Transformation": transformation,
            "OutputType": output_type,
        }

    def map_number(
        self, raw: Mapping[str, Any], field: str, path: str, jsonata: bool, *, integer: bool
    ) -> Expr | None:
        path_field = f"{field}Path"
        if field in raw and path_field in raw:
            self.problem(f"{path}.{path_field}", f"use either {field} or {path_field}, not both")
            return None
        if field in raw:
            value = raw[field]
            if jsonata and is_jsonata_string(value):
                return self.jsonata_value(value, f"{path}.{field}", field)
            if integer:
                if not is_int(value) or value < 0:
                    self.problem(f"{path}.{field}", "must be a non-negative integer")
                    return None
            elif not is_number(value) or not 0 <= value <= 100:
                self.problem(f"{path}.{field}", "must be a number from 0 to 100")
                return None
            return constant(value)
        if path_field in raw:
            reference = self.reference_path(raw[path_field], f"{path}.{path_field}")
            if reference is None:
                return None
            return path_reader(reference, invalid_path)
        return None

    def item_reader(self, state: State, reader: Mapping[str, Any], path: str) -> None:
        for key in reader:
            if key not in ("Resource", "ReaderConfig", "Parameters", "Arguments"):
                self.problem(f"{path}.{key}", f"the field '{key}' is not supported here")
        resource = reader.get("Resource")
        if not isinstance(resource, str) or not resource:
            self.problem(f"{path}.Resource", "is required (a non-empty string)")
        config = reader.get("ReaderConfig", {})
        if not isinstance(config, Mapping):
            self.problem(f"{path}.ReaderConfig", "must be a JSON object")
        state.item_reader = reader

    def item_batcher(self, state: State, batcher: Any, path: str) -> None:
        if not isinstance(batcher, Mapping):
            self.problem(path, "must be a JSON object")
            return
        compiled: dict[str, Expr] = {}
        for key in batcher:
            if key not in (
                "MaxItemsPerBatch",
                "MaxItemsPerBatchPath",
                "MaxInputBytesPerBatch",
                "MaxInputBytesPerBatchPath",
                "BatchInput",
            ):
                self.problem(f"{path}.{key}", f"the field '{key}' is not supported here")
        for field in ("MaxItemsPerBatch", "MaxInputBytesPerBatch"):
            expr = self.map_number(batcher, field, path, state.jsonata, integer=True)
            if expr is not None:
                compiled[field] = expr
        if "BatchInput" in batcher:
            batch_input = self.payload(batcher["BatchInput"], f"{path}.BatchInput", state.jsonata)
            if batch_input is not None:
                compiled["BatchInput"] = batch_input
        if not any(
            key in batcher
            for key in (
                "MaxItemsPerBatch",
                "MaxItemsPerBatchPath",
                "MaxInputBytesPerBatch",
                "MaxInputBytesPerBatchPath",
            )
        ):
            self.problem(path, "needs MaxItemsPerBatch or MaxInputBytesPerBatch")
        state.batcher = compiled

    # --------------------------------------------------------- retry/catch

    def error_equals(self, raw: Mapping[str, Any], path: str) -> tuple[str, ...] | None:
        errors = raw.get("ErrorEquals")
        if (
            not isinstance(errors, list)
            or not errors
            or not all(isinstance(error, str) for error in errors)
        ):
            self.problem(f"{path}.ErrorEquals", "must be a non-empty array of error names")
            return None
        if "States.ALL" in errors and len(errors) != 1:
            self.problem(f"{path}.ErrorEquals", "States.ALL must appear alone in ErrorEquals")
            return None
        return tuple(errors)

    def retriers(self, raw: Any, path: str) -> tuple[Retrier, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.problem(path, "must be an array")
            return ()
        result: list[Retrier] = []
        for index, entry in enumerate(raw):
            entry_path = f"{path}[{index}]"
            if not isinstance(entry, Mapping):
                self.problem(entry_path, "must be a JSON object")
                continue
            for key in entry:
                if key not in _RETRY_FIELDS:
                    self.problem(f"{entry_path}.{key}", f"the field '{key}' is not supported here")
            errors = self.error_equals(entry, entry_path)
            if errors == ("States.ALL",) and index != len(raw) - 1:
                self.problem(f"{entry_path}.ErrorEquals", "States.ALL must be in the last retrier")
            checks: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
                (
                    "IntervalSeconds",
                    lambda v: is_int(v) and 0 < v <= _MAX_INT,
                    f"an integer from 1 to {_MAX_INT}",
                ),
                (
                    "MaxAttempts",
                    lambda v: is_int(v) and 0 <= v <= _MAX_INT,
                    f"an integer from 0 to {_MAX_INT}",
                ),
                ("BackoffRate", lambda v: is_number(v) and v >= 1.0, "a number >= 1.0"),
                (
                    "MaxDelaySeconds",
                    lambda v: is_int(v) and 0 < v <= _MAX_INT,
                    f"an integer from 1 to {_MAX_INT}",
                ),
            )
            ok = errors is not None
            for key, check, description in checks:
                if key in entry and not check(entry[key]):
                    self.problem(f"{entry_path}.{key}", f"must be {description}")
                    ok = False
            jitter = entry.get("JitterStrategy", "NONE")
            if jitter not in ("FULL", "NONE"):
                self.problem(f"{entry_path}.JitterStrategy", "must be FULL or NONE")
                ok = False
            if ok and errors is not None:
                result.append(
                    Retrier(
                        errors,
                        entry.get("IntervalSeconds", 1),
                        entry.get("MaxAttempts", 3),
                        entry.get("BackoffRate", 2.0),
                        entry.get("MaxDelaySeconds"),
                        jitter == "FULL",
                    )
                )
        return tuple(result)

    def catchers(
        self, raw: Any, path: str, states: Mapping[str, Any], jsonata: bool
    ) -> tuple[Catcher, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.problem(path, "must be an array")
            return ()
        result: list[Catcher] = []
        for index, entry in enumerate(raw):
            entry_path = f"{path}[{index}]"
            if not isinstance(entry, Mapping):
                self.problem(entry_path, "must be a JSON object")
                continue
            for key in entry:
                if key not in _CATCH_FIELDS[jsonata]:
                    self.problem(f"{entry_path}.{key}", f"the field '{key}' is not supported here")
            errors = self.error_equals(entry, entry_path)
            if errors == ("States.ALL",) and index != len(raw) - 1:
                self.problem(f"{entry_path}.ErrorEquals", "States.ALL must be in the last catcher")
            if "Next" not in entry:
                self.problem(f"{entry_path}.Next", "is required")
                continue
            target = self.target(entry["Next"], f"{entry_path}.Next", states)
            result_path = None if jsonata else self.result_path(entry, entry_path)
            assign = (
                self.assign(entry["Assign"], f"{entry_path}.Assign", jsonata)
                if "Assign" in entry
                else None
            )
            output = None
            if jsonata and "Output" in entry:
                output = self.jsonata_template(entry["Output"], f"{entry_path}.Output", "Output")
            if errors is not None and target is not None:
                result.append(Catcher(errors, target, result_path, assign, output))
        return tuple(result)

    # ------------------------------------------------------------- pieces

    def any_path(self, text: Any, field: str) -> JsonPath | None:
        if not isinstance(text, str):
            self.problem(field, "must be a JSONPath string")
            return None
        try:
            return compile_path(text)
        except PathSyntaxError as exc:
            self.problem(field, f"must be a valid JSONPath: {exc}")
            return None

    def reference_path(self, text: Any, field: str) -> JsonPath | None:
        if not isinstance(text, str):
            self.problem(field, "must be a reference path string")
            return None
        try:
            path = compile_path(text)
        except PathSyntaxError as exc:
            self.problem(field, f"must be a valid reference path: {exc}")
            return None
        if not path.is_reference:
            self.problem(field, "must be a reference path (a single node)")
            return None
        return path

    def data_path(self, raw: Mapping[str, Any], key: str, path: str) -> Expr | None:
        """InputPath / OutputPath: absent means ``$``; null means ``{}``."""
        if key not in raw:
            return _WHOLE
        if raw[key] is None:
            return None
        compiled = self.any_path(raw[key], f"{path}.{key}")
        if compiled is None:
            return _WHOLE
        return path_reader(compiled, invalid_path)

    def result_path(self, raw: Mapping[str, Any], path: str) -> JsonPath | None:
        if "ResultPath" not in raw:
            return _ROOT
        if raw["ResultPath"] is None:
            return None
        value = raw["ResultPath"]
        if not isinstance(value, str):
            self.problem(f"{path}.ResultPath", "must be a reference path string")
            return _ROOT
        try:
            return compile_reference_path(value)
        except PathSyntaxError as exc:
            self.problem(f"{path}.ResultPath", f"must be a valid reference path: {exc}")
            return _ROOT

    def jsonpath_template(self, payload: Any, field: str) -> Expr | None:
        try:
            return compile_jsonpath_template(payload)
        except TemplateError as exc:
            self.problem(field, exc.message)
            return None

    def jsonata_template(self, payload: Any, field: str, name: str) -> Expr | None:
        try:
            return compile_jsonata_template(payload, name)
        except TemplateError as exc:
            self.problem(field, exc.message)
            return None

    def jsonata_value(self, text: str, field: str, name: str) -> Expr | None:
        try:
            return jsonata_expression(text, name)
        except TemplateError as exc:
            self.problem(field, exc.message)
            return None

    def payload(self, payload: Any, field: str, jsonata: bool) -> Expr | None:
        name = field.rsplit(".", 1)[-1]
        if jsonata:
            return self.jsonata_template(payload, field, name)
        return self.jsonpath_template(payload, field)

    def assign(self, raw: Any, path: str, jsonata: bool) -> Expr | None:
        self.assigns = True
        if not isinstance(raw, Mapping):
            self.problem(path, "must be a JSON object")
            return None
        for key in raw:
            if not isinstance(key, str):
                self.problem(path, "variable names must be strings")
                return None
            name = key[:-2] if key.endswith(".$") and not jsonata else key
            if _VARIABLE_NAME.fullmatch(name) is None:
                self.problem(f"{path}.{key}", f"'{name}' is not a valid variable name")
            elif name in _RESERVED_VARIABLES:
                self.problem(f"{path}.{key}", f"'{name}' is a reserved variable name")
        if jsonata:
            return self.jsonata_template(raw, path, "Assign")
        return self.jsonpath_template(raw, path)


def _precompute(state: State) -> None:
    """What the interpreter would otherwise work out at every visit of ``state``."""
    result_path = state.result_path
    if result_path is not None and len(result_path.segments) == 1:
        kind_of_segment, key = result_path.segments[0]
        if kind_of_segment == 0:  # a name: ResultPath "$.key"
            state.result_key = key
            if (
                state.type == "Pass"
                and not state.jsonata
                and state.result is not None
                and state.parameters is None
                and state.assign is None
                and state.input_path is _WHOLE
                and state.output_path is _WHOLE
            ):
                state.merge_key = key
                state.merge_overhead = result_path.insert_overhead
    # A JSONPath Pass or Succeed state whose fields read only their data runs
    # without an evaluation environment (no context object, clock reading or
    # variables to prepare).
    state.needs_env = not (
        not state.jsonata
        and state.type in ("Pass", "Succeed")
        and state.assign is None
        and all(
            is_pure(expr)
            for expr in (state.input_path, state.parameters, state.result, state.output_path)
        )
    )


_ROOT: Final = compile_path("$")
_WHOLE: Final[Expr] = path_reader(_ROOT, invalid_path)  # the data itself


def _state_name_problem(name: str) -> str | None:
    if not name:
        return "state names must not be empty"
    if len(name) > _NAME_MAX:
        return f"state names must be at most {_NAME_MAX} characters (got {len(name)})"
    if any(_is_control(char) for char in name):
        return "state names must not contain control characters"
    return None


def _wait_path_missing(field: str) -> Callable[[JsonPath, Any, str], str]:
    def describe(path: JsonPath, root: Any, message: str) -> str:
        return f"The {field} parameter does not reference an input value: {path.text}"

    return describe
