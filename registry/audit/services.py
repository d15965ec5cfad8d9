"""Writing and verifying the audit trail.

Each entry's hash covers its content and the previous entry's hash, so changing or
removing any entry but the newest breaks the chain at that point. Appends take a
transaction-level advisory lock so that two requests never chain onto the same entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from registry.audit.models import AuditEntry

# Arbitrary constant naming the lock that serialises appends to the chain.
CHAIN_LOCK = 7_310_452_001


class Action:
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    VIEW = "view"
    REVEAL = "reveal"
    LOGIN = "login"


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def entry_digest(entry: AuditEntry) -> bytes:
    """SHA-256 over the entry's content and the previous hash, in a canonical JSON form."""
    content = {
        "occurred_at": _canonical(entry.occurred_at),
        "user_id": entry.user_id,
        "username": entry.username,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "changes": _canonical(entry.changes or {}),
        "reason": entry.reason,
        "previous": (entry.previous_hash or b"").hex(),
    }
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).digest()


def changed(
    before: dict[str, Any], after: dict[str, Any], fields: Any = None
) -> dict[str, list[Any]]:
    """The audit log's ``changes``: each field whose value differs, as [before, after]."""
    names = after if fields is None else fields
    return {name: [before[name], after[name]] for name in names if before[name] != after[name]}


def record(
    session: Session,
    actor,
    action: str,
    object_type: str,
    object_id: Any,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Append one entry to the chain; the caller's transaction commits it with the change."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    previous = session.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
    entry = AuditEntry(
        occurred_at=datetime.now(UTC).replace(microsecond=0),
        user_id=getattr(actor, "id", None),
        username=getattr(actor, "username", None),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        changes=_canonical(changes or {}),
        reason=reason,
        previous_hash=previous,
    )
    entry.entry_hash = entry_digest(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int
    problem: str


def verify_chain(session: Session, batch: int = 5000) -> list[ChainProblem]:
    """Every entry whose hash or link to its predecessor does not match."""
    problems: list[ChainProblem] = []
    previous_hash: bytes | None = None
    last_id = 0
    while True:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not entries:
            return problems
        for entry in entries:
            stored_previous = bytes(entry.previous_hash) if entry.previous_hash else None
            if stored_previous != previous_hash:
                problems.append(ChainProblem(entry.id, "link to the previous entry is broken"))
            if bytes(entry.entry_hash) != entry_digest(entry):
                problems.append(ChainProblem(entry.id, "content does not match its hash"))
            previous_hash = bytes(entry.entry_hash)
            last_id = entry.id
        session.expunge_all()


def trail_of(session: Session, object_type: str, object_id: Any) -> list[AuditEntry]:
    """The audit entries of one record, oldest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
            .order_by(AuditEntry.id)
        )
    )
