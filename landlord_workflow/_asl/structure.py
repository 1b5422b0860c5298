"""Engine-neutral structure checks for Amazon States Language documents.

Both the mock engine and the Step Functions adapter call
`structure_problems` before anything reaches an engine. It checks only
what every ASL engine requires (the document shape, state names, transition
targets, reachability of a terminal state); what a particular engine supports
(the mock refuses ``Parallel`` and ``Map``, for instance) is checked by that
engine.

Field paths in the returned problems are dotted, rooted at ``definition``:
``"definition.StartAt"``, ``"definition.States.Deploy.Next"``,
``"definition.States.Route.Choices[1].Next"``. Nested state machines (the
branches of a ``Parallel``, the processor of a ``Map``) are checked the same
way, under their own path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from landlord_workflow._limits import NAME_MAX_LENGTH, is_control

__all__ = ["STATE_TYPES", "structure_problems"]

STATE_TYPES = frozenset({"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"})
"""Every state ``Type`` defined by the Amazon States Language."""

_TERMINAL_TYPES = frozenset({"Succeed", "Fail"})
_NO_NEXT_TYPES = frozenset({"Choice", "Succeed", "Fail"})


def _state_name_problem(name: str) -> str | None:
    # Step Functions accepts spaces and punctuation in *state* names (the
    # console's own defaults are names like "Lambda Invoke"); it only limits
    # the length and refuses control characters.
    if not name:
        return "state names must not be empty"
    if len(name) > NAME_MAX_LENGTH:
        return f"state names must be at most {NAME_MAX_LENGTH} characters (got {len(name)})"
    if any(is_control(char) for char in name):
        return "state names must not contain control characters"
    return None


def structure_problems(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every structural problem of an ASL ``definition``, as ``(field, message)``.

    Checks: the definition is an object; ``StartAt`` is present and names a
    state; ``States`` is a non-empty object; state names are 1-80 characters
    without control characters; every state has a known ``Type``; every
    ``Next``, ``Default``, ``Choices[].Next`` and ``Catch[].Next`` target
    exists; states other than Choice, Succeed and Fail have ``Next`` or
    ``End`` (not both); a terminal state (``End: true``, Succeed, Fail) is
    reachable from ``StartAt``. An empty list means the structure is sound.
    """
    problems: list[tuple[str, str]] = []
    _check_machine(definition, "definition", problems)
    return problems


def _check_machine(machine: object, path: str, problems: list[tuple[str, str]]) -> None:
    if not isinstance(machine, Mapping):
        problems.append((path, "must be a JSON object"))
        return
    states = machine.get("States")
    start_at = machine.get("StartAt")
    if states is None:
        problems.append((f"{path}.States", "is required"))
    elif not isinstance(states, Mapping):
        problems.append((f"{path}.States", "must be a JSON object"))
        states = None
    elif not states:
        problems.append((f"{path}.States", "must define at least one state"))
        states = None
    if start_at is None:
        problems.append((f"{path}.StartAt", "is required"))
    elif not isinstance(start_at, str):
        problems.append((f"{path}.StartAt", "must be a string"))
    elif states is not None and start_at not in states:
        problems.append((f"{path}.StartAt", f"names no state: {start_at!r}"))
    if states is None:
        return

    edges: dict[str, list[str]] = {}
    terminal: set[str] = set()
    for name, state in states.items():
        state_path = f"{path}.States.{name}"
        problem = _state_name_problem(str(name))
        if problem is not None:
            problems.append((state_path, problem))
        if not isinstance(state, Mapping):
            problems.append((state_path, "must be a JSON object"))
            continue
        edges[name] = _check_state(state, state_path, states, problems)
        kind = state.get("Type")
        if (isinstance(kind, str) and kind in _TERMINAL_TYPES) or state.get("End") is True:
            terminal.add(name)

    if isinstance(start_at, str) and start_at in states and not _reaches(start_at, edges, terminal):
        problems.append(
            (
                f"{path}.States",
                f"no terminal state (End: true, Succeed or Fail) is reachable from {start_at!r}",
            )
        )


def _check_state(
    state: Mapping[str, Any],
    path: str,
    states: Mapping[str, Any],
    problems: list[tuple[str, str]],
) -> list[str]:
    """Check one state; return the names it can transition to."""
    targets: list[str] = []

    def target(field: str, value: object) -> None:
        if not isinstance(value, str):
            problems.append((field, "must be a state name (string)"))
        elif value not in states:
            problems.append((field, f"names no state: {value!r}"))
        else:
            targets.append(value)

    state_type = state.get("Type")
    if state_type is None:
        problems.append((f"{path}.Type", "is required"))
    elif not isinstance(state_type, str):
        problems.append((f"{path}.Type", "must be a string (the state type)"))
    elif state_type not in STATE_TYPES:
        allowed = ", ".join(sorted(STATE_TYPES))
        problems.append((f"{path}.Type", f"unknown state type {state_type!r} (one of {allowed})"))

    has_next = "Next" in state
    has_end = state.get("End") is True
    if has_next:
        target(f"{path}.Next", state["Next"])
    if "End" in state and not isinstance(state["End"], bool):
        problems.append((f"{path}.End", "must be a boolean"))
    if isinstance(state_type, str) and state_type not in _NO_NEXT_TYPES:
        if has_next and has_end:
            problems.append((f"{path}.End", "a state must not have both Next and End"))
        elif not has_next and not has_end:
            problems.append((path, "a non-terminal state needs Next or End: true"))

    if state_type == "Choice":
        _check_rules(state.get("Choices"), f"{path}.Choices", target, problems, required=True)
        if "Default" in state:
            target(f"{path}.Default", state["Default"])
    if "Catch" in state:
        _check_rules(state["Catch"], f"{path}.Catch", target, problems, required=False)
    if state_type == "Parallel":
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches:
            problems.append((f"{path}.Branches", "must be a non-empty array"))
        else:
            for index, branch in enumerate(branches):
                _check_machine(branch, f"{path}.Branches[{index}]", problems)
    elif state_type == "Map":
        processor_field = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
        if processor_field not in state:
            problems.append((f"{path}.ItemProcessor", "is required"))
        else:
            _check_machine(state[processor_field], f"{path}.{processor_field}", problems)
    return targets


def _check_rules(
    rules: object,
    path: str,
    target: Callable[[str, object], None],
    problems: list[tuple[str, str]],
    *,
    required: bool,
) -> None:
    """Check an array of Choice rules or catchers, each with its own ``Next``."""
    if not isinstance(rules, list) or (required and not rules):
        problems.append((path, "must be a non-empty array" if required else "must be an array"))
        return
    for index, rule in enumerate(rules):
        rule_path = f"{path}[{index}]"
        if not isinstance(rule, Mapping):
            problems.append((rule_path, "must be a JSON object"))
        elif "Next" not in rule:
            problems.append((f"{rule_path}.Next", "is required"))
        else:
            target(f"{rule_path}.Next", rule["Next"])


def _reaches(start: str, edges: Mapping[str, list[str]], terminal: set[str]) -> bool:
    seen = {start}
    stack = [start]
    while stack:
        name = stack.pop()
        if name in terminal:
            return True
        for nxt in edges.get(name, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False
