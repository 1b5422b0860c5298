"""Configuration from the environment: :class:`WorkflowConfig`.

Variables (all optional):

==================================  =========================================
``WORKFLOW_DEFAULT_PROVIDER``       ``mock`` (default) or ``step-functions``
``WORKFLOW_SFN_REGION``             AWS region; enables the Step Functions provider
``WORKFLOW_SFN_ROLE_ARN``           execution role for created state machines
``WORKFLOW_SFN_ENDPOINT_URL``       e.g. a local moto server
``WORKFLOW_SFN_ACCOUNT_ID``         skips the STS lookup when set
``WORKFLOW_CALL_MAX_ATTEMPTS``      CallPolicy.max_attempts (integer >= 1)
``WORKFLOW_CALL_ATTEMPT_TIMEOUT``   CallPolicy.attempt_timeout (duration; ``none`` disables)
``WORKFLOW_CALL_DEADLINE``          CallPolicy.deadline (duration; ``none`` disables)
``WORKFLOW_CALL_INITIAL_BACKOFF``   CallPolicy.initial_backoff (duration)
``WORKFLOW_CALL_MAX_BACKOFF``       CallPolicy.max_backoff (duration)
``WORKFLOW_POLL_INITIAL_INTERVAL``  PollPolicy.initial_interval (duration)
``WORKFLOW_POLL_MAX_INTERVAL``      PollPolicy.max_interval (duration)
==================================  =========================================

Durations read Go style (``"30s"``, ``"1m30s"``, ``"500ms"``), ISO 8601
(``"PT30S"``) or plain seconds. Every problem is reported at once, in one
:class:`~landlord_workflow.InvalidSpecError` whose fields are the variable
names.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from landlord_workflow._durations import parse_duration
from landlord_workflow._policies import CallPolicy, PollPolicy
from landlord_workflow.errors import InvalidSpecError

if TYPE_CHECKING:
    from landlord_workflow._provider import Provider

__all__ = ["KNOWN_PROVIDERS", "WorkflowConfig"]

KNOWN_PROVIDERS = ("mock", "step-functions")
_DISABLED = frozenset({"none", "off", "0", ""})


@attrs.frozen(kw_only=True)
class WorkflowConfig:
    """Everything :meth:`Manager.from_config` needs to build providers and policies."""

    default_provider: str = "mock"
    sfn_region: str | None = None
    sfn_role_arn: str | None = None
    sfn_endpoint_url: str | None = None
    sfn_account_id: str | None = None
    call_policy: CallPolicy = attrs.field(factory=CallPolicy)
    poll_policy: PollPolicy = attrs.field(factory=PollPolicy)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkflowConfig:
        """Read the ``WORKFLOW_*`` variables of ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        problems: list[tuple[str, str]] = []

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def convert(name: str, parse: Callable[[str], Any], default: Any) -> Any:
            raw = env.get(name)
            if raw is None:
                return default
            try:
                return parse(raw.strip())
            except (ValueError, InvalidSpecError) as exc:
                problems.append((name, _message(exc)))
                return default

        default_provider = text("WORKFLOW_DEFAULT_PROVIDER") or "mock"
        if default_provider not in KNOWN_PROVIDERS:
            problems.append(
                ("WORKFLOW_DEFAULT_PROVIDER", f"must be one of {', '.join(KNOWN_PROVIDERS)}")
            )
        region = text("WORKFLOW_SFN_REGION")
        if default_provider == "step-functions" and region is None:
            problems.append(
                ("WORKFLOW_SFN_REGION", "is required when the default provider is step-functions")
            )
        endpoint = text("WORKFLOW_SFN_ENDPOINT_URL")
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            problems.append(("WORKFLOW_SFN_ENDPOINT_URL", "must be an http(s) URL"))
        account = text("WORKFLOW_SFN_ACCOUNT_ID")
        if account is not None and not (account.isdigit() and len(account) == 12):
            problems.append(("WORKFLOW_SFN_ACCOUNT_ID", "must be a 12-digit AWS account id"))

        defaults = CallPolicy()
        max_attempts = convert("WORKFLOW_CALL_MAX_ATTEMPTS", _positive_int, defaults.max_attempts)
        attempt_timeout = convert(
            "WORKFLOW_CALL_ATTEMPT_TIMEOUT", _optional_duration, defaults.attempt_timeout
        )
        deadline = convert("WORKFLOW_CALL_DEADLINE", _optional_duration, defaults.deadline)
        initial_backoff = convert(
            "WORKFLOW_CALL_INITIAL_BACKOFF", _duration, defaults.initial_backoff
        )
        max_backoff = convert("WORKFLOW_CALL_MAX_BACKOFF", _duration, defaults.max_backoff)
        poll_defaults = PollPolicy()
        poll_initial = convert(
            "WORKFLOW_POLL_INITIAL_INTERVAL", _positive_duration, poll_defaults.initial_interval
        )
        poll_max = convert(
            "WORKFLOW_POLL_MAX_INTERVAL", _positive_duration, poll_defaults.max_interval
        )
        if problems:
            raise InvalidSpecError(problems)
        return cls(
            default_provider=default_provider,
            sfn_region=region,
            sfn_role_arn=text("WORKFLOW_SFN_ROLE_ARN"),
            sfn_endpoint_url=endpoint,
            sfn_account_id=account,
            call_policy=CallPolicy(
                max_attempts=max_attempts,
                attempt_timeout=attempt_timeout,
                deadline=deadline,
                initial_backoff=initial_backoff,
                max_backoff=max_backoff,
            ),
            poll_policy=PollPolicy(initial_interval=poll_initial, max_interval=poll_max),
        )

    def build_providers(self) -> list[Provider]:
        """Fresh providers for this configuration: the mock engine always,
        Step Functions when a region is set (imports the ``aws`` extra).

        A mock built from configuration has no task handlers, so it is told
        to echo: its Tasks return their input (as the CLI needs), instead of
        failing as a resource that does not exist fails on AWS.
        """
        from landlord_workflow.providers.mock import MockProvider

        providers: list[Provider] = [MockProvider(echo_unknown_tasks=True)]
        if self.sfn_region is not None:
            from landlord_workflow.providers.stepfunctions import StepFunctionsProvider

            providers.append(
                StepFunctionsProvider(
                    region=self.sfn_region,
                    role_arn=self.sfn_role_arn,
                    endpoint_url=self.sfn_endpoint_url,
                    account_id=self.sfn_account_id,
                )
            )
        return providers


def _message(exc: Exception) -> str:
    if isinstance(exc, InvalidSpecError):
        return "; ".join(message for _, message in exc.problems)
    return str(exc)


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"must be an integer, got {raw!r}") from None
    if value < 1:
        raise ValueError("must be >= 1")
    return value


def _duration(raw: str) -> timedelta:
    value = parse_duration(raw)
    if value < timedelta(0):
        raise ValueError("must not be negative")
    return value


def _positive_duration(raw: str) -> timedelta:
    value = parse_duration(raw)
    if value <= timedelta(0):
        raise ValueError("must be positive")
    return value


def _optional_duration(raw: str) -> timedelta | None:
    if raw.lower() in _DISABLED:
        return None
    return _positive_duration(raw)
