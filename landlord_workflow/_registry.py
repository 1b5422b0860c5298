"""A thread-safe registry of providers, keyed by provider name."""

from __future__ import annotations

import builtins
import threading

import attrs

from landlord_workflow._provider import Provider
from landlord_workflow.errors import ProviderConflictError, ProviderNotFoundError

__all__ = ["Registry"]


@attrs.define
class Registry:
    """Providers by name. Every method is safe to call from any thread.

    >>> from landlord_workflow.providers.mock import MockProvider
    >>> registry = Registry()
    >>> registry.register(MockProvider())
    >>> "mock" in registry, registry.list()
    (True, ['mock'])
    """

    _providers: dict[str, Provider] = attrs.field(factory=dict, init=False, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)
    _sorted: tuple[Provider, ...] = attrs.field(default=(), init=False, repr=False)
    """The providers sorted by name, rebuilt on every change (read without the lock)."""

    def register(self, provider: Provider) -> None:
        """Add ``provider`` under ``provider.name``.

        Raises [`ProviderConflictError`][landlord_workflow.errors.ProviderConflictError] if the name
        is taken and
        `TypeError` if ``provider`` does not implement the Provider
        protocol.
        """
        if not isinstance(provider, Provider):
            raise TypeError(f"{provider!r} does not implement the Provider protocol")
        name = provider.name
        with self._lock:
            if name in self._providers:
                raise ProviderConflictError(name)
            self._providers[name] = provider
            self._resort()

    def unregister(self, name: str) -> Provider:
        """Remove and return the provider named ``name``."""
        with self._lock:
            try:
                provider = self._providers.pop(name)
            except KeyError:
                raise ProviderNotFoundError(name, self._providers) from None
            self._resort()
            return provider

    def get(self, name: str) -> Provider:
        """Return the provider named ``name`` or raise
        [`ProviderNotFoundError`][landlord_workflow.errors.ProviderNotFoundError]."""
        with self._lock:
            try:
                return self._providers[name]
            except KeyError:
                raise ProviderNotFoundError(name, self._providers) from None

    def has(self, name: str) -> bool:
        """Whether a provider named ``name`` is registered."""
        with self._lock:
            return name in self._providers

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._providers

    def list(self) -> builtins.list[str]:
        """The registered names, sorted."""
        with self._lock:
            return sorted(self._providers)

    def providers(self) -> builtins.list[Provider]:
        """The registered providers, sorted by name."""
        return list(self._sorted)

    def _resort(self) -> None:
        self._sorted = tuple(self._providers[name] for name in sorted(self._providers))

    def __repr__(self) -> str:
        return f"Registry(providers={self.list()!r})"
