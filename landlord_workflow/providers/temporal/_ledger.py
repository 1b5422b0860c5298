"""What a provider remembers about its own starts and redrives, bounded.

A StartWorkflowExecution, ResetWorkflowExecution or SignalWorkflowExecution
that got no answer (connection lost, timeout, server error, cancelled) may
have taken effect. Its retry sends the SAME request id, and Temporal
deduplicates on it: the retried start returns the run the lost attempt
created (even if it has ended since), the retried reset the run it made, a
retried callback signal is delivered once. A call that got any answer, or a
definite refusal, is settled and forgotten.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

__all__ = ["REMEMBERED", "RequestLedger", "bounded_put"]

REMEMBERED = 4096
"""Entries each bounded memory keeps."""


def bounded_put(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    """Set ``cache[key]`` as the newest entry, dropping the oldest beyond :data:`REMEMBERED`."""
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > REMEMBERED:
        cache.popitem(last=False)


class RequestLedger:
    """Request ids of starts and redrives whose answer was lost."""

    def __init__(self) -> None:
        # (Temporal workflow id, input digest) -> request id
        self._starts: OrderedDict[tuple[str, str], str] = OrderedDict()
        # Temporal workflow id -> (run id the reset started from, request id)
        self._redrives: OrderedDict[str, tuple[str, str]] = OrderedDict()
        # (task token, answer kind) -> request id of a signal whose answer was lost
        self._signals: OrderedDict[tuple[str, str], str] = OrderedDict()

    def start_request(self, temporal_id: str, digest: str) -> tuple[str, bool]:
        """The request id for a start, and whether it repeats a lost attempt's."""
        key = (temporal_id, digest)
        earlier = self._starts.get(key)
        request_id = earlier or str(uuid.uuid4())
        bounded_put(self._starts, key, request_id)
        return request_id, earlier is not None

    def start_settled(self, temporal_id: str, digest: str) -> None:
        """The engine answered (or refused) the start: it is no longer in doubt."""
        self._starts.pop((temporal_id, digest), None)

    def lost_redrive(self, temporal_id: str) -> tuple[str, str] | None:
        """``(base run id, request id)`` of a redrive whose answer was lost."""
        return self._redrives.get(temporal_id)

    def redrive_request(self, temporal_id: str, base_run_id: str) -> str:
        """The request id for resetting ``base_run_id`` (a lost attempt's, if any)."""
        earlier = self._redrives.get(temporal_id)
        if earlier is not None and earlier[0] == base_run_id:
            return earlier[1]
        request_id = str(uuid.uuid4())
        bounded_put(self._redrives, temporal_id, (base_run_id, request_id))
        return request_id

    def redrive_settled(self, temporal_id: str) -> None:
        """The reset was answered (or refused)."""
        self._redrives.pop(temporal_id, None)

    def signal_request(self, token: str, kind: str) -> tuple[str, bool]:
        """The request id for answering ``token``, and whether it repeats a lost attempt's."""
        key = (token, kind)
        earlier = self._signals.get(key)
        request_id = earlier or str(uuid.uuid4())
        bounded_put(self._signals, key, request_id)
        return request_id, earlier is not None

    def signal_settled(self, token: str, kind: str) -> None:
        """The signal was answered (or refused)."""
        self._signals.pop((token, kind), None)
