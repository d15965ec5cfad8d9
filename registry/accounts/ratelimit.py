"""Throttling failed log-ins per account and per client address, in the database.

Every worker process (gunicorn runs several) and every restart sees the same counts: a
failure is a row of ``login_failure``, written in a transaction of its own
(registry.db.own_transaction) so that it stays when the request that refuses the log-in
is rolled back. The rows hold a keyed digest of the account or address, never the text
typed (a password typed into the username box must not be stored).

The table stays small: a failure is refused before it is counted once its account or
address is over the limit, and each new failure deletes a batch of rows older than the
window (through the index on ``failed_at``, skipping rows another worker is deleting).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, literal, select, union_all
from sqlalchemy.orm import Session

from registry.accounts.models import LoginFailure
from registry.db import own_transaction

ACCOUNT_LIMIT = 5  # failures per account ...
ADDRESS_LIMIT = 20  # ... and per client address ...
WINDOW_SECONDS = 15 * 60  # ... within 15 minutes
PRUNED_PER_FAILURE = 200  # old rows one failure deletes at most


@dataclass(frozen=True)
class Limit:
    prefix: str
    failures: int


class LoginThrottle:
    """Counts recent failed log-ins and says until when a new attempt is refused.

    ``secret`` keys the digests of accounts and addresses (the app's SECRET_KEY);
    ``clock`` gives epoch seconds (a test moves it forward).
    """

    def __init__(
        self,
        secret: str | bytes,
        account_limit: int = ACCOUNT_LIMIT,
        address_limit: int = ADDRESS_LIMIT,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        secret = secret.encode() if isinstance(secret, str) else secret
        self._key = hmac.new(secret, b"registry: login throttle", hashlib.sha256).digest()
        self.account = Limit("account", account_limit)
        self.address = Limit("address", address_limit)
        self.window = window_seconds
        self.clock = clock

    def _digest(self, limit: Limit, value: str) -> bytes:
        message = f"{limit.prefix}:{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _account_key(self, username: str) -> bytes:
        return self._digest(self.account, (username or "").strip().casefold())

    def _address_key(self, address: str | None) -> bytes:
        return self._digest(self.address, address or "unknown")

    def _pairs(self, username: str, address: str | None) -> tuple[tuple[bytes, Limit], ...]:
        return (
            (self._account_key(username), self.account),
            (self._address_key(address), self.address),
        )

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def blocked_until(self, session: Session, username: str, address: str | None) -> float | None:
        """The time (epoch seconds) before which log-ins are refused, or None if allowed.

        A key is over its limit when its last ``limit`` failures all lie in the window; it
        is refused until the oldest of them leaves it.
        """
        now = self._now()
        since = now - timedelta(seconds=self.window)
        recent = union_all(
            *(
                select(literal(index).label("pair"), LoginFailure.failed_at)
                .where(LoginFailure.key == key, LoginFailure.failed_at > since)
                .order_by(LoginFailure.failed_at.desc())
                .limit(limit.failures)
                for index, (key, limit) in enumerate(self._pairs(username, address))
            )
        ).subquery()
        times: dict[int, list[datetime]] = {}
        for pair, failed_at in session.execute(select(recent.c.pair, recent.c.failed_at)):
            times.setdefault(pair, []).append(failed_at)
        until = None
        for index, (_key, limit) in enumerate(self._pairs(username, address)):
            found = times.get(index, [])
            if len(found) >= limit.failures:
                release = min(found).timestamp() + self.window
                until = release if until is None else max(until, release)
        return until

    def record_failure(self, session: Session, username: str, address: str | None) -> None:
        """Count a failure against the account and the address, beside ``session``'s
        transaction (it stays when the request is rolled back); prune expired rows."""
        now = self._now()
        with own_transaction(session) as bookkeeping:
            bookkeeping.execute(
                insert(LoginFailure),
                [{"key": key, "failed_at": now} for key, _limit in self._pairs(username, address)],
            )
            self._prune(bookkeeping, now - timedelta(seconds=self.window))

    @staticmethod
    def _prune(session: Session, before: datetime) -> None:
        expired = (
            select(LoginFailure.id)
            .where(LoginFailure.failed_at <= before)
            .order_by(LoginFailure.failed_at)
            .limit(PRUNED_PER_FAILURE)
            .with_for_update(skip_locked=True)
        )
        session.execute(
            delete(LoginFailure)
            .where(LoginFailure.id.in_(expired.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )

    def forget_account(self, session: Session, username: str) -> None:
        """A successful log-in clears the account's count (not the address's)."""
        session.execute(
            delete(LoginFailure)
            .where(LoginFailure.key == self._account_key(username))
            .execution_options(synchronize_session=False)
        )
