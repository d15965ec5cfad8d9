"""The two pledges 两书: the text in force, who signs, storing a signature, showing it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from registry.accounts.models import UserAccount
from registry.address.models import Address
from registry.audit.services import Action, record
from registry.constraints import checked, refuse
from registry.dwelling.models import Dwelling
from registry.dwelling.status import counts_as_signed
from registry.errors import InvalidInput, NotFound
from registry.flags.hooks import rechecks_flags
from registry.lease.changes import SIGNING_ROLES, require_role
from registry.lease.models import (
    LeaseFiling,
    LeaseStatus,
    LeaseTenant,
    PledgeDocument,
    PledgeKind,
    RentalPledge,
    SecurityGuarantee,
    SignerRole,
    SigningMethod,
    one_signature_name,
)
from registry.lease.people import ShownPerson, audit_person_views, shown_person
from registry.lease.signature import validate_signature_png
from registry.person.identity import IdentityCipher
from registry.person.services import same_name
from registry.scope import get_in_scope
from registry.setting.models import TYPED_SIGNATURE_COUNTS
from registry.setting.services import setting_enabled
from registry.validators import ValidationErrors, validate_name

PLEDGE_MODELS = {
    PledgeKind.RENTAL_PLEDGE: RentalPledge,
    PledgeKind.SECURITY_GUARANTEE: SecurityGuarantee,
}

# A double tap sends the same signature twice; the check in sign_pledge names the signer,
# and the database refuses what two requests arriving together both passed.
refuse(
    one_signature_name(RentalPledge.__tablename__),
    "signer",
    _l("This signer has already signed this version of the rental pledge"),
)
refuse(
    one_signature_name(SecurityGuarantee.__tablename__),
    "signer",
    _l("This signer has already signed this version of the security guarantee"),
)


@dataclass(frozen=True)
class ShownPledge:
    id: int
    kind: PledgeKind
    signer_name: str
    signer_role: SignerRole
    signed_at: datetime
    version: str
    has_image: bool
    signer_person_id: int
    document_id: int
    typed_name: str | None = None  # signed by typing the name instead of drawing
    witness: str | None = None  # the user who collected a typed signature
    counts: bool = True  # counts as signed (a typed one only if the setting says so)


def pledges_of(session: Session, filing_id: int) -> list[ShownPledge]:
    shown: list[ShownPledge] = []
    for kind, model in PLEDGE_MODELS.items():
        role = model.signer_role if model is SecurityGuarantee else None
        columns = [
            model.id,
            model.signer_name,
            model.signed_at,
            PledgeDocument.version,
            model.signature_png.is_not(None).label("has_image"),
            model.signer_person_id,
            model.pledge_document_id,
            model.typed_name,
            UserAccount.username.label("witness"),
            counts_as_signed(model).label("counts"),
        ]
        if role is not None:
            columns.append(role)
        rows = session.execute(
            select(*columns)
            .join(PledgeDocument, PledgeDocument.id == model.pledge_document_id)
            .outerjoin(UserAccount, UserAccount.id == model.collected_by_id)
            .where(model.lease_filing_id == filing_id)
            .order_by(model.signed_at, model.id)
        ).all()
        for row in rows:
            shown.append(
                ShownPledge(
                    row.id,
                    kind,
                    row.signer_name,
                    getattr(row, "signer_role", None) or SignerRole.LANDLORD,
                    row.signed_at,
                    row.version,
                    bool(row.has_image),
                    row.signer_person_id,
                    row.pledge_document_id,
                    row.typed_name,
                    row.witness if row.typed_name else None,
                    bool(row.counts),
                )
            )
    return shown


def pledge_kind(value: str) -> PledgeKind:
    """The pledge kind named in a URL; anything else is simply not found."""
    try:
        return PledgeKind(value)
    except ValueError:
        raise NotFound() from None


def current_pledge_document(session: Session, kind: PledgeKind, today: date):
    """The text version in force: the latest ``effective_from`` that is not after today."""
    return session.scalars(
        select(PledgeDocument)
        .where(PledgeDocument.kind == kind, PledgeDocument.effective_from <= today)
        .order_by(PledgeDocument.effective_from.desc(), PledgeDocument.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class Signer:
    key: str  # "landlord" or "tenant-<person id>"
    role: SignerRole
    person: ShownPerson


@dataclass
class SigningContext:
    filing: LeaseFiling
    address: str
    kind: PledgeKind
    document: PledgeDocument
    signers: list[Signer]
    signed: list[ShownPledge]
    problem: Any | None  # why the filing cannot be signed now, or None
    can_sign: bool
    typed_counts: bool = False  # the administrator's setting on typed signatures

    @property
    def signed_this_version(self) -> set[int]:
        """People who already signed the text in force for this filing."""
        return {p.signer_person_id for p in self.signed if p.document_id == self.document.id}

    @property
    def first_unsigned(self) -> str:
        """The signer to offer first: the first who has not signed this text yet."""
        done = self.signed_this_version
        pending = [s.key for s in self.signers if s.person.person_id not in done]
        return (pending or [self.signers[0].key])[0]


def _signers(
    session: Session, cipher: IdentityCipher, filing: LeaseFiling, kind: PledgeKind
) -> list[Signer]:
    signers = [Signer("landlord", SignerRole.LANDLORD, shown_person(cipher, filing.landlord))]
    if kind == PledgeKind.SECURITY_GUARANTEE:
        tenancies = session.scalars(
            select(LeaseTenant)
            .where(LeaseTenant.lease_filing_id == filing.id, LeaseTenant.removed_on.is_(None))
            .options(selectinload(LeaseTenant.person))
            .order_by(LeaseTenant.added_on, LeaseTenant.id)
        ).all()
        for tenancy in tenancies:
            signers.append(
                Signer(
                    f"tenant-{tenancy.person_id}",
                    SignerRole.TENANT,
                    shown_person(cipher, tenancy.person),
                )
            )
    return signers


def _signing_problem(filing: LeaseFiling, today: date):
    if filing.status == LeaseStatus.CANCELLED:
        return _l("This filing was cancelled: it takes no more signatures")
    if filing.status == LeaseStatus.ENDED_EARLY:
        return _l("This lease was ended early: it takes no more signatures")
    if filing.last_day < today:
        return _l("This filing has expired: renew it, then sign the pledges for the new term")
    return None


def signing_context(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    filing_id: int,
    kind: str | PledgeKind,
    today: date,
) -> SigningContext:
    """What the signing page shows: the text in force, who may sign, who signed already."""
    kind = pledge_kind(kind)
    filing = get_in_scope(session, actor, LeaseFiling, filing_id)
    document = current_pledge_document(session, kind, today)
    if document is None:
        raise NotFound(_l("No text of this pledge is in force yet: ask an administrator"))
    address = session.scalar(
        select(Address.full_text)
        .join(Dwelling, Dwelling.address_id == Address.id)
        .where(Dwelling.id == filing.dwelling_id)
    )
    signers = _signers(session, cipher, filing, kind)
    signed = [p for p in pledges_of(session, filing.id) if p.kind == kind]
    audit_person_views(session, actor, [s.person for s in signers])
    return SigningContext(
        filing=filing,
        address=address,
        kind=kind,
        document=document,
        signers=signers,
        signed=signed,
        problem=_signing_problem(filing, today),
        can_sign=actor.role in SIGNING_ROLES,
        typed_counts=setting_enabled(session, TYPED_SIGNATURE_COUNTS),
    )


@rechecks_flags
def sign_pledge(
    session: Session,
    actor: UserAccount,
    cipher: IdentityCipher,
    filing_id: int,
    kind: str | PledgeKind,
    *,
    signer_key: str | None,
    confirmed: bool,
    signature: bytes | None,
    today: date,
    now: datetime,
    method: str = SigningMethod.DRAWN,
    typed_name: str | None = None,
):
    """Store one signed pledge: the text version in force, the signer, the drawn image.

    A signer who cannot draw signs by typing their full name (as on the record) and ticking
    the confirmation box instead; the pledge records that it was typed, and the logged-in
    user who collected it is its witness. Whether a typed signature counts as signed is
    the administrator's setting (registry/setting, read by registry/dwelling/status.py).
    """
    kind = pledge_kind(kind)
    # Scope first: out of scope must look like "not found", whatever the role.
    filing = get_in_scope(session, actor, LeaseFiling, filing_id)
    require_role(actor, SIGNING_ROLES)
    problem = _signing_problem(filing, today)
    if problem is not None:
        raise InvalidInput(fields={"form": [problem]})
    document = current_pledge_document(session, kind, today)
    if document is None:
        raise NotFound(_l("No text of this pledge is in force yet: ask an administrator"))
    errors = ValidationErrors()
    signer = next((s for s in _signers(session, cipher, filing, kind) if s.key == signer_key), None)
    if signer is None:
        errors.add("signer", _l("Choose who signs"))
    if not confirmed:
        errors.add("confirm", _l("The signer must confirm having read the text"))
    typed = method == SigningMethod.TYPED
    if typed:
        signature = None
        typed_name = " ".join((typed_name or "").split())
        if not typed_name:
            errors.add("typed_name", _l("Type the signer's full name"))
        elif signer is not None and not same_name(signer.person.name, typed_name):
            errors.add("typed_name", _l("The typed name must be the chosen signer's full name"))
    else:
        with errors.collect():
            signature = validate_signature_png(signature)
    model = PLEDGE_MODELS[kind]
    if signer is not None:
        earlier = session.scalars(
            select(model).where(
                model.lease_filing_id == filing.id,
                model.signer_person_id == signer.person.person_id,
                model.pledge_document_id == document.id,
            )
        ).first()
        if earlier is not None:
            errors.add(
                "signer",
                _l("%(name)s has already signed this version of the text", name=signer.person.name),
            )
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    pledge = model(
        lease_filing_id=filing.id,
        pledge_document_id=document.id,
        signer_person_id=signer.person.person_id,
        signer_name=validate_name(signer.person.name),
        signed_at=now,
        signature_png=signature,
        signing_method=SigningMethod.TYPED if typed else SigningMethod.DRAWN,
        typed_name=typed_name if typed else None,
        collected_by_id=actor.id,
    )
    if model is SecurityGuarantee:
        pledge.signer_role = signer.role
    with checked(session):
        session.add(pledge)
    record(
        session,
        actor,
        Action.CREATE,
        model.__tablename__,
        pledge.id,
        {
            "lease_filing_id": [None, filing.id],
            "pledge_document": [None, f"{document.kind}/{document.version}"],
            "signer_person_id": [None, signer.person.person_id],
            "signer_role": [None, signer.role],
            "signed_at": [None, now],
            **(
                {
                    "signing_method": [None, SigningMethod.TYPED.value],
                    "typed_name": [None, typed_name],
                    "witness": [None, actor.username],
                }
                if typed
                else {"signature_sha256": [None, hashlib.sha256(signature).hexdigest()]}
            ),
        },
    )
    return pledge


def signature_image(
    session: Session, actor: UserAccount, kind: str | PledgeKind, pledge_id: int
) -> bytes:
    """The stored signature of a pledge whose filing is in scope; the view is audited."""
    kind = pledge_kind(kind)
    model = PLEDGE_MODELS[kind]
    pledge = session.get(model, pledge_id)
    if pledge is None:
        raise NotFound()
    get_in_scope(session, actor, LeaseFiling, pledge.lease_filing_id)
    image = pledge.signature_png
    if not image:
        raise NotFound()
    record(session, actor, Action.VIEW, model.__tablename__, pledge.id)
    return bytes(image)
