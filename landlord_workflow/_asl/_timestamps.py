"""RFC 3339 timestamps as Step Functions accepts them (Wait, Choice)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

__all__ = ["parse_timestamp"]

# ISO-8601 extended offset date-time: a 'T' separator and a zone are required.
_TIMESTAMP: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}:\d{2}(:\d{2})?)"
)


def parse_timestamp(value: Any) -> datetime | None:
    """``value`` as an aware datetime, or ``None`` if it is not an RFC 3339 timestamp."""
    if not isinstance(value, str) or _TIMESTAMP.fullmatch(value) is None:
        return None
    text = value
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    match = re.search(r"\.(\d+)", text)
    if match is not None and len(match.group(1)) > 6:
        text = text[: match.start(1) + 6] + text[match.end(1) :]
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
