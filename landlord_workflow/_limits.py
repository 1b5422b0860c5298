"""The limits every engine shares, in one place.

They are AWS Step Functions' quotas and naming rules; validation applies
them before any engine call, and the mock engine enforces the same ones so a
definition that runs on the mock is not refused on AWS for its size.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "MAX_DEFINITION_BYTES",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_HISTORY_EVENTS",
    "MAX_PAYLOAD_BYTES",
    "MAX_SPEC_NAME_LENGTH",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "NAME_MAX_LENGTH",
    "is_control",
    "name_problem",
]

NAME_MAX_LENGTH: Final = 80
"""Longest name (state, state machine, execution) Step Functions accepts."""
MAX_PAYLOAD_BYTES: Final = 262_144
"""256 KiB of UTF-8 JSON: execution input, state output and execution output."""
MAX_DEFINITION_BYTES: Final = 1_048_576
"""1 MiB of compact UTF-8 JSON: a workflow definition."""
MAX_HISTORY_EVENTS: Final = 25_000
"""History events one execution may record."""
MAX_TAGS: Final = 50
"""Tags on one resource (Step Functions: 50 per state machine)."""
MAX_TAG_LENGTH: Final = 128
"""Longest tag key and value of a spec or input (the seed specification's limit)."""
MAX_SPEC_NAME_LENGTH: Final = 256
"""Longest ``WorkflowSpec.name``."""
MAX_DESCRIPTION_LENGTH: Final = 1024
"""Longest ``WorkflowSpec.description``."""

_FORBIDDEN_NAME_CHARS = frozenset('<>{}[]?*"#%\\^|~`$&,;:/')
# Names made only of printable ASCII that is neither whitespace nor forbidden
# (the usual ones) pass at once; any other name gets the full check below.
_PLAIN_NAME = re.compile(
    "["
    + re.escape("".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in _FORBIDDEN_NAME_CHARS))
    + f"]{{1,{NAME_MAX_LENGTH}}}"
)


def is_control(char: str) -> bool:
    """Whether ``char`` is a control character in Step Functions' sense."""
    code = ord(char)
    return code <= 0x1F or 0x7F <= code <= 0x9F or code in (0xFFFE, 0xFFFF)


def name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid Step Functions resource name, or ``None``.

    The rule for state machine and execution names: 1 to 80 characters, no
    whitespace, no control characters and none of
    ``< > { } [ ] ? * " # % \\ ^ | ~ ` $ & , ; : /``.
    """
    if not isinstance(name, str):
        return "must be a string"
    if _PLAIN_NAME.fullmatch(name) is not None:
        return None
    if not name:
        return "must not be empty"
    if len(name) > NAME_MAX_LENGTH:
        return f"must be at most {NAME_MAX_LENGTH} characters (got {len(name)})"
    for char in name:
        if char.isspace():
            return "must not contain whitespace"
        if is_control(char):
            return "must not contain control characters"
        if char in _FORBIDDEN_NAME_CHARS:
            return f"must not contain {char!r}"
    return None
