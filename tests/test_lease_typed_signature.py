"""A pledge signed without drawing: the typed full name and the confirmation box,
recorded as typed with the collecting user as witness; an administrator's setting decides
whether it counts as signed for the status, the figures and the lists. And the drawing's
own errors are announced to screen readers."""

from __future__ import annotations

import re

import pytest
from helpers import DEMO_TODAY, audit_entries, csrf_token_from, log_in, token_of
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from registry.dwelling.status import pledges_complete
from registry.lease.models import LeaseFiling, RentalPledge, SigningMethod

NOT_COUNTED = "Does not count as signed: the administrator counts only drawn signatures"


@pytest.fixture
def manager(demo_app):
    return log_in(demo_app, "manager1")


@pytest.fixture
def unsigned(demo_db):
    """A current filing of manager1 whose rental pledge is not signed, the security
    guarantee signed: only the rental pledge is missing."""
    filing_id = demo_db.scalar(
        text("""
        SELECT l.id FROM lease_filing l JOIN managed_dwelling m ON m.dwelling_id = l.dwelling_id
        JOIN user_account u ON u.id = m.user_id
        WHERE u.username = 'manager1' AND l.status = 'filed'
          AND l.starts_on <= :d AND l.ends_on >= :d
          AND EXISTS (SELECT 1 FROM security_guarantee g WHERE g.lease_filing_id = l.id)
        ORDER BY l.id LIMIT 1"""),
        {"d": DEMO_TODAY},
    )
    demo_db.execute(text("DELETE FROM rental_pledge WHERE lease_filing_id = :f"), {"f": filing_id})
    demo_db.commit()
    return demo_db.get(LeaseFiling, filing_id)


def _sign_typed(client, filing, typed_name, confirm="y"):
    url = f"/leases/filings/{filing.id}/pledges/rental_pledge/sign"
    body = client.get(url).text
    return client.post(
        url,
        data={
            "csrf_token": csrf_token_from(body),
            "signer": "landlord",
            "confirm": confirm,
            "method": "typed",
            "typed_name": typed_name,
            "signature": "",
        },
    )


def _complete(session, filing_id) -> bool:
    session.expire_all()
    return session.scalar(select(pledges_complete(filing_id)))


def test_the_sign_page_offers_typing_and_announces_the_drawing_error(manager, unsigned):
    html = manager.get(f"/leases/filings/{unsigned.id}/pledges/rental_pledge/sign").text
    assert 'name="method" type="radio" value="typed"' in html or 'value="typed"' in html
    assert 'id="typed-not-counted"' in html  # warned while the setting counts only drawings
    assert 'id="typed_name"' in html
    canvas = re.search(r"<canvas[^>]*>", html).group(0)
    assert 'aria-describedby="signature-hint signature-empty"' in canvas
    assert re.search(r'<p class="error" id="signature-empty" role="alert" hidden>', html)
    # Sent without a drawing (and without typing): the server's error is tied to the canvas.
    body = manager.get(f"/leases/filings/{unsigned.id}/pledges/rental_pledge/sign").text
    refused = manager.post(
        f"/leases/filings/{unsigned.id}/pledges/rental_pledge/sign",
        data={"csrf_token": csrf_token_from(body), "signer": "landlord", "confirm": "y"},
    )
    assert refused.status_code == 422
    canvas = re.search(r"<canvas[^>]*>", refused.text).group(0)
    assert 'aria-invalid="true"' in canvas and "signature-errors" in canvas
    assert '<div id="signature-errors" role="alert">' in refused.text
    assert 'href="#signature-canvas"' in refused.text  # the summary leads to the box


