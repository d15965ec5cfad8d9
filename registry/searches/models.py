"""A personal search's results, kept on the server for a short while under a token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base


class KeptSearch(Base):
    """What one personal search found: the ids of the records, never the query.

    The results URL carries a random token; only its SHA-256 is stored, so whoever reads
    the table cannot open the results page. A row belongs to one user and one page
    (``scope``) and expires; the records are read again, in the user's scope, when shown.
    """

    __tablename__ = "kept_search"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(20))
    found: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
