"""Mermaid flowcharts of Amazon States Language definitions (for ``landlord-workflow graph``).

Private to the CLI. Node ids are generated (``s0``, ``s1``, ...) so any
state name is safe; labels are quoted with Mermaid's ``#quot;`` escape.
Shapes: Task ``[rectangle]``, Choice ``{rhombus}``, Succeed/Fail
``([stadium])``, other states ``(rounded)``. Normal transitions are solid
arrows, ``Catch`` transitions dotted and labelled with their error names,
Choice rules labelled with their comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from landlord_workflow.cli._live import StepRow

__all__ = ["CLASS_STYLES", "mermaid"]

CLASS_STYLES = {
    "succeeded": "fill:#d3f9d8,stroke:#2b8a3e,color:#000",
    "failed": "fill:#ffe3e3,stroke:#c92a2a,color:#000",
    "running": "fill:#d0ebff,stroke:#1864ab,color:#000",
    "cancelled": "fill:#fff3bf,stroke:#e67700,color:#000",
    "caught": "fill:#fff3bf,stroke:#e67700,color:#000",
}
"""Mermaid ``classDef`` styles by outcome class."""

_OUTCOME_CLASS = {
    "succeeded": "succeeded",
    "failed": "failed",
    "timed_out": "failed",
    "cancelled": "cancelled",
    "caught": "caught",
    "running": "running",
    "retrying": "running",
    "error": "running",
}

_COMPARATORS = {
    "StringEquals": "==",
    "NumericEquals": "==",
    "BooleanEquals": "==",
    "TimestampEquals": "==",
    "StringLessThan": "<",
    "NumericLessThan": "<",
    "TimestampLessThan": "<",
    "StringGreaterThan": ">",
    "NumericGreaterThan": ">",
    "TimestampGreaterThan": ">",
    "StringLessThanEquals": "<=",
    "NumericLessThanEquals": "<=",
    "TimestampLessThanEquals": "<=",
    "StringGreaterThanEquals": ">=",
    "NumericGreaterThanEquals": ">=",
    "TimestampGreaterThanEquals": ">=",
    "StringMatches": "matches",
}


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _node(node_id: str, name: str, state: Mapping[str, Any]) -> str:
    label = _label(name)
    kind = state.get("Type")
    if kind == "Task":
        return f"{node_id}[{label}]"
    if kind == "Choice":
        return f"{node_id}{{{label}}}"
    if kind in ("Succeed", "Fail"):
        return f"{node_id}([{label}])"
    return f"{node_id}({label})"


def _rule_label(rule: Mapping[str, Any]) -> str:
    for key in ("And", "Or"):
        if key in rule and isinstance(rule[key], list):
            return f" {key.lower()} ".join(_rule_label(sub) for sub in rule[key])
    if "Not" in rule and isinstance(rule["Not"], Mapping):
        return "not " + _rule_label(rule["Not"])
    variable = str(rule.get("Variable", "?"))
    for key, value in rule.items():
        if key in ("Variable", "Next", "Comment"):
            continue
        base = key.removesuffix("Path")
        if base in _COMPARATORS:
            shown = value if key.endswith("Path") else _literal(value)
            return f"{variable} {_COMPARATORS[base]} {shown}"
        if base.startswith("Is"):
            return f"{variable} {base}" if value else f"not {variable} {base}"
    return "rule"


def _literal(value: object) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def mermaid(definition: Mapping[str, Any], rows: Sequence[StepRow] = ()) -> str:
    """A ``flowchart TD`` of ``definition``; with ``rows``, states coloured by outcome.

    ``rows`` are the visits of one execution (`step_rows`);
    the last visit of a state decides its colour. States never entered stay
    uncoloured.
    """
    states = definition.get("States")
    states = states if isinstance(states, Mapping) else {}
    ids = {name: f"s{index}" for index, name in enumerate(states)}
    lines = ["flowchart TD", "    start((start))", "    finish((end))"]
    lines.extend(
        f"    {_node(ids[name], name, state if isinstance(state, Mapping) else {})}"
        for name, state in states.items()
    )
    start_at = definition.get("StartAt")
    if isinstance(start_at, str) and start_at in ids:
        lines.append(f"    start --> {ids[start_at]}")
    for name, raw in states.items():
        state: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        here = ids[name]
        nxt = state.get("Next")
        if isinstance(nxt, str) and nxt in ids:
            lines.append(f"    {here} --> {ids[nxt]}")
        if state.get("End") is True or state.get("Type") in ("Succeed", "Fail"):
            lines.append(f"    {here} --> finish")
        choices = state.get("Choices")
        if isinstance(choices, list):
            for rule in choices:
                if isinstance(rule, Mapping) and rule.get("Next") in ids:
                    target = ids[rule["Next"]]
                    lines.append(f"    {here} -->|{_label(_rule_label(rule))}| {target}")
        default = state.get("Default")
        if isinstance(default, str) and default in ids:
            lines.append(f'    {here} -->|"default"| {ids[default]}')
        catchers = state.get("Catch")
        if isinstance(catchers, list):
            for catcher in catchers:
                if isinstance(catcher, Mapping) and catcher.get("Next") in ids:
                    errors = catcher.get("ErrorEquals", [])
                    names = ", ".join(str(error) for error in errors)
                    target = ids[catcher["Next"]]
                    lines.append(f"    {here} -.->|{_label('catch ' + names)}| {target}")
    if rows:
        outcome: dict[str, str] = {}
        for row in rows:
            if row.state in ids:
                outcome[row.state] = _OUTCOME_CLASS.get(row.outcome, "running")
        for css_class, style in CLASS_STYLES.items():
            members = [ids[name] for name, value in outcome.items() if value == css_class]
            if members:
                lines.append(f"    classDef {css_class} {style}")
                lines.append(f"    class {','.join(members)} {css_class}")
    return "\n".join(lines) + "\n"