def test_a_typed_signature_is_recorded_as_typed_with_its_witness(
    demo_app, manager, unsigned, demo_db
):
    landlord = unsigned.landlord.name if hasattr(unsigned, "landlord") else None
    landlord = landlord or demo_db.scalar(
        text("SELECT p.name FROM person p WHERE p.id = :i"), {"i": unsigned.landlord_person_id}
    )
    response = _sign_typed(manager, unsigned, f"  {landlord} ")
    assert response.status_code == 302, response.text
    pledge = demo_db.scalars(
        select(RentalPledge).where(RentalPledge.lease_filing_id == unsigned.id)
    ).one()
    assert pledge.signing_method == SigningMethod.TYPED and pledge.typed_name == landlord
    assert pledge.signature_png is None
    entry = audit_entries(demo_db, "rental_pledge", pledge.id, "create")[0]
    assert entry.changes["signing_method"] == [None, "typed"]
    assert entry.changes["witness"] == [None, "manager1"]
    page = manager.get(f"/leases/filings/{unsigned.id}/pledges/rental_pledge/sign").text
    assert f"Signed by typing the name: {landlord} · witness manager1" in page
    filing_page = manager.get(f"/leases/filings/{unsigned.id}").text
    assert f"Signed by typing the name: {landlord} · witness manager1" in filing_page
    assert NOT_COUNTED in filing_page

    # By default a typed signature does not count: the pledge is still missing.
    assert not _complete(demo_db, unsigned.id)
    admin = log_in(demo_app, "admin")
    switched = admin.post(
        "/admin/settings",
        data={"csrf_token": token_of(admin, "/admin/settings"), "typed_signature_counts": "y"},
    )
    assert switched.status_code == 302
    assert _complete(demo_db, unsigned.id)
    assert NOT_COUNTED not in manager.get(f"/leases/filings/{unsigned.id}").text
    sign_page = manager.get(f"/leases/filings/{unsigned.id}/pledges/security_guarantee/sign")
    assert 'id="typed-not-counted"' not in sign_page.text
    assert audit_entries(demo_db, "setting", "typed_signature_counts", "update")[0].changes == {
        "typed_signature_counts": [False, True]
    }
    # The figures follow the switch at once (they were refreshed).
    missing = demo_db.scalar(text("SELECT sum(pledges_missing) FROM cell_figures"))
    admin.post("/admin/settings", data={"csrf_token": token_of(admin, "/admin/settings")})
    assert not _complete(demo_db, unsigned.id)
    assert demo_db.scalar(text("SELECT sum(pledges_missing) FROM cell_figures")) == missing + 1


def test_a_typed_name_that_is_not_the_signers_is_refused(manager, unsigned, demo_db):
    response = _sign_typed(manager, unsigned, "某某某")
    assert response.status_code == 422
    assert "The typed name must be the chosen signer&#39;s full name" in response.text or (
        "The typed name must be the chosen signer's full name" in response.text
    )
    assert 'value="某某某"' in response.text
    empty = _sign_typed(manager, unsigned, "", confirm="")
    assert "Type the signer&#39;s full name" in empty.text or "Type the signer's full name" in (
        empty.text
    )
    assert "The signer must confirm having read the text" in empty.text
    assert not demo_db.scalars(
        select(RentalPledge).where(RentalPledge.lease_filing_id == unsigned.id)
    ).all()


def test_a_typed_signature_carries_its_name_and_no_image(unsigned, demo_db):
    """The database holds the rule too: typed means a typed name and no drawing."""
    landlord_id = unsigned.landlord_person_id
    insert = text("""
        INSERT INTO rental_pledge (lease_filing_id, pledge_document_id, signer_person_id,
            signer_name, signed_at, signature_png, signing_method, typed_name)
        SELECT :f, d.id, :p, 'x', now(), :png, :method, :typed
        FROM pledge_document d ORDER BY d.id LIMIT 1""")
    for png, method, typed in ((b"png", "typed", "x"), (None, "typed", None), (None, "drawn", "x")):
        with pytest.raises(IntegrityError, match="typed_signature"), demo_db.begin_nested():
            demo_db.execute(
                insert,
                {
                    "f": unsigned.id,
                    "p": landlord_id,
                    "png": png,
                    "method": method,
                    "typed": typed,
                },
            )
