"""Throttling failed log-ins per account and per client address.

The counts live in this process's memory, so each worker process counts on its own and a
restart forgets them: with N worker processes an attacker gets at most N times the limit.
That is enough to stop guessing a password over the login form; a deployment that runs many
processes, or wants the counts to survive restarts, needs a table for them (none exists).
The store is bounded: at most ``max_keys`` accounts and addresses are tracked, and the one
not seen for longest is dropped first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

ACCOUNT_LIMIT = 5  # failures per account ...
ADDRESS_LIMIT = 20  # ... and per client address ...
WINDOW_SECONDS = 15 * 60  # ... within 15 minutes
MAX_KEYS = 10_000


@dataclass(frozen=True)
class Limit:
    prefix: str
    failures: int


class LoginThrottle:
    """Counts recent failed log-ins and says until when a new attempt is refused."""

    def __init__(
        self,
        account_limit: int = ACCOUNT_LIMIT,
        address_limit: int = ADDRESS_LIMIT,
        window_seconds: float = WINDOW_SECONDS,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account = Limit("account", account_limit)
        self.address = Limit("address", address_limit)
        self.window = window_seconds
        self.max_keys = max_keys
        self.clock = clock
        # key -> the times of its most recent failures (no more than its limit are needed)
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _account_key(username: str) -> str:
        return "account:" + (username or "").strip().casefold()

    @staticmethod
    def _address_key(address: str | None) -> str:
        return "address:" + (address or "unknown")

    def _pairs(self, username: str, address: str | None) -> tuple[tuple[str, Limit], ...]:
        return (
            (self._account_key(username), self.account),
            (self._address_key(address), self.address),
        )

    def blocked_until(self, username: str, address: str | None) -> float | None:
        """The time (epoch seconds) before which log-ins are refused, or None if allowed."""
        now = self.clock()
        until = None
        with self._lock:
            for key, limit in self._pairs(username, address):
                times = self._failures.get(key)
                if not times:
                    continue
                while times and times[0] <= now - self.window:
                    times.popleft()
                if len(times) >= limit.failures:
                    # Refused until the oldest of the last `limit` failures leaves the window.
                    release = times[-limit.failures] + self.window
                    until = release if until is None else max(until, release)
        return until

    def record_failure(self, username: str, address: str | None) -> None:
        now = self.clock()
        with self._lock:
            for key, limit in self._pairs(username, address):
                times = self._failures.get(key)
                if times is None:
                    times = self._failures[key] = deque(maxlen=limit.failures)
                times.append(now)
                self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def forget_account(self, username: str) -> None:
        """A successful log-in clears the account's count (not the address's)."""
        with self._lock:
            self._failures.pop(self._account_key(username), None)

    def __len__(self) -> int:
        return len(self._failures)
