"""Configuration from the environment: `WorkflowConfig`.

Providers are found through the entry-point group
``landlord_workflow.providers``: each entry names a factory
``factory(settings, *, required) -> Provider | None`` that reads its own
``WORKFLOW_*`` variables from ``settings`` and returns a provider, ``None``
when it is not configured (``required=False``), or raises
`InvalidSpecError` naming the variables that are wrong or missing. The
package registers its own engines there (``mock``, ``step-functions``,
``temporal``); another package adds an engine by registering one more entry,
without touching this code.

Variables this module reads (all optional):

==================================  =========================================
``WORKFLOW_DEFAULT_PROVIDER``       a registered provider name (default ``mock``)
``WORKFLOW_CALL_MAX_ATTEMPTS``      CallPolicy.max_attempts (integer >= 1)
``WORKFLOW_CALL_ATTEMPT_TIMEOUT``   CallPolicy.attempt_timeout (duration; ``none`` disables)
``WORKFLOW_CALL_DEADLINE``          CallPolicy.deadline (duration; ``none`` disables)
``WORKFLOW_CALL_INITIAL_INTERVAL``  CallPolicy.initial_interval (duration)
``WORKFLOW_CALL_MAX_INTERVAL``      CallPolicy.max_interval (duration)
``WORKFLOW_POLL_INITIAL_INTERVAL``  PollPolicy.initial_interval (duration)
``WORKFLOW_POLL_MAX_INTERVAL``      PollPolicy.max_interval (duration)
==================================  =========================================

Without either ``WORKFLOW_POLL_*`` variable the Manager has no PollPolicy of
its own: waits poll each provider at the pace it advertises
(`SupportsPollPolicy`). With one, every provider is polled under that
PollPolicy (the other field keeping `PollPolicy`'s default).

Each provider documents its own (Step Functions: ``WORKFLOW_SFN_REGION``,
``WORKFLOW_SFN_ROLE_ARN``, ``WORKFLOW_SFN_ENDPOINT_URL``,
``WORKFLOW_SFN_ACCOUNT_ID``). Durations read Go style (``"30s"``,
``"1m30s"``, ``"500ms"``), ISO 8601 (``"PT30S"``) or plain seconds. Every
problem is reported at once, in one `InvalidSpecError` whose fields are the
variable names.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from landlord_workflow._durations import parse_duration
from landlord_workflow._policies import CallPolicy, PollPolicy
from landlord_workflow.errors import InvalidSpecError

if TYPE_CHECKING:
    from landlord_workflow._provider import Provider

ENTRY_POINT_GROUP = "landlord_workflow.providers"
_DISABLED = frozenset({"none", "off", "0", ""})
_POLL_VARIABLES = ("WORKFLOW_POLL_INITIAL_INTERVAL", "WORKFLOW_POLL_MAX_INTERVAL")


class ProviderFactory(Protocol):
    """What an entry point of the ``landlord_workflow.providers`` group names."""

    def __call__(self, settings: Mapping[str, str], *, required: bool) -> Provider | None:
        """A provider configured from ``settings`` (``WORKFLOW_*`` variables).

        ``None`` when ``settings`` do not configure it and it is not
        ``required``; `InvalidSpecError` (fields: variable names) when they
        are wrong, or when it is required and not configured.
        """
        ...


def provider_names() -> list[str]:
    """The names of every provider an installed package registers, sorted."""
    return sorted({entry.name for entry in _entries()})


def _entries() -> list[EntryPoint]:
    return list(entry_points(group=ENTRY_POINT_GROUP))


def _factory(name: str) -> ProviderFactory:
    for entry in _entries():
        if entry.name == name:
            factory: ProviderFactory = entry.load()
            return factory
    raise InvalidSpecError.single(
        "WORKFLOW_DEFAULT_PROVIDER",
        f"no provider named {name!r} is installed (installed: {', '.join(provider_names())})",
    )


@attrs.frozen(kw_only=True)
class WorkflowConfig:
    """Everything `Manager.from_config` needs: which providers, which policies.

    ``settings`` holds the ``WORKFLOW_*`` variables the providers read;
    ``providers`` the names of those they configure (the default provider
    always among them).
    """

    default_provider: str = "mock"
    providers: tuple[str, ...] = ("mock",)
    settings: Mapping[str, str] = attrs.field(factory=dict)
    call_policy: CallPolicy = attrs.field(factory=CallPolicy)
    poll_policy: PollPolicy | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkflowConfig:
        """Read the ``WORKFLOW_*`` variables of ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        settings = {key: value for key, value in env.items() if key.startswith("WORKFLOW_")}
        problems: list[tuple[str, str]] = []

        def convert(name: str, parse: Callable[[str], Any], default: Any) -> Any:
            raw = settings.get(name)
            if raw is None:
                return default
            try:
                return parse(raw.strip())
            except (ValueError, InvalidSpecError) as exc:
                problems.append((name, _message(exc)))
                return default

        default_provider = settings.get("WORKFLOW_DEFAULT_PROVIDER", "").strip() or "mock"
        names = provider_names()
        enabled: list[str] = []
        if default_provider not in names:
            problems.append(("WORKFLOW_DEFAULT_PROVIDER", f"must be one of {', '.join(names)}"))
        for name in names:
            try:
                provider = _factory(name)(settings, required=name == default_provider)
            except InvalidSpecError as exc:
                problems.extend(exc.problems)
                continue
            if provider is not None:
                enabled.append(name)

        calls = CallPolicy()
        polls = PollPolicy()
        call_policy = {
            "max_attempts": convert(
                "WORKFLOW_CALL_MAX_ATTEMPTS", _positive_int, calls.max_attempts
            ),
            "attempt_timeout": convert(
                "WORKFLOW_CALL_ATTEMPT_TIMEOUT", _optional_duration, calls.attempt_timeout
            ),
            "deadline": convert("WORKFLOW_CALL_DEADLINE", _optional_duration, calls.deadline),
            "initial_interval": convert(
                "WORKFLOW_CALL_INITIAL_INTERVAL", _duration, calls.initial_interval
            ),
            "max_interval": convert("WORKFLOW_CALL_MAX_INTERVAL", _duration, calls.max_interval),
        }
        poll_policy = {
            "initial_interval": convert(
                "WORKFLOW_POLL_INITIAL_INTERVAL", _positive_duration, polls.initial_interval
            ),
            "max_interval": convert(
                "WORKFLOW_POLL_MAX_INTERVAL", _positive_duration, polls.max_interval
            ),
        }
        polled = any(name in settings for name in _POLL_VARIABLES)
        if problems:
            raise InvalidSpecError(problems)
        return cls(
            default_provider=default_provider,
            providers=tuple(enabled),
            settings=settings,
            call_policy=CallPolicy(**call_policy),
            poll_policy=PollPolicy(**poll_policy) if polled else None,
        )

    def build_providers(self) -> list[Provider]:
        """Fresh providers for this configuration, from their entry points."""
        providers: list[Provider] = []
        for name in self.providers:
            provider = _factory(name)(self.settings, required=name == self.default_provider)
            if provider is not None:
                providers.append(provider)
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
