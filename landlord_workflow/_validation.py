"""Structural validation of workflow specs and execution inputs.

`validate_workflow_spec` and `validate_execution_input` check
every field, collect every problem and raise one
[`InvalidSpecError`][landlord_workflow.errors.InvalidSpecError] whose ``problems`` are
``(field, message)`` pairs (``"workflow_id"``, ``"retry_policy.backoff_rate"``,
``"tags.team"``, ``"definition.States.A.Seconds"``). ``attrs`` does not check
types at runtime, so each check copes with any value (a number for a name, a
set for an input, a NaN deep inside a definition, nesting thousands of levels
deep): the only exception raised is ``InvalidSpecError``.

Engine-specific checks (is the definition valid ASL?) belong to each
provider's ``validate``; these rules hold for every engine.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Final

from landlord_workflow._json import check_json, join_path
from landlord_workflow._limits import (
    MAX_DEFINITION_BYTES,
    MAX_DESCRIPTION_LENGTH,
    MAX_PAYLOAD_BYTES,
    MAX_SPEC_NAME_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
)
from landlord_workflow._types import ExecutionInput, RetryPolicy, WorkflowSpec
from landlord_workflow.errors import InvalidSpecError

__all__ = [
    "validate_execution_input",
    "validate_workflow_id",
    "validate_workflow_spec",
    "with_shared_rules",
]

Problem = tuple[str, str]

WORKFLOW_ID_PATTERN: Final = re.compile(r"[a-z0-9-]{1,128}")
"""Whole-string pattern (``re.fullmatch``) for ``WorkflowSpec.workflow_id``."""
EXECUTION_NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,80}")
"""Whole-string pattern (``re.fullmatch``) for ``ExecutionInput.execution_name``."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def validate_workflow_spec(spec: WorkflowSpec) -> None:
    """Check ``spec`` against the rules every engine shares.

    Raises [`InvalidSpecError`][landlord_workflow.errors.InvalidSpecError] listing every problem
    found.
    """
    value: object = spec  # attrs does not check types; neither do callers
    if not isinstance(value, WorkflowSpec):
        raise InvalidSpecError.single("$", f"expected a WorkflowSpec, got {_type_name(value)}")
    problems: list[Problem] = []
    _run(problems, "workflow_id", _workflow_id, spec.workflow_id)
    _run(problems, "provider_type", _provider_type, spec.provider_type)
    _run(problems, "name", _text(1, MAX_SPEC_NAME_LENGTH), spec.name)
    _run(problems, "description", _text(0, MAX_DESCRIPTION_LENGTH), spec.description)
    _run(problems, "definition", _definition, spec.definition)
    _run(problems, "timeout", _timeout, spec.timeout)
    _run(problems, "retry_policy", _retry_policy, spec.retry_policy)
    _run(problems, "tags", _tags, spec.tags)
    _run(problems, "provider_config", _json_object, spec.provider_config)
    if problems:
        raise InvalidSpecError(problems)


def with_shared_rules(
    spec: WorkflowSpec, engine_problems: Callable[[WorkflowSpec], list[Problem]]
) -> None:
    """Raise one `InvalidSpecError` with every problem: the shared rules' and the engine's.

    Providers call this from ``validate`` so a direct caller gets the same
    checks as the Manager. The engine's own checks run only if they can: on
    a spec of the wrong shape (the shared rules already say why) they may
    not, and what they would add is then left out.
    """
    problems: list[Problem] = []
    try:
        validate_workflow_spec(spec)
    except InvalidSpecError as exc:
        problems.extend(exc.problems)
    try:
        extra = engine_problems(spec)
    except InvalidSpecError as exc:
        extra = exc.problems
    except Exception:  # a malformed spec the shared rules describe already
        if not problems:
            raise
        extra = []
    seen = set(problems)
    problems.extend(problem for problem in extra if problem not in seen)
    if problems:
        raise InvalidSpecError(problems)


def validate_execution_input(execution_input: ExecutionInput) -> None:
    """Check an execution's input, name and tags.

    Raises [`InvalidSpecError`][landlord_workflow.errors.InvalidSpecError] listing every problem
    found.
    """
    value: object = execution_input
    if not isinstance(value, ExecutionInput):
        raise InvalidSpecError.single("$", f"expected an ExecutionInput, got {_type_name(value)}")
    problems: list[Problem] = []
    _run(problems, "input", _input, execution_input.input)
    _run(problems, "execution_name", _execution_name, execution_input.execution_name)
    _run(problems, "tags", _tags, execution_input.tags)
    if problems:
        raise InvalidSpecError(problems)


def _type_name(value: object) -> str:
    return "None" if value is None else type(value).__name__


Check = Callable[[object, str], list[Problem]]


def _run(problems: list[Problem], field: str, check: Check, value: object) -> None:
    try:
        problems.extend(check(value, field))
    except Exception as exc:  # a hostile value must still give InvalidSpecError
        problems.append((field, f"could not be checked ({type(exc).__name__})"))


