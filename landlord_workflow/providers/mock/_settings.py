"""The mock provider from settings (an entry point): always configured, nothing to read."""

from __future__ import annotations

from collections.abc import Mapping

from landlord_workflow.providers.mock._engine import MockProvider


def from_settings(settings: Mapping[str, str], *, required: bool) -> MockProvider:
    """A fresh `MockProvider` (it needs no settings).

    A mock built from settings has no task handlers, so it is told to echo:
    its Tasks return their input (as the CLI needs), instead of failing as a
    resource that does not exist fails on AWS.
    """
    return MockProvider(echo_unknown_tasks=True)
