"""Failed logins (the web app's password, the servers' API key), counted to slow guessing down.

A pause after each wrong guess does not help when guesses come in parallel (each session paused on
its own). Instead, failures are counted per client address and in all over the last minute; past
the limit (CITEQA_MAX_FAILED_LOGINS per address, ten times that from all addresses together) the
address, or everyone, is locked out for a while that doubles with each further failure, and no
guess is checked meanwhile. Every failure is logged with the address.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections import defaultdict, deque

log = logging.getLogger("citeqa.security")

WINDOW_S = 60.0
MAX_LOCK_S = 15 * 60.0
_ALL = "*"  # the key under which every address's failures are counted together


def same_secret(given: str, secret: str) -> bool:
    """Constant-time comparison that reveals neither the secret nor its length: digests of equal
    length are compared (hmac.compare_digest on unequal lengths returns at once)."""
    a = hashlib.sha256(given.encode("utf-8")).digest()
    return hmac.compare_digest(a, hashlib.sha256(secret.encode("utf-8")).digest())


class FailedLogins:
    def __init__(self, per_address: int, *, overall: int | None = None, what: str = "login") -> None:
        self.limits = {"address": per_address, _ALL: overall if overall is not None else per_address * 10}
        self.what = what
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._locked_until: dict[str, float] = {}

    def _limit(self, key: str) -> int:
        return self.limits[_ALL] if key == _ALL else self.limits["address"]

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - WINDOW_S:
            q.popleft()
        return q

    def wait_s(self, address: str) -> float:
        """Seconds before a guess from `address` is checked again; 0 when it may be now."""
        now = time.monotonic()
        with self._lock:
            until = max(self._locked_until.get(address, 0.0), self._locked_until.get(_ALL, 0.0))
        return max(0.0, until - now)

    def failed(self, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (address, _ALL):
                q = self._recent(key, now)
                q.append(now)
                excess = len(q) - self._limit(key)
                if excess > 0:  # 1 s, 2 s, 4 s, ... for each failure past the limit
                    self._locked_until[key] = now + min(MAX_LOCK_S, 2.0 ** (excess - 1))
            count = len(self._failures[address])
        log.warning("failed %s from %s (%d in the last minute)", self.what, address, count)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)
            self._locked_until.pop(address, None)
