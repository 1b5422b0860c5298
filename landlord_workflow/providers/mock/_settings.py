"""The mock provider from settings (an entry point): always configured, nothing to read."""

from __future__ import annotations

from collections.abc import Mapping

from landlord_workflow.providers.mock._engine import MockProvider


def from_settings(settings: Mapping[str, str], *, required: bool) -> MockProvider:
    """A fresh `MockProvider` (it needs no settings)."""
    return MockProvider()
