"""The audit log: every change and every view of a person, chained by a keyed hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base


class AuditEntry(Base):
    """One audited action. Rows are append-only: a trigger refuses UPDATE and DELETE.

    ``entry_hash`` covers the entry's content and ``previous_hash``, so an edited or deleted
    row breaks the chain, which `registry audit verify` detects. ``chain_version`` says how
    the hash was made (registry.audit.chain): 1 plain SHA-256, 2 HMAC with the audit key.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_id"),
        CheckConstraint("chain_version IN (1, 2)", name="chain_version_known"),
        # Counting a user's recent refused names (registry.person.services) stays cheap
        # however long the user's trail grows.
        Index(
            "ix_audit_log_name_mismatch",
            "user_id",
            "occurred_at",
            postgresql_where=text("action = 'name_mismatch'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # No foreign key: the trail must outlive the accounts and records it mentions.
    user_id: Mapped[int | None] = mapped_column(index=True)
    username: Mapped[str | None] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(30))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    reason: Mapped[str | None] = mapped_column(Text)
    previous_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # No default: every writer states how it hashed (an old writer fails loudly).
    chain_version: Mapped[int] = mapped_column(SmallInteger)
