"""Settings an administrator switches on or off for the whole registry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base

# Whether a pledge signed by typing the full name (for a signer who cannot draw), with the
# confirmation box and the collecting user as witness, counts as signed: for a dwelling's
# status, the figures, the lists and the "missing a pledge" flag rule alike.
TYPED_SIGNATURE_COUNTS = "typed_signature_counts"
DEFAULTS = {TYPED_SIGNATURE_COUNTS: False}


class RegistrySetting(Base):
    """One switch; a key without a row has its default (see DEFAULTS)."""

    __tablename__ = "registry_setting"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
