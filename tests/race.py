"""Real races: two connections, two threads, each committing, on a database of their own.

A check before an insert passes in both of two requests that arrive together, because
neither sees the other's uncommitted row. :func:`race` reproduces exactly that: the first
writer does its work and holds its transaction open; the second, in another thread and on
another connection, does the same work and commits; only then does the first commit. With
nothing in the schema, both rows land. With a unique or exclusion constraint, the second
insert waits on the first's row and fails once the first commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

WAIT_FOR_LOCK_SECONDS = 5.0


@dataclass
class Outcome:
    """What one side of a race returned or raised, after its commit."""

    result: Any = None
    error: BaseException | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


def _run_and_commit(session: Session, work: Callable[[Session], Any]) -> Outcome:
    try:
        result = work(session)
        session.commit()
        return Outcome(result=result)
    except BaseException as error:  # the outcome is the test's to judge
        session.rollback()
        return Outcome(error=error)


def _waiting_on_lock(factory: sessionmaker[Session], pid: int) -> bool:
    with factory() as probe:
        return bool(
            probe.scalar(
                text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            )
        )


def race(
    factory: sessionmaker[Session],
    first: Callable[[Session], Any],
    second: Callable[[Session], Any] | None = None,
) -> tuple[Outcome, Outcome]:
    """Run ``first`` and ``second`` (default: ``first`` again) as two overlapping transactions.

    ``first`` runs and flushes but does not commit; ``second`` runs in another thread and
    commits, which either goes through (nothing guards the data) or blocks on a lock held
    by ``first``. Then ``first`` commits, and the thread finishes.
    """
    second = second or first
    first_session = factory()
    second_session = factory()
    try:
        try:
            first_result = first(first_session)
            first_session.flush()
        except BaseException as error:
            first_session.rollback()
            return Outcome(error=error), _run_and_commit(second_session, second)
        second_pid = second_session.scalar(text("SELECT pg_backend_pid()"))
        box: dict[str, Outcome] = {}
        thread = threading.Thread(
            target=lambda: box.setdefault("outcome", _run_and_commit(second_session, second))
        )
        thread.start()
        deadline = time.monotonic() + WAIT_FOR_LOCK_SECONDS
        while thread.is_alive() and time.monotonic() < deadline:
            if _waiting_on_lock(factory, second_pid):
                break
            time.sleep(0.02)
        try:
            first_session.commit()
            first_outcome = Outcome(result=first_result)
        except BaseException as error:
            first_session.rollback()
            first_outcome = Outcome(error=error)
        thread.join(timeout=30)
        assert not thread.is_alive(), "the second writer never finished"
        return first_outcome, box["outcome"]
    finally:
        first_session.close()
        second_session.close()
