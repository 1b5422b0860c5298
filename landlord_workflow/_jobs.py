"""Branches and iterations run as asyncio tasks: the ``run_all`` of the runtimes that use asyncio.

The interpreter core has no asyncio in it (`landlord_workflow._asl`); the
mock engine and the Temporal workflow (whose event loop is Temporal's
deterministic one) both run a Parallel state's branches and a Map's
iterations through this one function.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

__all__ = ["run_all"]


async def run_all(
    jobs: Sequence[Callable[[], Awaitable[Any]]],
    *,
    max_concurrency: int,
    on_done: Callable[[int, Any], bool],
) -> None:
    """Run ``jobs``, at most ``max_concurrency`` at once (``0``: all at once).

    ``on_done(index, result)`` hears each result as it comes; when it returns
    true, the jobs still running are cancelled and those not started never
    start. A job's exception cancels the others and propagates.
    """
    if not jobs:
        return
    limit = asyncio.Semaphore(max_concurrency if max_concurrency > 0 else len(jobs))
    stopped = False

    async def one(index: int) -> None:
        nonlocal stopped
        async with limit:
            if stopped:
                return
            result = await jobs[index]()
        if on_done(index, result):
            stopped = True
            raise _StopRunError

    try:
        async with asyncio.TaskGroup() as group:
            for index in range(len(jobs)):
                group.create_task(one(index))
    except* _StopRunError:
        pass


class _StopRunError(Exception):
    """Ends run_all early (never escapes it)."""
