"""What a provider remembers about its own starts and redrives, bounded.

* in-doubt starts: a StartExecution that got no answer (connection lost,
  timeout, 5xx, cancelled) may have created the execution; a retry with the
  same name and input then returns that execution, even if it has ended.
* recent starts: DescribeExecution is eventually consistent right after a
  start or redrive, so ``ExecutionDoesNotExist`` within the consistency
  window is transient.
* redrive client tokens: a retried redrive whose answer was lost reuses its
  token (for 5 minutes) instead of redriving twice.

Each memory keeps at most the 4096 most recent entries.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from typing import Any

__all__ = ["REMEMBERED", "StartLedger", "bounded_put"]

REMEMBERED = 4096
"""Entries each bounded memory keeps (recent starts, redrive tokens, failed_at)."""
_REDRIVE_TOKEN_REUSE_SECONDS = 300.0


def bounded_put(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    """Set ``cache[key]`` as the newest entry, dropping the oldest beyond `REMEMBERED`."""
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > REMEMBERED:
        cache.popitem(last=False)


class StartLedger:
    """In-doubt starts, recent starts and redrive tokens, keyed by execution ARN."""

    def __init__(self, *, consistency_window: float) -> None:
        self._consistency_window = consistency_window
        self._recent_starts: OrderedDict[str, float] = OrderedDict()
        self._redrive_tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()
        # execution ARN -> input of a start attempt that got no answer yet
        self._in_doubt: OrderedDict[str, str] = OrderedDict()

    def start_in_doubt(self, arn: str, payload: str) -> bool:
        """Record a start attempt about to be sent; whether an earlier attempt
        with the same input is still unanswered (its execution is ours)."""
        earlier_attempt_lost = self._in_doubt.get(arn) == payload
        bounded_put(self._in_doubt, arn, payload)
        return earlier_attempt_lost

    def start_settled(self, arn: str) -> None:
        """The engine answered (or refused): the start is no longer in doubt."""
        self._in_doubt.pop(arn, None)

    def started(self, arn: str) -> None:
        """``arn`` was just started or redriven (or found existing) by us."""
        bounded_put(self._recent_starts, arn, time.monotonic())

    def recently_started(self, arn: str) -> bool:
        """Whether ``arn`` was started by us within the consistency window."""
        started = self._recent_starts.get(arn)
        return started is not None and time.monotonic() - started < self._consistency_window

    def redrive_token(self, arn: str) -> str:
        """The client token for redriving ``arn``: a lost attempt's, if recent, else new."""
        now = time.monotonic()
        remembered = self._redrive_tokens.get(arn)
        if remembered is not None and now - remembered[1] < _REDRIVE_TOKEN_REUSE_SECONDS:
            return remembered[0]
        token = secrets.token_hex(32)
        bounded_put(self._redrive_tokens, arn, (token, now))
        return token

    def redriven(self, arn: str) -> None:
        """The redrive of ``arn`` was answered: forget its token, count it as a start."""
        self._redrive_tokens.pop(arn, None)
        self.started(arn)
