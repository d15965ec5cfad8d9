"""Who may change a filing, and the opening every change shares: role, scope, version."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.accounts.models import Role, UserAccount
from registry.edits import check_version, load_for_correction
from registry.errors import Forbidden, InvalidInput
from registry.lease.models import LeaseFiling, LeaseTenant
from registry.lease.term import is_in_force

# Who may do what, on top of scope: managers and landlords keep their filings, and a grid
# worker files and keeps them on the landlord's behalf (the landlord present to sign) for
# the dwellings in the worker's cells; the pledges are signed by the landlord (or a
# tenant) on a manager's or a grid worker's device.
FILING_ROLES = (Role.PROPERTY_MANAGER, Role.GRID_WORKER)
SIGNING_ROLES = (Role.PROPERTY_MANAGER, Role.GRID_WORKER)


def require_role(actor: UserAccount, roles: Sequence[Role]) -> None:
    if actor.role not in roles:
        raise Forbidden()


def conflict_values(session: Session, filing: LeaseFiling) -> dict[str, Any]:
    """What the conflict page shows as saved meanwhile (no personal data)."""
    tenants = session.scalar(
        select(func.count()).where(
            LeaseTenant.lease_filing_id == filing.id, LeaseTenant.removed_on.is_(None)
        )
    )
    return {
        "starts_on": filing.starts_on.isoformat(),
        "ends_on": filing.ends_on.isoformat(),
        "monthly_rent": str(filing.monthly_rent),
        "status": str(filing.status),
        "ended_on": filing.ended_on.isoformat() if filing.ended_on else None,
        "tenant_count": tenants,
    }


def check_filing_version(session: Session, filing: LeaseFiling, seen_version: Any) -> None:
    check_version(filing, seen_version, conflict_values(session, filing))


def filing_for_change(
    session: Session, actor: UserAccount, filing_id: int, seen_version: Any
) -> LeaseFiling:
    """A filing the actor may change, once its version is known to be the one they saw."""
    require_role(actor, FILING_ROLES)
    filing, _current = load_for_correction(
        session,
        actor,
        LeaseFiling,
        filing_id,
        lambda record: conflict_values(session, record),
        seen_version,
    )
    return filing


def touch(filing: LeaseFiling) -> None:
    """Count a change of the tenants as an edit of the filing, so stale forms are refused."""
    filing.updated_at = func.now()


def require_editable(filing: LeaseFiling, today: date) -> None:
    if not is_in_force(filing, today):
        message = _l("This filing is no longer in force: file or renew a lease instead")
        raise InvalidInput(fields={"form": [message]})
