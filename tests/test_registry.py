"""Registry: registration rules and thread safety."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fakes import FakeProvider

from landlord_workflow import ProviderConflictError, ProviderNotFoundError, Registry


def test_register_get_has_list_and_contains() -> None:
    registry = Registry()
    b, a = FakeProvider("b"), FakeProvider("a")
    registry.register(b)
    registry.register(a)
    assert registry.get("a") is a
    assert registry.has("b")
    assert "a" in registry
    assert "c" not in registry
    assert registry.list() == ["a", "b"]


def test_duplicate_name_is_a_conflict() -> None:
    registry = Registry()
    registry.register(FakeProvider("x"))
    with pytest.raises(ProviderConflictError, match="'x'"):
        registry.register(FakeProvider("x"))


def test_unknown_name_lists_the_registered_ones() -> None:
    registry = Registry()
    registry.register(FakeProvider("mock"))
    with pytest.raises(ProviderNotFoundError, match="registered: mock") as info:
        registry.get("step-functions")
    assert info.value.name == "step-functions"


def test_non_providers_are_rejected() -> None:
    with pytest.raises(TypeError, match="Provider protocol"):
        Registry().register(object())  # type: ignore[arg-type]


def test_concurrent_registration_from_many_threads_loses_nothing() -> None:
    registry = Registry()
    names = [f"p{n}" for n in range(400)]
    barrier = threading.Barrier(16)
    conflicts: list[str] = []

    def worker(offset: int) -> None:
        barrier.wait()
        for name in names[offset::8]:
            try:
                registry.register(FakeProvider(name))
            except ProviderConflictError:
                conflicts.append(name)
            assert registry.get(name).name == name
            assert name in registry
            registry.list()

    with ThreadPoolExecutor(max_workers=16) as pool:
        # offsets 0..7 twice: every name is registered by exactly two threads
        list(pool.map(worker, [n % 8 for n in range(16)]))

    assert registry.list() == sorted(names)
    assert sorted(conflicts) == sorted(names), "each duplicate registration conflicts once"
