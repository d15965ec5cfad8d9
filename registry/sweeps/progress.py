"""A sweep's state over its week: started by its first visit, closed by an officer or by
the nightly ``registry sweeps close`` once its week has ended."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from registry.accounts.models import UserAccount
from registry.audit.services import Action, record
from registry.sweeps.models import Sweep


def close_ended_sweeps(session: Session, actor: UserAccount | None, today: date) -> int:
    """Close every open sweep whose week ended before ``today``; how many were closed."""
    closed = (
        session.execute(
            update(Sweep)
            .where(Sweep.closed_at.is_(None), Sweep.week_start < today - timedelta(days=6))
            .values(
                closed_at=datetime.now(UTC),
                closed_by_id=getattr(actor, "id", None),
                version=Sweep.version + 1,
            )
            .returning(Sweep.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    for sweep_id in closed:
        record(session, actor, Action.UPDATE, "sweep", sweep_id, {"closed": [False, True]})
    return len(closed)
