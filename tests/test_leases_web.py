"""The property manager's day through the real app on the demo district (PostGIS).

Each test runs in a transaction that is rolled back. The app's "today" is pinned to the
day the demo district was generated for, so current and expired filings are what the
generator made them.
"""

from __future__ import annotations

import base64
import html
import re
import struct
import zlib
from datetime import date, timedelta

import pytest
from babel.dates import format_date
from helpers import (
    DEMO_TODAY,
    audit_count,
    audit_entries,
    csrf_token_from,
    log_in,
    rented_unfiled_dwelling,
    resident_id_number,
    token_of,
)
from sqlalchemy import func, select, text

from registry.accounts.models import UserAccount
from registry.audit.models import AuditEntry
from registry.lease.models import (
    LeaseFiling,
    LeaseStatus,
    LeaseTenant,
    PledgeDocument,
    RentalPledge,
    SecurityGuarantee,
    SignerRole,
)
from registry.person.identity import mask_document_number
from registry.person.models import Person


@pytest.fixture
def manager(demo_app):
    return log_in(demo_app, "manager1")


# -- demo facts ----------------------------------------------------------------------------


def user_id(session, username: str) -> int:
    return session.scalar(select(UserAccount.id).where(UserAccount.username == username))


def managed_ids(session, username: str) -> list[int]:
    return list(
        session.scalars(
            text(
                "SELECT dwelling_id FROM managed_dwelling m JOIN user_account u ON u.id = m.user_id"
                " WHERE u.username = :u ORDER BY dwelling_id"
            ),
            {"u": username},
        )
    )


def current_filing(session, username: str) -> int:
    return session.scalar(
        text("""
        SELECT l.id FROM lease_filing l JOIN managed_dwelling m ON m.dwelling_id = l.dwelling_id
        JOIN user_account u ON u.id = m.user_id
        WHERE u.username = :u AND l.status = 'filed' AND l.starts_on <= :d AND l.ends_on >= :d
          AND NOT EXISTS (SELECT 1 FROM lease_filing n WHERE n.dwelling_id = l.dwelling_id
                          AND n.starts_on > :d)
        ORDER BY l.id LIMIT 1"""),
        {"u": username, "d": DEMO_TODAY},
    )


def filing_in_cell(session, username: str, inside: bool) -> int:
    """A current filing in (or outside) the grid worker's cells, with no guarantee yet."""
    return session.scalar(
        text(f"""
        SELECT l.id FROM lease_filing l JOIN dwelling d ON d.id = l.dwelling_id
        JOIN address a ON a.id = d.address_id
        WHERE l.status = 'filed' AND l.starts_on <= :d AND l.ends_on >= :d
          AND a.grid_cell_id {"" if inside else "NOT"} IN (
            SELECT w.grid_cell_id FROM grid_cell_worker w JOIN user_account u ON u.id = w.user_id
            WHERE u.username = :u)
          AND NOT EXISTS (SELECT 1 FROM security_guarantee g WHERE g.lease_filing_id = l.id)
        ORDER BY l.id LIMIT 1"""),
        {"u": username, "d": DEMO_TODAY},
    )


TENANT_A = ("测试租客甲", resident_id_number("19910304", "417"))
TENANT_B = ("测试租客乙", resident_id_number("19880612", "528"))
TENANT_C = ("测试租客丙", resident_id_number("19950101", "639"))