def _text_problems(value: object, field: str, low: int, high: int, what: str = "") -> list[Problem]:
    """Problems of a free-text value: a string, ``low``..``high`` characters, valid Unicode."""
    if not isinstance(value, str):
        return [(field, f"{what}must be a string, got {_type_name(value)}")]
    if not value.isascii() and _SURROGATE.search(value):
        return [(field, f"{what}contains a lone surrogate (not valid Unicode)")]
    if len(value) > high or len(value) < low:
        span = f"at most {high}" if low == 0 else f"{low} to {high}"
        return [(field, f"{what}must be {span} characters long, got {len(value)}")]
    return []


def _text(low: int, high: int) -> Check:
    def check(value: object, field: str) -> list[Problem]:
        return _text_problems(value, field, low, high)

    return check


def validate_workflow_id(workflow_id: object) -> None:
    """Raise [`InvalidSpecError`][landlord_workflow.errors.InvalidSpecError] unless ``workflow_id``
    is a valid workflow id."""
    problems = _workflow_id(workflow_id, "workflow_id")
    if problems:
        raise InvalidSpecError(problems)


def _workflow_id(value: object, field: str) -> list[Problem]:
    if not isinstance(value, str):
        return [(field, f"must be a string, got {_type_name(value)}")]
    if WORKFLOW_ID_PATTERN.fullmatch(value):
        return []
    return [(field, "must be 1 to 128 characters: lowercase letters a-z, digits and '-'")]


def _execution_name(value: object, field: str) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [(field, f"must be a string or None, got {_type_name(value)}")]
    if EXECUTION_NAME_PATTERN.fullmatch(value):
        return []
    return [(field, "must be 1 to 80 characters: letters A-Z a-z, digits, '-' and '_'")]


def _provider_type(value: object, field: str) -> list[Problem]:
    if isinstance(value, str) and not value.strip():
        return [(field, "must not be empty")]
    return _text_problems(value, field, 1, MAX_SPEC_NAME_LENGTH)


def _definition(value: object, field: str) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [(field, f"must be a JSON object, got {_type_name(value)}")]
    if not value:
        return [(field, "must not be empty")]
    return check_json(value, field, max_bytes=MAX_DEFINITION_BYTES)


def _json_object(value: object, field: str) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [(field, f"must be a JSON object, got {_type_name(value)}")]
    return check_json(value, field)


def _input(value: object, field: str) -> list[Problem]:
    if not isinstance(value, Mapping | list | tuple):
        return [(field, f"must be a JSON object or array, got {_type_name(value)}")]
    return check_json(value, field, max_bytes=MAX_PAYLOAD_BYTES)


def _positive_duration(value: object, field: str) -> list[Problem]:
    if not isinstance(value, timedelta):
        return [(field, f"must be a timedelta, got {_type_name(value)}")]
    if value <= timedelta(0):
        return [(field, "must be greater than zero")]
    return []


def _timeout(value: object, field: str) -> list[Problem]:
    return [] if value is None else _positive_duration(value, field)


def _retry_policy(value: object, field: str) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, RetryPolicy):
        return [(field, f"must be a RetryPolicy or None, got {_type_name(value)}")]
    problems: list[Problem] = []
    attempts = value.max_attempts
    if not isinstance(attempts, int) or isinstance(attempts, bool):
        problems.append(
            (f"{field}.max_attempts", f"must be an integer, got {_type_name(attempts)}")
        )
    elif attempts < 0:
        problems.append((f"{field}.max_attempts", "must be 0 or more"))
    rate = value.backoff_rate
    if not isinstance(rate, int | float) or isinstance(rate, bool):
        problems.append((f"{field}.backoff_rate", f"must be a number, got {_type_name(rate)}"))
    elif not math.isfinite(rate) or rate < 1:
        problems.append((f"{field}.backoff_rate", f"must be a finite number >= 1, got {rate}"))
    initial, maximum = value.initial_interval, value.max_interval
    interval_problems = _positive_duration(initial, f"{field}.initial_interval")
    interval_problems += _positive_duration(maximum, f"{field}.max_interval")
    problems += interval_problems
    if not interval_problems and initial > maximum:
        problems.append((f"{field}.initial_interval", "must not exceed max_interval"))
    return problems


def _tags(value: object, field: str) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [(field, f"must be a mapping of strings to strings, got {_type_name(value)}")]
    problems: list[Problem] = []
    if len(value) > MAX_TAGS:
        problems.append((field, f"at most {MAX_TAGS} tags are allowed, got {len(value)}"))
    for key, item in value.items():
        if not isinstance(key, str):
            problems.append((field, f"tag keys must be strings, found {_type_name(key)}"))
            continue
        where = join_path(field, key)
        problems += _text_problems(key, where, 1, MAX_TAG_LENGTH, "tag key ")
        problems += _text_problems(item, where, 0, MAX_TAG_LENGTH, "tag value ")
    return problems
