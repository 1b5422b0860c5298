"""AWS-recorded Step Functions executions, and a placeholder-aware comparison.

The corpus (``cases/*.json``) holds executions whose outcome LocalStack's test
suite recorded against real AWS (see ``README.md``). The recordings went
through LocalStack's snapshot transformers, which replaced volatile values
(execution names, request ids, timestamps, ...) by placeholders. Comparing an
observed outcome with a recorded one therefore takes two steps:

1. :func:`normalize` the observed values the way the recording was
   normalised: the case's own ``expected["normalize"]`` rules first, then
   :data:`GLOBAL_NORMALIZE` (region, partition, ISO-8601 timestamps), plus
   the key rule for keys containing ``timestamp``;
2. match, where every placeholder token ``<name>`` / ``<name:1>`` in an
   expected string stands for any non-empty run of characters. A numbered
   token (``<uuid:1>``, ``<json-input:2>``: the snapshot library's reference
   replacements) stands for the same run everywhere within one case; other
   tokens (``<region>``, ``<request_id>``, ...) match each occurrence on its
   own. An expected string that is a single token matches any JSON value
   (compared as its JSON text).

Numbers compare by type and value (``1`` differs from ``1.0``, ``true`` from
``1``); object key order is ignored unless asked for. Pure Python, standard
library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ACCOUNT_ID",
    "CASES_DIR",
    "GLOBAL_NORMALIZE",
    "INVALID_DIR",
    "PLACEHOLDER",
    "REGION",
    "ROLE_ARN",
    "VALIDATE_DIR",
    "Case",
    "InvalidDefinitionCase",
    "ValidationCase",
    "load_cases",
    "load_invalid_definitions",
    "load_validations",
    "matches",
    "normalize",
]

HERE = Path(__file__).parent
CASES_DIR = HERE / "cases"
INVALID_DIR = HERE / "invalid"
VALIDATE_DIR = HERE / "validate"

ACCOUNT_ID = "111111111111"
"""Account id used in definitions (LocalStack's snapshots show every account id as this)."""
REGION = "us-east-1"
"""Region used in definitions; recordings show the region as ``<region>``."""
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/sfn-role"
"""Execution role ARN assumed by the cases' ``normalize`` rules (``$$.Execution.RoleArn``)."""

PLACEHOLDER = re.compile(r"<[A-Za-z][A-Za-z0-9_.:+\-]*>")
"""A placeholder token as written by the snapshot transformers."""
_REFERENCE = re.compile(r"<[^<>]+:\d+>")

_ISO8601 = (
    r"(?:[1-9]\d{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)|(?:[1-9]\d(?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]"
    r"|[13579][26])00)-02-29)T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?"
    r"(?:Z|[+-][01]\d:?([0-5]\d)?)"
)

GLOBAL_NORMALIZE: list[dict[str, str]] = [
    {"literal": REGION, "to": "<region>"},
    {"literal": "arn:aws:", "to": "arn:<partition>:"},
    {"regex": _ISO8601, "to": "date"},
]
"""Rules every recording went through, after the case's own ``normalize`` rules."""

_TIMESTAMP_KEY = re.compile(r"^.*timestamp.*$", re.IGNORECASE)
_ISO8601_RE = re.compile(_ISO8601)


@dataclass(frozen=True)
class Case:
    """One recorded execution."""

    id: str
    file: str
    node: str
    definition: Any
    input: Any
    expected: Mapping[str, Any]
    template: str | None = None
    execution_name: str | None = None
    clock_start: str | None = None
    """Where set, the engine clock must start at this instant (ISO 8601, UTC)."""
    handlers: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""
    source: Mapping[str, Any] = field(default_factory=dict)

    @property
    def needs_handlers(self) -> bool:
        """Whether the case calls (emulated) Lambda functions."""
        return bool(self.handlers)


@dataclass(frozen=True)
class InvalidDefinitionCase:
    """A definition AWS refused at CreateStateMachine, with AWS's message."""

    id: str
    file: str
    node: str
    definition: Any
    expected_error_code: str
    expected_error_message: str
    source: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidationCase:
    """A definition and AWS's ValidateStateMachineDefinition answer for it."""

    id: str
    file: str
    node: str
    definition: Any
    type: str
    expected_result: str
    expected_diagnostics: Sequence[Mapping[str, Any]]
    source: Mapping[str, Any] = field(default_factory=dict)


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Every case of every ``cases/*.json`` file, in file order."""
    cases = []
    for path in sorted(directory.glob("*.json")):
        data = _read(path)
        for raw in data["cases"]:
            cases.append(
                Case(
                    id=raw["id"],
                    file=path.name,
                    node=raw["node"],
                    definition=raw["definition"],
                    input=raw["input"],
                    expected=raw["expected"],
                    template=raw.get("template"),
                    execution_name=raw.get("execution_name"),
                    clock_start=raw.get("clock_start"),
                    handlers=raw.get("handlers", {}),
                    notes=raw.get("notes", ""),
                    source=data["source"],
                )
            )
    return cases


def load_invalid_definitions(directory: Path = INVALID_DIR) -> list[InvalidDefinitionCase]:
    """Every definition of every ``invalid/*.json`` file that AWS refused."""
    cases = []
    for path in sorted(directory.glob("*.json")):
        data = _read(path)
        for raw in data["cases"]:
            cases.append(
                InvalidDefinitionCase(
                    id=raw["id"],
                    file=path.name,
                    node=raw["node"],
                    definition=raw["definition"],
                    expected_error_code=raw["expected_error_code"],
                    expected_error_message=raw["expected_error_message"],
                    source=data["source"],
                )
            )
    return cases


def load_validations(directory: Path = VALIDATE_DIR) -> list[ValidationCase]:
    """Every ValidateStateMachineDefinition answer of every ``validate/*.json`` file."""
    cases = []
    for path in sorted(directory.glob("*.json")):
        data = _read(path)
        for raw in data["cases"]:
            cases.append(
                ValidationCase(
                    id=raw["id"],
                    file=path.name,
                    node=raw["node"],
                    definition=raw["definition"],
                    type=raw["type"],
                    expected_result=raw["expected_result"],
                    expected_diagnostics=raw["expected_diagnostics"],
                    source=data["source"],
                )
            )
    return cases


# ------------------------------------------------------------- normalising


def _timestamp_keys(value: Any) -> Any:
    """Values under keys containing 'timestamp' that are not ISO-8601 become 'timestamp'."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if (
                _TIMESTAMP_KEY.match(str(key))
                and not _ISO8601_RE.match(str(item))
                and not _already_normalised(item)
            ):
                out[key] = "timestamp"
            else:
                out[key] = _timestamp_keys(item)
        return out
    if isinstance(value, list):
        return [_timestamp_keys(item) if isinstance(item, dict) else item for item in value]
    return value


def _already_normalised(item: Any) -> bool:
    return isinstance(item, str) and (
        item in ("date", "timestamp") or bool(PLACEHOLDER.fullmatch(item))
    )


def _apply_rules(text: str, rules: Sequence[Mapping[str, str]]) -> str:
    for rule in rules:
        if "literal" in rule:
            literal = rule["literal"].replace('"', '\\"')
            text = text.replace(literal, rule["to"])
        else:
            text = re.sub(rule["regex"], rule["to"], text)
    return text


def normalize(value: Any, rules: Sequence[Mapping[str, str]] = ()) -> Any:
    """``value`` as LocalStack's snapshot would have recorded it.

    ``rules`` (a case's ``expected["normalize"]``) apply first, then
    :data:`GLOBAL_NORMALIZE`; replacements act on the JSON text of the value
    (``json.dumps`` defaults), like the snapshot library's. Objects also get
    the timestamp-key rule. A value whose replaced text is no longer JSON is
    returned unchanged.
    """
    if isinstance(value, dict):
        value = _timestamp_keys(value)
    text = json.dumps(value)
    replaced = _apply_rules(text, [*rules, *GLOBAL_NORMALIZE])
    try:
        return json.loads(replaced)
    except json.JSONDecodeError:
        return value


# ---------------------------------------------------------------- matching


class _Matcher:
    def __init__(self, *, key_order: bool = False) -> None:
        self.bindings: dict[str, str] = {}
        self.key_order = key_order

    def string(self, expected: str, observed: str) -> bool:
        if not PLACEHOLDER.search(expected):
            return expected == observed
        pattern = []
        groups: dict[str, str] = {}
        pos = 0
        for found in PLACEHOLDER.finditer(expected):
            pattern.append(re.escape(expected[pos : found.start()]))
            token = found.group(0)
            if not _REFERENCE.fullmatch(token):
                pattern.append("(?:.+?)")
            elif token in self.bindings:
                pattern.append(re.escape(self.bindings[token]))
            elif token in groups:
                pattern.append(f"(?P={groups[token]})")
            else:
                groups[token] = f"g{len(groups)}"
                pattern.append(f"(?P<{groups[token]}>.+?)")
            pos = found.end()
        pattern.append(re.escape(expected[pos:]))
        hit = re.fullmatch("".join(pattern), observed, re.DOTALL)
        if hit is None:
            return False
        for token, name in groups.items():
            self.bindings[token] = hit.group(name)
        return True

    def value(self, expected: Any, observed: Any, where: str, diffs: list[str]) -> None:
        if isinstance(expected, str) and PLACEHOLDER.fullmatch(expected):
            text = observed if isinstance(observed, str) else json.dumps(observed)
            if not self.string(expected, text):
                bound = self.bindings.get(expected)
                diffs.append(
                    f"{where}: expected {expected} (bound to {bound!r}), observed {observed!r}"
                )
            return
        if isinstance(expected, dict):
            if not isinstance(observed, dict):
                diffs.append(f"{where}: expected an object, observed {_short(observed)}")
                return
            missing = [k for k in expected if k not in observed]
            extra = [k for k in observed if k not in expected]
            if missing or extra:
                diffs.append(f"{where}: keys differ: missing {missing}, unexpected {extra}")
            elif self.key_order and list(expected) != list(observed):
                diffs.append(
                    f"{where}: key order differs: expected {list(expected)}, "
                    f"observed {list(observed)}"
                )
            for key in expected:
                if key in observed:
                    self.value(expected[key], observed[key], f"{where}.{key}", diffs)
            return
        if isinstance(expected, list):
            if not isinstance(observed, list):
                diffs.append(f"{where}: expected an array, observed {_short(observed)}")
                return
            if len(expected) != len(observed):
                diffs.append(
                    f"{where}: expected {len(expected)} items, observed {len(observed)}: "
                    f"expected {_short(expected)}, observed {_short(observed)}"
                )
                return
            for index, (exp, obs) in enumerate(zip(expected, observed, strict=True)):
                self.value(exp, obs, f"{where}[{index}]", diffs)
            return
        if isinstance(expected, str):
            if not isinstance(observed, str) or not self.string(expected, observed):
                diffs.append(f"{where}: expected {expected!r}, observed {_short(observed)}")
            return
        if type(expected) is not type(observed) or expected != observed:
            diffs.append(f"{where}: expected {expected!r}, observed {_short(observed)}")


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


_FAILURE_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


def matches(
    expected: Mapping[str, Any], observed: Mapping[str, Any], *, key_order: bool = False
) -> list[str]:
    """Differences between a recorded outcome and an observed one ([] when they agree).

    ``observed`` holds ``status`` and, as available, ``output`` (a JSON value),
    ``error``, ``cause`` (strings or ``None``) and ``states`` (entered state
    names in order). Compared: status; output when recorded; error and cause
    of a failed execution (absent counts as ``None``); states when both sides
    have them (as a multiset when ``expected["states_order"] == "multiset"``;
    observed names listed in ``expected["states_ignore"]`` -- states of
    distributed-Map child executions, absent from a parent's history -- are
    dropped first).
    Each difference starts with the field name: ``status:``, ``output:``,
    ``error:``, ``cause:``, ``states:``.

    Object key order is ignored unless ``key_order`` is true: the recordings
    keep AWS's key order for outputs (and for JSON causes), so the strict
    mode checks that the observed JSON text would list keys as AWS does.
    """
    rules = expected.get("normalize", [])
    matcher = _Matcher(key_order=key_order)
    diffs: list[str] = []
    status = observed.get("status")
    if status != expected["status"]:
        diffs.append(f"status: expected {expected['status']}, observed {status}")
    if "output" in expected and expected["status"] == status:
        matcher.value(expected["output"], normalize(observed.get("output"), rules), "output", diffs)
    if expected["status"] in _FAILURE_STATUSES and expected["status"] == status:
        for key in ("error", "cause"):
            want = expected.get(key)
            got = observed.get(key)
            if want is None or got is None:
                if want != got:
                    diffs.append(f"{key}: expected {want!r}, observed {got!r}")
                continue
            if not isinstance(want, str):
                # The recording parsed a JSON cause (text starting with '{').
                try:
                    got = json.loads(got)
                except (TypeError, json.JSONDecodeError):
                    diffs.append(f"{key}: expected JSON {_short(want)}, observed {got!r}")
                    continue
            matcher.value(want, normalize(got, rules), key, diffs)
    if "states" in expected and observed.get("states") is not None:
        ignore = set(expected.get("states_ignore", ()))
        want_states = list(expected["states"])
        got_states = [name for name in observed["states"] if name not in ignore]
        if expected.get("states_order") == "multiset":
            want_states.sort()
            got_states.sort()
        if want_states != got_states:
            diffs.append(f"states: expected {want_states}, observed {got_states}")
    return diffs
