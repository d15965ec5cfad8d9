"""A grid worker asks a landlord with an account to file a dwelling's lease (to-do list).

Most landlords have no account: the worker then files on their behalf, the landlord
present to sign both pledges. Where the dwelling's landlord or property manager does have
one, the worker can instead put the filing on their to-do list with a note; filing any
lease for the dwelling closes the request.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from registry.accounts.models import Role, UserAccount
from registry.audit.services import Action, record
from registry.dwelling.models import Dwelling, managed_dwelling
from registry.errors import InvalidInput
from registry.lease.changes import require_role
from registry.lease.models import FilingRequest
from registry.scope import get_in_scope

NOTE_LENGTH = 500


def has_landlord_account(session: Session, dwelling_id: int) -> bool:
    """Whether somebody manages the dwelling in the registry (a landlord or a manager)."""
    return bool(
        session.scalar(select(exists().where(managed_dwelling.c.dwelling_id == dwelling_id)))
    )


def open_request(session: Session, dwelling_id: int) -> FilingRequest | None:
    """The dwelling's newest request that no filing has answered yet."""
    return session.scalar(
        select(FilingRequest)
        .where(FilingRequest.dwelling_id == dwelling_id, FilingRequest.lease_filing_id.is_(None))
        .order_by(FilingRequest.id.desc())
        .limit(1)
    )


def request_filing(
    session: Session, actor: UserAccount, dwelling_id: int, note: Any
) -> FilingRequest:
    """Put the dwelling's lease on its landlord's to-do list, with the worker's note."""
    require_role(actor, (Role.GRID_WORKER,))
    dwelling = get_in_scope(session, actor, Dwelling, dwelling_id)
    if not has_landlord_account(session, dwelling.id):
        message = _l("The landlord has no account: file the lease with the landlord present")
        raise InvalidInput(fields={"note": [message]})
    text = " ".join(unicodedata.normalize("NFC", str(note or "")).split())
    if len(text) > NOTE_LENGTH:
        raise InvalidInput(
            fields={"note": [_l("At most %(maximum)s characters", maximum=NOTE_LENGTH)]}
        )
    request = FilingRequest(dwelling_id=dwelling.id, requested_by_id=actor.id, note=text)
    session.add(request)
    session.flush()
    record(session, actor, Action.CREATE, "filing_request", request.id, {"note": [None, text]})
    return request


def close_filing_requests(session: Session, dwelling_id: int, filing_id: int) -> None:
    """A lease was filed for the dwelling: its open requests are answered by that filing."""
    session.execute(
        update(FilingRequest)
        .where(FilingRequest.dwelling_id == dwelling_id, FilingRequest.lease_filing_id.is_(None))
        .values(lease_filing_id=filing_id)
    )
