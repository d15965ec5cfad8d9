"""A signer who cannot draw signs a pledge in the real browser with the keyboard alone:
choose "type the full name", type it, tick the confirmation, press Enter."""

from __future__ import annotations

from browser import TABLET, log_in, screenshot
from helpers import DEMO_TODAY
from sqlalchemy import text

from registry.db import make_engine

UNSIGNED = """
    SELECT l.id, p.name FROM lease_filing l
    JOIN managed_dwelling m ON m.dwelling_id = l.dwelling_id
    JOIN user_account u ON u.id = m.user_id
    JOIN person p ON p.id = l.landlord_person_id
    WHERE u.username = 'manager1' AND l.status = 'filed'
      AND l.starts_on <= :d AND l.ends_on >= :d
    ORDER BY l.id LIMIT 1"""


def test_a_signer_who_cannot_draw_signs_with_the_keyboard_alone(open_page, make_live_server):
    server, url = make_live_server()
    engine = make_engine(url)
    with engine.begin() as db:
        filing_id, landlord = db.execute(text(UNSIGNED), {"d": DEMO_TODAY}).one()
        db.execute(text("DELETE FROM rental_pledge WHERE lease_filing_id = :f"), {"f": filing_id})

    page = open_page(viewport=TABLET, server=server)
    log_in(page, server, "manager1")
    page.goto(f"{server.url}/leases/filings/{filing_id}/pledges/rental_pledge/sign")
    assert page.locator("#typed_name").is_hidden()  # drawing is the default
    page.locator("input[name=method][value=typed]").focus()
    page.keyboard.press("Space")
    assert page.locator("#signature-canvas").is_hidden()
    page.locator("input[name=signer]").first.focus()
    page.keyboard.press("Space")
    page.locator("#confirm").focus()
    page.keyboard.press("Space")
    page.locator("#typed_name").focus()
    page.keyboard.type(landlord)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    screenshot(page, "typed-signature-saved")

    with engine.connect() as db:
        signed = db.execute(
            text("""
            SELECT g.signing_method, g.typed_name, g.signature_png IS NULL, u.username
            FROM rental_pledge g JOIN user_account u ON u.id = g.collected_by_id
            WHERE g.lease_filing_id = :f"""),
            {"f": filing_id},
        ).all()
    engine.dispose()
    assert [tuple(row) for row in signed] == [("typed", landlord, True, "manager1")]
