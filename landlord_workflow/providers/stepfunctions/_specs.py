"""The spec fields Step Functions has no place for, stored as state machine tags.

A state machine has a name, a definition, a role and tags (a description
exists only on versions and aliases). So that a fresh process can read a
workflow back with `get_workflow`, the adapter stores everything else of the
`WorkflowSpec` in tags it reserves:

* the spec's own ``tags`` are applied as they are (visible in the console,
  usable for cost allocation);
* ``name``, ``description``, ``timeout``, ``retry_policy`` and
  ``provider_config``, plus the keys of the spec's tags and whether
  ``timeout`` was written into the definition's ``TimeoutSeconds``, go into
  one compact JSON document, base64-encoded (its alphabet is within the tag
  value character set) and split over the tags ``landlord-workflow:spec:0``,
  ``landlord-workflow:spec:1``, ... of at most 256 characters each.

A state machine holds at most 50 tags: the spec's tags and the chunks must
fit together, which `tag_problems` checks before any API call. Keys starting
with ``landlord-workflow:`` (ours) or ``aws:`` (AWS's) are refused in
``spec.tags``. A state machine created by other means (no spec tags) reads
back with its name as the spec name, its definition, and its tags.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from landlord_workflow import codec
from landlord_workflow._json import encode_json
from landlord_workflow._limits import MAX_TAGS
from landlord_workflow._types import WorkflowSpec

SPEC_TAG_PREFIX = "landlord-workflow:spec:"
RESERVED_PREFIXES = ("landlord-workflow:", "aws:")
TAG_VALUE_CHUNK = 256
"""Longest tag value Step Functions accepts."""
_TAG_CHARS = re.compile(r"[\w .:/=+\-@]*")
"""Letters (any script), digits, spaces and ``_ . : / = + - @``: the tag character set."""

_FORMAT = 1


def _document(spec: WorkflowSpec, *, timeout_in_definition: bool) -> dict[str, Any]:
    data = codec.to_dict(spec)
    return {
        "format": _FORMAT,
        "name": data["name"],
        "description": data["description"],
        "timeout": data["timeout"],
        "timeout_in_definition": timeout_in_definition,
        "retry_policy": data["retry_policy"],
        "provider_config": data["provider_config"],
        "tag_keys": sorted(spec.tags),
    }


def spec_tags(spec: WorkflowSpec, *, timeout_in_definition: bool) -> dict[str, str]:
    """Every tag the state machine of ``spec`` carries: the spec's own and ours."""
    text = encode_json(_document(spec, timeout_in_definition=timeout_in_definition))
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    chunks = [
        encoded[start : start + TAG_VALUE_CHUNK]
        for start in range(0, len(encoded), TAG_VALUE_CHUNK)
    ]
    tags = dict(spec.tags)
    tags.update({f"{SPEC_TAG_PREFIX}{index}": chunk for index, chunk in enumerate(chunks)})
    return tags


def tag_problems(spec: WorkflowSpec) -> list[tuple[str, str]]:
    """Why the tags of ``spec`` cannot be stored on a state machine (no API call)."""
    problems: list[tuple[str, str]] = []
    for key, value in spec.tags.items():
        field = f"tags.{key}"
        if key.startswith(RESERVED_PREFIXES):
            problems.append(
                (field, "keys starting with 'landlord-workflow:' or 'aws:' are reserved")
            )
        if not _TAG_CHARS.fullmatch(key) or not _TAG_CHARS.fullmatch(value):
            problems.append(
                (
                    field,
                    "Step Functions tags hold letters, digits, spaces and _ . : / = + - @ only",
                )
            )
    if problems:
        return problems
    needed = len(spec_tags(spec, timeout_in_definition=False)) + 1  # +1: room for the flag
    if needed > MAX_TAGS:
        ours = needed - len(spec.tags)
        problems.append(
            (
                "tags",
                f"a state machine holds at most {MAX_TAGS} tags; this spec has {len(spec.tags)} "
                f"and its other fields need {ours} more (shorten the description or drop tags)",
            )
        )
    return problems


def spec_from_engine(
    *,
    workflow_id: str,
    provider_type: str,
    definition: Mapping[str, Any],
    tags: Mapping[str, str],
) -> WorkflowSpec:
    """The spec stored with a state machine (its definition and tags, as read back)."""
    chunks: dict[int, str] = {}
    for key, value in tags.items():
        if key.startswith(SPEC_TAG_PREFIX) and key[len(SPEC_TAG_PREFIX) :].isdigit():
            chunks[int(key[len(SPEC_TAG_PREFIX) :])] = value
    stored = _decode(chunks)
    if stored is None:
        plain = {key: value for key, value in tags.items() if not key.startswith(RESERVED_PREFIXES)}
        return WorkflowSpec(
            workflow_id=workflow_id,
            provider_type=provider_type,
            name=workflow_id,
            definition=definition,
            tags=plain,
        )
    document = dict(definition)
    if stored.get("timeout_in_definition"):
        document.pop("TimeoutSeconds", None)
    return codec.from_dict(
        WorkflowSpec,
        {
            "workflow_id": workflow_id,
            "provider_type": provider_type,
            "name": stored["name"],
            "description": stored["description"],
            "definition": document,
            "timeout": stored["timeout"],
            "retry_policy": stored["retry_policy"],
            "provider_config": stored["provider_config"],
            "tags": {key: tags[key] for key in stored["tag_keys"] if key in tags},
        },
    )


def _decode(chunks: Mapping[int, str]) -> dict[str, Any] | None:
    if not chunks or sorted(chunks) != list(range(len(chunks))):
        return None
    try:
        text = base64.b64decode("".join(chunks[index] for index in range(len(chunks))))
        stored = json.loads(text.decode("utf-8"))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("format") != _FORMAT:
        return None
    return stored
