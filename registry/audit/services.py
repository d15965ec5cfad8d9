"""Writing the audit trail: entries are queued on the session and written at commit.

:func:`record` only queues an entry on the session. When the session commits, all its
queued entries are written together: the chain lock is taken, the chain's last hash read
and every entry inserted in one multi-row statement, so the district-wide lock is held for
the milliseconds of the commit instead of for the whole request, however many people a
page shows. This works for every boundary (a web request, a CLI command, a test's session)
because it hangs on SQLAlchemy's session events, not on a particular wrapper.

When the transaction rolls back, its queued changes vanish with it, and a savepoint rolled
back takes the entries queued inside it. Entries of reads (a view, a reveal, a refused
reveal) are different: the data was shown, or asked for, whether or not the request's
writes are kept, so after a rollback they are written in a short transaction of their own.

A query of the audit log through the session writes the queued entries first, as the ORM
flushes pending objects before a query, so a service or a test sees its own entries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.util import find_tables

from registry.audit.chain import audit_key_bytes, canonical, chain_rows
from registry.audit.models import AuditEntry
from registry.db import SESSION_SETTINGS, own_transaction

# Arbitrary constant naming the lock that serialises appends to the chain.
CHAIN_LOCK = 7_310_452_001
# The session settings entry holding the audit key (config form), see registry.db.
AUDIT_KEY = "audit_key"
_QUEUE = "registry.audit.queue"
logger = logging.getLogger(__name__)


class Action:
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    VIEW = "view"
    REVEAL = "reveal"
    REVEAL_REFUSED = "reveal_refused"
    LOGIN = "login"
    # A name refused for a document number: the refusal told whether the name was right.
    NAME_MISMATCH = "name_mismatch"
    # A list exported as a file: one entry naming the list, not one per record in it.
    EXPORT = "export"


# Reads of personal data: their entries outlive a rollback of the request's writes.
READS = frozenset(
    {Action.VIEW, Action.REVEAL, Action.REVEAL_REFUSED, Action.NAME_MISMATCH, Action.EXPORT}
)


def changed(
    before: dict[str, Any], after: dict[str, Any], fields: Any = None
) -> dict[str, list[Any]]:
    """The audit log's ``changes``: each field whose value differs, as [before, after]."""
    names = after if fields is None else fields
    return {name: [before[name], after[name]] for name in names if before[name] != after[name]}


@dataclass
class _Queued:
    """One entry waiting for its transaction's commit."""

    row: dict[str, Any]
    opened_in: SessionTransaction  # the innermost transaction when it was recorded
    written_in: SessionTransaction | None = None  # set once inserted (not yet committed)

    @property
    def is_read(self) -> bool:
        return self.row["action"] in READS


def _audit_key(session: Session) -> bytes:
    key = session.info.get(SESSION_SETTINGS, {}).get(AUDIT_KEY)
    if key is None:
        raise RuntimeError(
            "this session has no audit key: make it with registry.db.make_session_factory"
        )
    return audit_key_bytes(key)


def _queue(session: Session) -> list[_Queued]:
    return session.info.setdefault(_QUEUE, [])


def _innermost(session: Session) -> SessionTransaction:
    """The transaction an entry belongs to (begun here if the session has none yet)."""
    return session.get_nested_transaction() or session.get_transaction() or session.begin()


def record(
    session: Session,
    actor,
    action: str,
    object_type: str,
    object_id: Any,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Queue one entry; the session's commit writes it to the chain with the change."""
    _audit_key(session)  # refuse here, where the caller is, not at commit
    row = {
        "occurred_at": datetime.now(UTC).replace(microsecond=0),
        "user_id": getattr(actor, "id", None),
        "username": getattr(actor, "username", None),
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "changes": canonical(changes or {}),
        "reason": reason,
    }
    transaction = _innermost(session)  # first: beginning one starts an empty queue
    _queue(session).append(_Queued(row, transaction))


def write_pending(session: Session) -> int:
    """Write the session's queued entries now, in its transaction; how many were written.

    One lock, one read of the chain's end, one multi-row insert. The advisory lock is a
    transaction lock: it is held until the session's transaction ends, so this runs at
    commit (or when the session itself reads the audit log).
    """
    waiting = [queued for queued in session.info.get(_QUEUE, ()) if queued.written_in is None]
    if not waiting:
        return 0
    key = _audit_key(session)
    for queued in waiting:  # first, so the queries below do not write them again
        queued.written_in = _innermost(session)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    previous = session.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
    rows = chain_rows([queued.row for queued in waiting], previous and bytes(previous), key)
    session.execute(insert(AuditEntry), rows)
    return len(waiting)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    """Whether ``transaction`` is ``ancestor`` or was opened inside it."""
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    if session.get_nested_transaction() is None:  # a savepoint's release keeps them queued
        write_pending(session)


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    if session.get_nested_transaction() is None:
        session.info.pop(_QUEUE, None)


@event.listens_for(Session, "after_transaction_create")
def _start_empty(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # nothing carries over from a session closed half-way
        session.info.pop(_QUEUE, None)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, rolled_back: SessionTransaction) -> None:
    queue = session.info.get(_QUEUE)
    if not queue:
        return
    if rolled_back.nested:
        session.info[_QUEUE] = _after_savepoint_rollback(queue, rolled_back)
        return
    reads = [queued.row for queued in session.info.pop(_QUEUE) if queued.is_read]
    if not reads:
        return
    try:
        with own_transaction(session) as own:
            transaction = _innermost(own)
            _queue(own).extend(_Queued(row, transaction) for row in reads)
    except SQLAlchemyError:  # the rollback itself must finish; say loudly what was lost
        logger.exception("audit: %d view entries lost after a rollback", len(reads))


def _after_savepoint_rollback(queue: list[_Queued], savepoint: SessionTransaction) -> list[_Queued]:
    """The queue once ``savepoint`` has rolled back: its writes' entries are gone."""
    kept = []
    for queued in queue:
        if _within(queued.written_in, savepoint):
            queued.written_in = None  # its insert was undone: write it again at commit
        if _within(queued.opened_in, savepoint):
            if not queued.is_read:
                continue
            queued.opened_in = savepoint.parent
        kept.append(queued)
    return kept


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading_the_log(state: ORMExecuteState) -> None:
    """A query of the audit log sees the session's own queued entries (as autoflush does)."""
    session = state.session
    if not state.is_select or not session.info.get(_QUEUE):
        return
    if AuditEntry.__table__ in find_tables(state.statement, include_joins=True):
        write_pending(session)


def trail_of(session: Session, object_type: str, object_id: Any) -> list[AuditEntry]:
    """The audit entries of one record, oldest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
            .order_by(AuditEntry.id)
        )
    )
