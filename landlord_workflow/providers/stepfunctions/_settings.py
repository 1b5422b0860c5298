"""The Step Functions provider from ``WORKFLOW_SFN_*`` settings (an entry point).

==================================  =========================================
``WORKFLOW_SFN_REGION``             AWS region; configures the provider
``WORKFLOW_SFN_ROLE_ARN``           execution role for created state machines
``WORKFLOW_SFN_ENDPOINT_URL``       another endpoint, e.g. a local moto server
``WORKFLOW_SFN_ACCOUNT_ID``         skips the STS lookup when set
==================================  =========================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from landlord_workflow.errors import InvalidSpecError

if TYPE_CHECKING:
    from landlord_workflow.providers.stepfunctions._provider import StepFunctionsProvider

_FIELDS = {
    "region": "WORKFLOW_SFN_REGION",
    "endpoint_url": "WORKFLOW_SFN_ENDPOINT_URL",
    "account_id": "WORKFLOW_SFN_ACCOUNT_ID",
    "role_arn": "WORKFLOW_SFN_ROLE_ARN",
}


_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")


def settings_problems(
    *, region: object, endpoint_url: object, account_id: object
) -> list[tuple[str, str]]:
    """Why these client settings cannot work, checked before any client exists."""
    problems: list[tuple[str, str]] = []
    if not isinstance(region, str) or not _REGION.fullmatch(region):
        problems.append(("region", f"must be an AWS region such as 'eu-west-1', got {region!r}"))
    if endpoint_url is not None:
        parsed = urlsplit(endpoint_url) if isinstance(endpoint_url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
            problems.append(
                ("endpoint_url", f"must be an http(s) URL with a host, got {endpoint_url!r}")
            )
    if account_id is not None and not (
        isinstance(account_id, str) and account_id.isdigit() and len(account_id) == 12
    ):
        problems.append(("account_id", "must be a 12-digit AWS account id"))
    return problems


def from_settings(settings: Mapping[str, str], *, required: bool) -> StepFunctionsProvider | None:
    """A `StepFunctionsProvider` when ``WORKFLOW_SFN_REGION`` is set, else ``None``."""
    values = {
        field: (settings.get(variable) or "").strip() or None for field, variable in _FIELDS.items()
    }
    problems = [
        (_FIELDS[field], message)
        for field, message in settings_problems(
            region=values["region"] or "us-east-1",
            endpoint_url=values["endpoint_url"],
            account_id=values["account_id"],
        )
    ]
    if values["region"] is None and required:
        problems.insert(
            0, ("WORKFLOW_SFN_REGION", "is required when the default provider is step-functions")
        )
    if problems:
        raise InvalidSpecError(problems)
    if values["region"] is None:
        if required:
            raise InvalidSpecError.single(
                "WORKFLOW_SFN_REGION", "is required when the default provider is step-functions"
            )
        return None
    try:
        from landlord_workflow.providers.stepfunctions._provider import StepFunctionsProvider
    except ImportError as exc:
        raise InvalidSpecError.single("WORKFLOW_SFN_REGION", str(exc)) from exc
    try:
        return StepFunctionsProvider(
            region=values["region"],
            role_arn=values["role_arn"],
            endpoint_url=values["endpoint_url"],
            account_id=values["account_id"],
        )
    except InvalidSpecError as exc:
        raise InvalidSpecError(
            [(_FIELDS.get(field, field), message) for field, message in exc.problems]
        ) from None