def png(width: int = 120, height: int = 40, ink: bool = True) -> bytes:
    """A real RGBA PNG: transparent, with a dark diagonal stroke when ``ink``."""
    rows = []
    for y in range(height):
        row = bytearray(width * 4)
        if ink:
            for x in range(width):
                if abs(x // 3 - y) <= 1:
                    row[x * 4 : x * 4 + 4] = b"\x11\x18\x27\xff"
        rows.append(b"\x00" + bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def lease_form(token: str, tenants, **overrides) -> dict:
    form = {
        "csrf_token": token,
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-10",
        "monthly_rent": "2500",
        "landlord_choice": "owner",
        "landlord-name": "",
        "landlord-document_type": "resident_id",
        "landlord-document_number": "",
        "landlord-phone": "",
        "save": "File the lease",
    }
    for i, (name, number) in enumerate(tenants):
        form[f"tenants-{i}-name"] = name
        form[f"tenants-{i}-document_type"] = "resident_id"
        form[f"tenants-{i}-document_number"] = number
        form[f"tenants-{i}-phone"] = ""
    form.update(overrides)
    return form


def page(client, url: str):
    response = client.get(url)
    return response, response.get_data(as_text=True)


def signing(page_html: str, signer: str = "landlord", signature: str | None = None) -> dict:
    """The pledge form of ``page_html`` filled in: confirmed, signed with a drawn PNG."""
    return {
        "csrf_token": csrf_token_from(page_html),
        "signer": signer,
        "confirm": "y",
        "signature": data_url(png()) if signature is None else signature,
    }


def end_early(client, filing: LeaseFiling, ended_on: str, confirm: bool = True):
    """Send the filing page's "end the lease early" form, and confirm the date the next page
    asks about (unless ``confirm`` is False); returns (filing page html, last response)."""
    _response, body = page(client, f"/leases/filings/{filing.id}")
    url = f"/leases/filings/{filing.id}/end"
    data = {"csrf_token": csrf_token_from(body), "version": filing.version, "ended_on": ended_on}
    response = client.post(url, data=data)
    if confirm and response.status_code == 200:
        assert 'name="confirmed" value="yes"' in response.get_data(as_text=True)
        response = client.post(url, data={**data, "confirmed": "yes"})
    return body, response


def pledge_with_signature(session, username: str) -> RentalPledge:
    """A rental pledge on a dwelling of ``username``, its stored signature a real PNG."""
    pledge = session.scalars(
        select(RentalPledge)
        .join(LeaseFiling, LeaseFiling.id == RentalPledge.lease_filing_id)
        .where(LeaseFiling.dwelling_id.in_(managed_ids(session, username)))
    ).first()
    pledge.signature_png = png()
    session.flush()
    return pledge


# -- the day's journey ---------------------------------------------------------------------


def test_manager_day_file_tenants_sign_remind_renew(manager, demo_db):
    dwelling_id = rented_unfiled_dwelling(demo_db, "manager1")
    assert dwelling_id is not None

    response, body = page(manager, "/leases/")
    assert response.status_code == 200
    assert "My dwellings" in body

    response, body = page(manager, "/leases/?show=attention")
    assert f"/leases/dwellings/{dwelling_id}" in body
    response, body = page(manager, f"/leases/dwellings/{dwelling_id}")
    assert response.status_code == 200 and "Not filed" in body

    # The form gives a second tenant row without losing what was typed.
    response, body = page(manager, f"/leases/dwellings/{dwelling_id}/file")
    assert response.status_code == 200
    token = csrf_token_from(body)
    more = lease_form(token, [TENANT_A], add_row="Add another tenant")
    del more["save"]
    response = manager.post(f"/leases/dwellings/{dwelling_id}/file", data=more)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="tenants-1-name"' in body and TENANT_A[1] not in body  # kept sealed
    assert mask_document_number(TENANT_A[1]) in body

    audit_before = demo_db.scalar(select(func.count()).select_from(AuditEntry))
    response = manager.post(
        f"/leases/dwellings/{dwelling_id}/file", data=lease_form(token, [TENANT_A, TENANT_B])
    )
    assert response.status_code == 302, re.findall(
        r'class="(?:error|flash error)"[^>]*>([^<]*)', response.get_data(as_text=True)
    )
    filing = demo_db.scalars(
        select(LeaseFiling).where(LeaseFiling.dwelling_id == dwelling_id)
    ).one()
    assert response.headers["Location"].endswith(f"/leases/filings/{filing.id}")
    assert re.fullmatch(r"\d{6}-\d{8}", filing.filing_number)
    assert filing.filed_by_id == user_id(demo_db, "manager1")
    assert (filing.starts_on, filing.ends_on, str(filing.monthly_rent)) == (
        date(2026, 1, 1),
        date(2026, 12, 10),
        "2500.00",
    )
    tenants = demo_db.scalars(
        select(LeaseTenant).where(LeaseTenant.lease_filing_id == filing.id)
    ).all()
    assert sorted(t.person.name for t in tenants) == sorted([TENANT_A[0], TENANT_B[0]])
    assert audit_count(demo_db, "lease_filing", filing.id, "create") == 1
    assert audit_count(demo_db, "lease_tenant", action="create") >= 2
    created = demo_db.scalars(
        select(AuditEntry).where(AuditEntry.id > 0).order_by(AuditEntry.id.desc()).limit(10)
    ).all()
    assert all(TENANT_A[1] not in str(entry.changes) for entry in created)
    assert demo_db.scalar(select(func.count()).select_from(AuditEntry)) > audit_before

    # The filing page shows the tenants with masked documents; every person view is audited.
    views_before = audit_count(demo_db, "person", action="view")
    response, body = page(manager, f"/leases/filings/{filing.id}")
    assert response.status_code == 200
    assert TENANT_A[0] in body and TENANT_B[0] in body
    assert TENANT_A[1] not in body and TENANT_A[1][:6] + "********" in body
    assert (
        audit_count(demo_db, "person", action="view") >= views_before + 3
    )  # landlord and two tenants

    # Add a third tenant, then remove one: the removed tenancy stays as history.
    version = filing.version
    token = csrf_token_from(body)
    response = manager.post(
        f"/leases/filings/{filing.id}/tenants",
        data={
            "csrf_token": token,
            "version": version,
            "name": TENANT_C[0],
            "document_type": "resident_id",
            "document_number": TENANT_C[1],
            "phone": "13812345678",
        },
    )
    assert response.status_code == 302
    demo_db.expire_all()
    assert filing.version == version + 1
    third = demo_db.scalars(
        select(LeaseTenant)
        .join(Person, Person.id == LeaseTenant.person_id)
        .where(LeaseTenant.lease_filing_id == filing.id, Person.name == TENANT_C[0])
    ).one()
    assert third.added_on == DEMO_TODAY

    response = manager.post(
        f"/leases/filings/{filing.id}/tenants/{third.id}/remove",
        data={"csrf_token": token, "version": filing.version},
    )
    assert response.status_code == 302
    demo_db.expire_all()
    assert third.removed_on == DEMO_TODAY
    assert audit_count(demo_db, "lease_tenant", third.id, "update") == 1
    assert demo_db.scalar(select(func.count()).where(LeaseTenant.lease_filing_id == filing.id)) == 3
    again = manager.post(
        f"/leases/filings/{filing.id}/tenants/{third.id}/remove",
        data={"csrf_token": token, "version": filing.version},
    )
    assert again.status_code == 422
    assert "This tenant was already removed" in again.get_data(as_text=True)
    response, body = page(manager, f"/leases/filings/{filing.id}")
    assert "Former tenants (1)" in body

    # Sign both pledges: the landlord the rental pledge, a tenant the security guarantee.
    response, body = page(manager, f"/leases/filings/{filing.id}/pledges/rental_pledge/sign")
    assert response.status_code == 200
    current_text = demo_db.scalars(
        select(PledgeDocument)
        .where(PledgeDocument.kind == "rental_pledge", PledgeDocument.effective_from <= DEMO_TODAY)
        .order_by(PledgeDocument.effective_from.desc())
    ).first()
    assert current_text.body[:20] in body
    assert "signature_pad.umd.min.js" in body and 'id="signature-canvas"' in body
    signature = png()
    response = manager.post(
        f"/leases/filings/{filing.id}/pledges/rental_pledge/sign",
        data=signing(body, signature=data_url(signature)),
    )
    assert response.status_code == 302
    pledge = demo_db.scalars(
        select(RentalPledge).where(RentalPledge.lease_filing_id == filing.id)
    ).one()
    assert bytes(pledge.signature_png) == signature
    assert pledge.pledge_document_id == current_text.id
    assert pledge.collected_by_id == user_id(demo_db, "manager1")
    assert pledge.signer_person_id == filing.landlord_person_id
    assert pledge.signed_at is not None
    assert audit_count(demo_db, "rental_pledge", pledge.id, "create") == 1

    tenant_a = demo_db.scalar(select(Person.id).where(Person.name == TENANT_A[0]))
    response, body = page(manager, f"/leases/filings/{filing.id}/pledges/security_guarantee/sign")
    assert f'value="tenant-{tenant_a}"' in body
    response = manager.post(
        f"/leases/filings/{filing.id}/pledges/security_guarantee/sign",
        data=signing(body, f"tenant-{tenant_a}", data_url(signature)),
    )
    assert response.status_code == 302
    guarantee = demo_db.scalars(
        select(SecurityGuarantee).where(SecurityGuarantee.lease_filing_id == filing.id)
    ).one()
    assert guarantee.signer_role == SignerRole.TENANT and guarantee.signer_name == TENANT_A[0]

    # The stored signature is served back as an image, and that view is audited.
    image = manager.get(f"/leases/pledges/rental_pledge/{pledge.id}/signature.png")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data == signature
    assert audit_count(demo_db, "rental_pledge", pledge.id, "view") == 1

    # The filing ends within 30 days: the to-do list says so and offers the renewal.
    response, body = page(manager, "/leases/reminders")
    assert f"/leases/filings/{filing.id}/renew" in body
    assert "The lease ends within 30 days" in body

    # Renew: the new filing follows the old one and keeps the tenants who stay.
    response, body = page(manager, f"/leases/filings/{filing.id}/renew")
    assert 'value="2026-12-11"' in body
    kept = demo_db.scalars(
        select(LeaseTenant.id).where(
            LeaseTenant.lease_filing_id == filing.id, LeaseTenant.removed_on.is_(None)
        )
    ).all()
    renewal = lease_form(
        csrf_token_from(body),
        [],
        starts_on="2026-12-11",
        ends_on="2027-12-10",
        monthly_rent="2600",
        landlord_choice="previous",
    )
    renewal["keep_tenants"] = [str(i) for i in kept]
    response = manager.post(f"/leases/filings/{filing.id}/renew", data=renewal)
    assert response.status_code == 302, response.get_data(as_text=True)
    new = demo_db.scalars(
        select(LeaseFiling).where(
            LeaseFiling.dwelling_id == dwelling_id, LeaseFiling.id != filing.id
        )
    ).one()
    assert new.starts_on == date(2026, 12, 11) and new.filing_number != filing.filing_number
    assert new.landlord_person_id == filing.landlord_person_id
    assert {t.person_id for t in new.tenancies} == {
        t.person_id for t in filing.tenancies if t.removed_on is None
    }
    demo_db.refresh(filing)
    assert filing.status == LeaseStatus.FILED and filing.ends_on == date(2026, 12, 10)
    response, body = page(manager, "/leases/reminders")
    assert f"/leases/filings/{filing.id}/renew" not in body


def test_end_early_sets_status_and_date_and_is_audited(manager, demo_db):
    filing_id = current_filing(demo_db, "manager1")
    filing = demo_db.get(LeaseFiling, filing_id)
    body, response = end_early(manager, filing, "2026-11-20")
    assert "End the lease early" in body
    assert response.status_code == 302
    demo_db.refresh(filing)
    assert filing.status == LeaseStatus.ENDED_EARLY
    assert filing.ended_on == date(2026, 11, 20)
    (entry,) = audit_entries(demo_db, "lease_filing", filing_id)
    assert entry.action == "update"
    assert entry.changes["status"] == ["filed", "ended_early"]
    response, body = page(manager, f"/leases/dwellings/{filing.dwelling_id}")
    assert "Ended early" in body


def test_end_early_refuses_a_future_date_with_the_field_error(manager, demo_db):
    filing = demo_db.get(LeaseFiling, current_filing(demo_db, "manager1"))
    _page, response = end_early(manager, filing, "2026-11-30")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The end date cannot be in the future" in body
    assert 'value="2026-11-30"' in body
    demo_db.refresh(filing)
    assert filing.status == LeaseStatus.FILED


# -- validation ----------------------------------------------------------------------------


def test_invalid_lease_keeps_every_input_and_says_which_field(manager, demo_db):
    dwelling_id = rented_unfiled_dwelling(demo_db, "manager1")
    response, body = page(manager, f"/leases/dwellings/{dwelling_id}/file")
    bad_number = TENANT_B[1][:-1] + ("0" if TENANT_B[1][-1] != "0" else "1")
    form = lease_form(
        csrf_token_from(body),
        [TENANT_A, ("测试租客乙", bad_number)],
        starts_on="2026-12-01",
        ends_on="2026-11-01",
        monthly_rent="-5",
        landlord_choice="other",
        **{"landlord-name": "外来房东", "landlord-document_number": "12345"},
    )
    persons_before = demo_db.scalar(select(func.count()).select_from(Person))
    response = manager.post(f"/leases/dwellings/{dwelling_id}/file", data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The end date must be after the start date" in body
    assert "The rent cannot be negative" in body
    assert "Check digit is wrong" in body or "Must be 18 characters" in body
    assert "Must be 18 characters" in body  # the landlord's short number
    # Everything typed is still there, tenant rows included; numbers sealed and masked.
    for value in ("2026-12-01", "2026-11-01", "-5", "外来房东", TENANT_A[0]):
        assert f'value="{value}"' in body, value
    for number in ("12345", TENANT_A[1], bad_number):
        assert f'value="{number}"' not in body, number
        assert len(number) < 18 or number not in body, number
        assert mask_document_number(number) in body, number
    assert body.count('-document_number-sealed" value="') == 3
    assert 'id="landlord_choice-other" checked' in body
    # The error sits on the second tenant row's number, not on the first.
    second_row = body[body.index('name="tenants-1-document_number"') - 400 :]
    assert "has-error" in second_row[:400]
    # Nothing was written.
    assert demo_db.scalar(select(func.count()).where(LeaseFiling.dwelling_id == dwelling_id)) == 0
    assert demo_db.scalar(select(func.count()).select_from(Person)) == persons_before


def test_a_lease_needs_a_tenant_and_may_not_overlap_the_current_one(manager, demo_db):
    filing_id = current_filing(demo_db, "manager1")
    filing = demo_db.get(LeaseFiling, filing_id)
    response, body = page(manager, f"/leases/dwellings/{filing.dwelling_id}/file")
    form = lease_form(
        csrf_token_from(body),
        [],
        starts_on=DEMO_TODAY.isoformat(),
        ends_on="2027-06-30",
        landlord_choice="owner",
    )
    response = manager.post(f"/leases/dwellings/{filing.dwelling_id}/file", data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter at least one tenant" in body
    assert f"The term overlaps filing {filing.filing_number}" in body


def test_blank_or_non_png_signatures_are_refused(manager, demo_db):
    filing_id = current_filing(demo_db, "manager1")
    url = f"/leases/filings/{filing_id}/pledges/rental_pledge/sign"
    before = demo_db.scalar(select(func.count()).where(RentalPledge.lease_filing_id == filing_id))
    for signature, message in (
        (data_url(png(ink=False)), "The signature is blank"),
        (data_url(b"GIF89a" + b"\x00" * 40), "The signature is not a PNG image"),
        (data_url(png()[:-20]), "The signature is not a valid PNG image"),
        ("", "Draw the signature in the box"),
    ):
        response, body = page(manager, url)
        response = manager.post(
            url,
            data=signing(body, signature=signature),
        )
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    response, body = page(manager, url)
    response = manager.post(
        url,
        data={
            "csrf_token": csrf_token_from(body),
            "signer": "nobody",
            "signature": data_url(png()),
        },
    )
    body = response.get_data(as_text=True)
    assert "Choose who signs" in body
    assert "The signer must confirm having read the text" in body
    assert data_url(png()) in body  # the drawn signature comes back to the pad
    assert demo_db.scalar(
        select(func.count()).where(RentalPledge.lease_filing_id == filing_id)
    ) == (before)


# -- scope ---------------------------------------------------------------------------------


def _assert_locked_out(client, session, filing_id: int, dwelling_id: int) -> None:
    filing = session.get(LeaseFiling, filing_id)
    version, status = filing.version, filing.status
    tenants = session.scalar(select(func.count()).where(LeaseTenant.lease_filing_id == filing_id))
    pledges = session.scalar(select(func.count()).where(RentalPledge.lease_filing_id == filing_id))
    for url in (
        f"/leases/dwellings/{dwelling_id}",
        f"/leases/dwellings/{dwelling_id}/file",
        f"/leases/filings/{filing_id}",
        f"/leases/filings/{filing_id}/edit",
        f"/leases/filings/{filing_id}/renew",
        f"/leases/filings/{filing_id}/pledges/rental_pledge/sign",
        f"/leases/filings/{filing_id}/pledges/security_guarantee/sign",
    ):
        assert client.get(url).status_code == 404, url
    own = client.get("/leases/reminders").get_data(as_text=True)
    token = csrf_token_from(own)
    for url, data in (
        (f"/leases/filings/{filing_id}/end", {"ended_on": DEMO_TODAY.isoformat()}),
        (
            f"/leases/filings/{filing_id}/tenants",
            {"name": TENANT_C[0], "document_type": "resident_id", "document_number": TENANT_C[1]},
        ),
        (
            f"/leases/filings/{filing_id}/edit",
            {"starts_on": "2020-01-01", "ends_on": "2020-12-31", "monthly_rent": "1"},
        ),
        (f"/leases/filings/{filing_id}/renew", lease_form(token, [TENANT_C])),
        (f"/leases/dwellings/{dwelling_id}/file", lease_form(token, [TENANT_C])),
        (
            f"/leases/filings/{filing_id}/pledges/rental_pledge/sign",
            {"signer": "landlord", "confirm": "y", "signature": data_url(png())},
        ),
    ):
        response = client.post(url, data={"csrf_token": token, "version": version, **data})
        assert response.status_code == 404, url
    session.expire_all()
    filing = session.get(LeaseFiling, filing_id)
    assert (filing.version, filing.status) == (version, status)
    assert session.scalar(select(func.count()).where(LeaseTenant.lease_filing_id == filing_id)) == (
        tenants
    )
    assert session.scalar(
        select(func.count()).where(RentalPledge.lease_filing_id == filing_id)
    ) == (pledges)
    assert session.scalar(select(func.count()).where(LeaseFiling.dwelling_id == dwelling_id)) >= 1


def test_manager_and_landlord_cannot_reach_each_others_dwellings(demo_app, demo_db):
    assert not set(managed_ids(demo_db, "manager1")) & set(managed_ids(demo_db, "landlord1"))
    landlords_filing = current_filing(demo_db, "landlord1")
    managers_filing = current_filing(demo_db, "manager1")
    assert landlords_filing and managers_filing
    manager = log_in(demo_app, "manager1")
    landlord = log_in(demo_app, "landlord1")
    _assert_locked_out(
        manager, demo_db, landlords_filing, demo_db.get(LeaseFiling, landlords_filing).dwelling_id
    )
    _assert_locked_out(
        landlord, demo_db, managers_filing, demo_db.get(LeaseFiling, managers_filing).dwelling_id
    )
    # Their own lists hold only their own dwellings.
    body = landlord.get("/leases/").get_data(as_text=True)
    listed = {int(i) for i in re.findall(r"/leases/dwellings/(\d+)", body)}
    assert listed and listed <= set(managed_ids(demo_db, "landlord1"))


def test_signature_image_is_only_served_in_scope(demo_app, demo_db):
    pledge = pledge_with_signature(demo_db, "manager1")
    manager = log_in(demo_app, "manager1")
    landlord = log_in(demo_app, "landlord1")
    assert (
        manager.get(f"/leases/pledges/rental_pledge/{pledge.id}/signature.png").status_code == 200
    )
    assert landlord.get(f"/leases/pledges/rental_pledge/{pledge.id}/signature.png").status_code == (
        404
    )
    assert manager.get("/leases/pledges/rental_pledge/999999/signature.png").status_code == 404


def test_grid_worker_collects_signatures_in_their_cell_only(demo_app, demo_db):
    inside = filing_in_cell(demo_db, "grid0001", inside=True)
    outside = filing_in_cell(demo_db, "grid0001", inside=False)
    worker = log_in(demo_app, "grid0001")
    response, body = page(worker, f"/leases/filings/{inside}/pledges/security_guarantee/sign")
    assert response.status_code == 200 and 'id="signature-canvas"' in body
    response = worker.post(
        f"/leases/filings/{inside}/pledges/security_guarantee/sign",
        data=signing(body),
    )
    assert response.status_code == 302
    dwelling_id = demo_db.get(LeaseFiling, inside).dwelling_id
    assert response.headers["Location"] == f"/cells/dwellings/{dwelling_id}"  # back in the cell
    stored = demo_db.scalars(
        select(SecurityGuarantee)
        .where(SecurityGuarantee.lease_filing_id == inside)
        .order_by(SecurityGuarantee.id.desc())
    ).first()
    assert stored.collected_by_id == user_id(demo_db, "grid0001")
    assert worker.get(f"/leases/filings/{outside}/pledges/rental_pledge/sign").status_code == 404
    response = worker.post(
        f"/leases/filings/{outside}/pledges/rental_pledge/sign",
        data=signing(body),
    )
    assert response.status_code == 404
    # The manager's lists are not theirs; the filings in their cells they may keep.
    assert worker.get("/leases/").status_code == 404
    assert worker.get(f"/leases/filings/{inside}/edit").status_code == 200
    assert worker.get(f"/leases/filings/{outside}/edit").status_code == 404


def test_officer_reads_the_pledge_page_but_cannot_sign(demo_app, demo_db):
    filing_id = demo_db.scalar(
        text("""
        SELECT l.id FROM lease_filing l JOIN dwelling d ON d.id = l.dwelling_id
        JOIN address a ON a.id = d.address_id JOIN community c ON c.id = a.community_id
        JOIN user_account u ON u.police_station_id = c.police_station_id
        WHERE u.username = 'officer1' AND l.status = 'filed' AND l.ends_on >= :d
        ORDER BY l.id LIMIT 1"""),
        {"d": DEMO_TODAY},
    )
    officer = log_in(demo_app, "officer1")
    response, body = page(officer, f"/leases/filings/{filing_id}/pledges/rental_pledge/sign")
    assert response.status_code == 200
    assert 'id="signature-canvas"' not in body
    response = officer.post(
        f"/leases/filings/{filing_id}/pledges/rental_pledge/sign",
        data=signing(body),
    )
    assert response.status_code == 403
    assert officer.get(f"/leases/filings/{filing_id}").status_code == 200


# -- concurrent edits ----------------------------------------------------------------------


def test_stale_edit_shows_the_conflict_page_and_changes_nothing(demo_app, demo_db):
    filing_id = current_filing(demo_db, "manager1")
    first = log_in(demo_app, "manager1")
    second = log_in(demo_app, "manager1")
    response, body = page(first, f"/leases/filings/{filing_id}/edit")
    seen = demo_db.get(LeaseFiling, filing_id).version
    token = csrf_token_from(body)
    original_end = demo_db.get(LeaseFiling, filing_id).ends_on

    # Someone else corrects the rent meanwhile.
    response, other = page(second, f"/leases/filings/{filing_id}/edit")
    filing = demo_db.get(LeaseFiling, filing_id)
    response = second.post(
        f"/leases/filings/{filing_id}/edit",
        data={
            "csrf_token": csrf_token_from(other),
            "version": seen,
            "starts_on": filing.starts_on.isoformat(),
            "ends_on": original_end.isoformat(),
            "monthly_rent": "1234.50",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]

    response = first.post(
        f"/leases/filings/{filing_id}/edit",
        data={
            "csrf_token": token,
            "version": seen,
            "starts_on": filing.starts_on.isoformat(),
            "ends_on": "2027-02-28",
            "monthly_rent": "999",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Your input" in body or "你的输入" in body or "Saved meanwhile" in body
    assert "1234.50" in body and "2027-02-28" in body
    demo_db.expire_all()
    filing = demo_db.get(LeaseFiling, filing_id)
    assert str(filing.monthly_rent) == "1234.50" and filing.ends_on == original_end

    # Saving again from the conflict page (it carries the newer version) goes through.
    resend = {
        "csrf_token": csrf_token_from(body),
        "version": [str(seen), str(filing.version)],
        "starts_on": filing.starts_on.isoformat(),
        "ends_on": "2027-02-28",
        "monthly_rent": "999",
    }
    response = first.post(f"/leases/filings/{filing_id}/edit", data=resend)
    assert response.status_code == 302
    demo_db.expire_all()
    assert demo_db.get(LeaseFiling, filing_id).ends_on == date(2027, 2, 28)


def test_stale_tenant_removal_is_refused(manager, demo_db):
    filing_id = current_filing(demo_db, "manager1")
    filing = demo_db.get(LeaseFiling, filing_id)
    tenancy = demo_db.scalars(
        select(LeaseTenant).where(
            LeaseTenant.lease_filing_id == filing_id, LeaseTenant.removed_on.is_(None)
        )
    ).first()
    assert tenancy is not None
    response, body = page(manager, f"/leases/filings/{filing_id}")
    response = manager.post(
        f"/leases/filings/{filing_id}/tenants/{tenancy.id}/remove",
        data={"csrf_token": csrf_token_from(body), "version": filing.version - 1},
    )
    assert response.status_code == 409
    demo_db.refresh(tenancy)
    assert tenancy.removed_on is None


def test_a_save_that_loses_the_race_after_its_check_gets_the_conflict_page(
    manager, demo_db, monkeypatch
):
    """StaleDataError (the UPDATE matched no row) is shown like any other conflict."""
    from sqlalchemy.orm.exc import StaleDataError

    from registry.lease import filings

    def lose_the_race(*args, **kwargs):
        raise StaleDataError("UPDATE statement on table 'lease_filing' expected to update 1 row")

    monkeypatch.setattr(filings, "end_lease_early", lose_the_race)
    filing_id = current_filing(demo_db, "manager1")
    filing = demo_db.get(LeaseFiling, filing_id)
    _page, response = end_early(manager, filing, "2026-11-20")
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    # The input goes back as typed; both columns show dates and the status as people read them.
    assert '<input type="hidden" name="ended_on" value="2026-11-20">' in body
    assert f"<td>{format_date(date(2026, 11, 20), locale='en')}</td>" in body
    assert f"<td>{format_date(filing.ends_on, locale='en')}</td>" in body
    assert "<td>Filed</td>" in body and "<td>filed</td>" not in body
    # The conflict page's "reload" link is a GET of the same address: back to the filing.
    assert manager.get(f"/leases/filings/{filing_id}/end").status_code == 302


def test_signature_images_are_not_cached_or_sniffed(manager, demo_db):
    pledge = pledge_with_signature(demo_db, "manager1")
    response = manager.get(f"/leases/pledges/rental_pledge/{pledge.id}/signature.png")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert (
        manager.get(f"/leases/pledges/security_guarantee/{pledge.id}x/signature.png").status_code
        == 404
    )


def test_tenant_and_correction_errors_keep_the_input(manager, demo_db):
    filing_id = current_filing(demo_db, "manager1")
    filing = demo_db.get(LeaseFiling, filing_id)
    response, body = page(manager, f"/leases/filings/{filing_id}")
    token = csrf_token_from(body)
    response = manager.post(
        f"/leases/filings/{filing_id}/tenants",
        data={
            "csrf_token": token,
            "version": filing.version,
            "name": "新租客",
            "document_type": "passport",
            "document_number": "E1",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Must be 5 to 17 letters and digits" in body
    assert 'value="新租客"' in body and 'value="E1"' not in body
    assert 'name="document_number-sealed"' in body
    assert '<option selected value="passport">' in body

    response = manager.post(
        f"/leases/filings/{filing_id}/edit",
        data={
            "csrf_token": token,
            "version": filing.version,
            "starts_on": "2026-13-01",
            "ends_on": filing.ends_on.isoformat(),
            "monthly_rent": "12.345",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Not a valid date" in body and "At most two decimal places" in body
    assert 'value="2026-13-01"' in body and 'value="12.345"' in body
    assert f'name="version" value="{filing.version}"' in body
    demo_db.expire_all()
    assert demo_db.get(LeaseFiling, filing_id).version == filing.version


def test_a_failed_tenant_or_end_date_is_summarised_at_the_top(manager, demo_db):
    filing = demo_db.get(LeaseFiling, current_filing(demo_db, "manager1"))
    response, body = page(manager, f"/leases/filings/{filing.id}")
    response = manager.post(
        f"/leases/filings/{filing.id}/tenants",
        data={
            "csrf_token": csrf_token_from(body),
            "version": filing.version,
            "name": "新租客",
            "document_type": "passport",
            "document_number": "E1",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = re.search(r'<div class="flash error error-summary" role="alert".*?</div>', body, re.S)
    assert summary, "no error summary"
    assert body.index(summary.group(0)) < body.index('id="pledges"')  # before the sections
    assert re.search(
        r'<a href="#document_number">Document number: Must be 5 to 17 letters and digits',
        summary.group(0),
    )
    assert 'id="document_number"' in body  # the link leads to the field

    # Ending the lease before it started: the summary links the date, the message shows the
    # start date in the reader's locale.
    day = filing.starts_on - timedelta(days=3)
    _page, response = end_early(manager, filing, day.isoformat())
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = re.search(r'<div class="flash error error-summary" role="alert".*?</div>', body, re.S)
    assert summary and 'href="#ended_on"' in summary.group(0)
    start = format_date(filing.starts_on, locale="en")
    assert f"The lease cannot end before it starts ({start})" in html.unescape(body)
    assert f"({filing.starts_on.isoformat()})" not in body


def test_dates_in_messages_follow_the_language(demo_app, demo_db):
    manager = log_in(demo_app, "manager1", lang="zh_CN")
    filing = demo_db.get(LeaseFiling, current_filing(demo_db, "manager1"))
    _page, response = end_early(manager, filing, (filing.starts_on - timedelta(days=1)).isoformat())
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    start = filing.starts_on
    assert f"租约不能早于起租日（{start.year}年{start.month}月{start.day}日）终止" in body


def test_removing_a_tenant_takes_a_second_confirming_tap(manager, demo_db):
    filing_id = current_filing(demo_db, "manager1")
    tenancy = demo_db.scalars(
        select(LeaseTenant).where(
            LeaseTenant.lease_filing_id == filing_id, LeaseTenant.removed_on.is_(None)
        )
    ).first()
    response, body = page(manager, f"/leases/filings/{filing_id}")
    action = f"/leases/filings/{filing_id}/tenants/{tenancy.id}/remove"
    confirm = re.search(r'<details class="confirm">(?:(?!</details>).)*</details>', body, re.S)
    assert confirm, "no confirmation step"
    step = confirm.group(0)
    # The first tap opens the question; the submit button that removes is inside it.
    assert re.search(r"<summary[^>]*>Remove</summary>", step)
    assert f'action="{action}"' in step
    assert f"Yes, remove {tenancy.person.name}" in html.unescape(step)
    forms = re.findall(r'<form method="post" action="[^"]*/remove"', body)
    assert len(forms) == body.count('<details class="confirm">')


# -- ending early asks first; a filing not begun can be cancelled -------------------------


def test_ending_early_asks_first_showing_the_date(manager, demo_db):
    filing = demo_db.get(LeaseFiling, current_filing(demo_db, "manager1"))
    version = filing.version
    _body, asked = end_early(manager, filing, "2026-11-20", confirm=False)
    assert asked.status_code == 200
    question = asked.get_data(as_text=True)
    shown = format_date(date(2026, 11, 20), format="full", locale="en")
    assert shown in question and filing.filing_number in question
    assert 'name="confirmed" value="yes"' in question
    assert "No, keep the lease" in question
    demo_db.refresh(filing)
    assert filing.status == LeaseStatus.FILED and filing.version == version  # nothing yet
    assert not audit_entries(demo_db, "lease_filing", filing.id)


def test_the_question_refuses_a_bad_date_beside_the_field(manager, demo_db):
    filing = demo_db.get(LeaseFiling, current_filing(demo_db, "manager1"))
    _body, response = end_early(manager, filing, "2026-13-40", confirm=False)
    assert response.status_code == 422
    assert 'value="2026-13-40"' in response.get_data(as_text=True)


def file_future_lease(client, session, starts_on: date) -> LeaseFiling:
    """File a lease through the form for a rented, unfiled dwelling of manager1, from
    ``starts_on``; returns the filing."""
    dwelling_id = rented_unfiled_dwelling(session, "manager1")
    token = token_of(client, f"/leases/dwellings/{dwelling_id}/file")
    form = lease_form(
        token,
        [TENANT_A],
        starts_on=starts_on.isoformat(),
        ends_on=(starts_on + timedelta(days=364)).isoformat(),
    )
    response = client.post(f"/leases/dwellings/{dwelling_id}/file", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return session.scalars(select(LeaseFiling).where(LeaseFiling.dwelling_id == dwelling_id)).one()


def cancel(client, filing: LeaseFiling, reason: str):
    body = client.get(f"/leases/filings/{filing.id}").get_data(as_text=True)
    return client.post(
        f"/leases/filings/{filing.id}/cancel",
        data={"csrf_token": csrf_token_from(body), "version": filing.version, "reason": reason},
    )


def test_a_filing_not_begun_is_cancelled_with_a_reason_and_frees_its_days(manager, demo_db):
    filing = file_future_lease(manager, demo_db, DEMO_TODAY + timedelta(days=10))
    page_html = manager.get(f"/leases/filings/{filing.id}").get_data(as_text=True)
    assert "Cancel this filing" in page_html and "End the lease early" not in page_html

    refused = cancel(manager, filing, "   ")
    assert refused.status_code == 422
    assert "Say why the filing is cancelled" in refused.get_data(as_text=True)

    response = cancel(manager, filing, "The tenant withdrew before moving in")
    assert response.status_code == 302
    demo_db.refresh(filing)
    assert filing.status == LeaseStatus.CANCELLED
    assert filing.cancelled_reason == "The tenant withdrew before moving in"
    entry = audit_entries(demo_db, "lease_filing", filing.id)[-1]
    assert entry.changes["status"] == ["filed", "cancelled"]
    shown = manager.get(f"/leases/filings/{filing.id}").get_data(as_text=True)
    assert "Cancelled" in shown and "The tenant withdrew before moving in" in shown

    # It holds no term: the same days can be filed again, and it takes no signatures.
    again = file_future_lease_again(manager, demo_db, filing)
    assert again.starts_on == filing.starts_on
    sign = manager.get(f"/leases/filings/{filing.id}/pledges/rental_pledge/sign")
    assert "This filing was cancelled" in sign.get_data(as_text=True)


def file_future_lease_again(client, session, cancelled: LeaseFiling) -> LeaseFiling:
    token = token_of(client, f"/leases/dwellings/{cancelled.dwelling_id}/file")
    form = lease_form(
        token,
        [TENANT_B],
        starts_on=cancelled.starts_on.isoformat(),
        ends_on=cancelled.ends_on.isoformat(),
    )
    response = client.post(f"/leases/dwellings/{cancelled.dwelling_id}/file", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return session.scalars(
        select(LeaseFiling).where(
            LeaseFiling.dwelling_id == cancelled.dwelling_id, LeaseFiling.id != cancelled.id
        )
    ).one()


def test_a_filing_that_has_begun_cannot_be_cancelled(manager, demo_db):
    filing = demo_db.get(LeaseFiling, current_filing(demo_db, "manager1"))
    assert "Cancel this filing" not in manager.get(f"/leases/filings/{filing.id}").get_data(
        as_text=True
    )
    response = cancel(manager, filing, "changed my mind")
    assert response.status_code == 422
    assert "Only a filing whose term has not begun can be cancelled" in response.get_data(
        as_text=True
    )
    demo_db.refresh(filing)
    assert filing.status == LeaseStatus.FILED


def test_the_renewal_and_a_new_filing_default_to_the_same_term_length(manager, demo_db):
    """Both propose a year less a day (registry/lease/term.py), the renewal from the day
    after the old term's last day, a new filing from today."""
    from registry.lease.term import last_day_of_term

    filing = demo_db.get(LeaseFiling, current_filing(demo_db, "manager1"))
    renewal = manager.get(f"/leases/filings/{filing.id}/renew").get_data(as_text=True)
    first = filing.last_day + timedelta(days=1)
    assert f'value="{first.isoformat()}"' in renewal
    assert f'value="{last_day_of_term(first).isoformat()}"' in renewal
    dwelling_id = rented_unfiled_dwelling(demo_db, "manager1")
    new = manager.get(f"/leases/dwellings/{dwelling_id}/file").get_data(as_text=True)
    assert f'value="{DEMO_TODAY.isoformat()}"' in new
    assert f'value="{last_day_of_term(DEMO_TODAY).isoformat()}"' in new
    # Both end the day before the same date a year later; so do the demo's filings.
    for start in (first, DEMO_TODAY):
        assert last_day_of_term(start) == date(start.year + 1, start.month, start.day) - timedelta(
            days=1
        )
    demo_terms = demo_db.execute(
        select(LeaseFiling.starts_on, LeaseFiling.ends_on).where(LeaseFiling.filed_by_id.is_(None))
    ).all()
    assert demo_terms
    assert all(
        ends == last_day_of_term(starts, round((ends - starts).days / 365.25))
        for starts, ends in demo_terms
    )


def test_the_to_do_list_says_the_order_it_is_in(demo_app):
    page = log_in(demo_app, "manager1").get("/leases/reminders").get_data(as_text=True)
    kinds = re.findall(r'<li class="todo-item ([a-z_]+)">', page)
    order = ["requested", "over_capacity", "ending", "expired", "unfiled", "pledge"]
    order.append("tenants_unlisted")  # and anything else after those
    assert kinds and kinds == sorted(kinds, key=order.index)
    assert kinds[0] in ("requested", "over_capacity")
    assert "requests from grid workers and overcrowding first, then filings that end soon" in page
