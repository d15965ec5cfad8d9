"""A grid worker files a lease on the landlord's behalf, or asks a landlord with an account
to file it; signatures bring the worker back to the dwelling in their cells; a move-in that
crowds a dwelling says so."""

from __future__ import annotations

import pytest
from helpers import DEMO_TODAY, csrf_token_from, log_in, post_form, token_of
from sqlalchemy import select, text
from test_gridwork_moves import move_in_form
from test_lease_overview import crowding_rule
from test_leases_web import TENANT_A, data_url, lease_form, png

from registry.lease.models import FilingRequest, LeaseFiling, RentalPledge

UNFILED_IN_CELL = """
    SELECT d.id FROM dwelling d JOIN address a ON a.id = d.address_id
    WHERE a.grid_cell_id = 1 AND d.occupancy = 'rented' AND d.owner_person_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM lease_filing l WHERE l.dwelling_id = d.id)
      AND {managed} EXISTS (SELECT 1 FROM managed_dwelling m WHERE m.dwelling_id = d.id)
    ORDER BY d.id LIMIT 1"""


@pytest.fixture
def worker(demo_app):
    return log_in(demo_app, "grid0001")


def unfiled_in_cell(session, managed: bool) -> int | None:
    return session.scalar(text(UNFILED_IN_CELL.format(managed="" if managed else "NOT")))


def test_a_grid_worker_files_for_the_landlord_and_comes_back_to_the_cell(worker, demo_db):
    dwelling_id = unfiled_in_cell(demo_db, managed=False)
    own_page = worker.get(f"/cells/dwellings/{dwelling_id}").get_data(as_text=True)
    assert f'href="/leases/dwellings/{dwelling_id}/file"' in own_page
    form_page = worker.get(f"/leases/dwellings/{dwelling_id}/file").get_data(as_text=True)
    assert f'href="/cells/dwellings/{dwelling_id}"' in form_page  # the way back stays in /cells/
    response = worker.post(
        f"/leases/dwellings/{dwelling_id}/file",
        data=lease_form(csrf_token_from(form_page), [TENANT_A], starts_on="2026-11-01"),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    filing = demo_db.scalars(
        select(LeaseFiling).where(LeaseFiling.dwelling_id == dwelling_id)
    ).one()
    assert filing.filed_for_landlord and filing.filed_by.username == "grid0001"
    shown = worker.get(f"/leases/filings/{filing.id}").get_data(as_text=True)
    assert "for the landlord" in shown and f'href="/cells/dwellings/{dwelling_id}"' in shown

    # The landlord signs on the tablet; the worker lands on the dwelling in the cell.
    sign_url = f"/leases/filings/{filing.id}/pledges/rental_pledge/sign"
    sign_page = worker.get(sign_url).get_data(as_text=True)
    assert f'class="back" href="/cells/dwellings/{dwelling_id}"' in sign_page  # not /leases/
    signed = worker.post(
        sign_url,
        data={
            "csrf_token": token_of(worker, sign_url),
            "signer": "landlord",
            "confirm": "y",
            "signature": data_url(png()),
        },
    )
    assert signed.status_code == 302
    assert signed.headers["Location"] == f"/cells/dwellings/{dwelling_id}"
    assert demo_db.scalar(select(RentalPledge).where(RentalPledge.lease_filing_id == filing.id))


def test_a_grid_worker_cannot_file_outside_the_cells(worker, demo_db):
    outside = demo_db.scalar(
        text(
            "SELECT d.id FROM dwelling d JOIN address a ON a.id = d.address_id"
            " WHERE a.grid_cell_id <> 1 ORDER BY d.id LIMIT 1"
        )
    )
    assert worker.get(f"/leases/dwellings/{outside}/file").status_code == 404


def test_the_landlord_with_an_account_gets_it_on_the_to_do_list(demo_app, demo_db):
    found = demo_db.execute(
        text("""
        SELECT d.id, u.username AS manager, w.username AS worker
        FROM dwelling d JOIN address a ON a.id = d.address_id
        JOIN managed_dwelling m ON m.dwelling_id = d.id JOIN user_account u ON u.id = m.user_id
        JOIN grid_cell_worker g ON g.grid_cell_id = a.grid_cell_id
        JOIN user_account w ON w.id = g.user_id
        WHERE d.occupancy = 'rented'
          AND NOT EXISTS (SELECT 1 FROM lease_filing l WHERE l.dwelling_id = d.id
                          AND l.starts_on <= :d AND l.ends_on >= :d)
        ORDER BY d.id LIMIT 1"""),
        {"d": DEMO_TODAY},
    ).one()
    worker = log_in(demo_app, found.worker)
    page = worker.get(f"/cells/dwellings/{found.id}").get_data(as_text=True)
    assert "ask-landlord" in page
    response = worker.post(
        f"/cells/dwellings/{found.id}/ask-landlord",
        data={"csrf_token": csrf_token_from(page), "note": "房东周末在家，请补备案 <b>"},
    )
    assert response.status_code == 302
    request = demo_db.scalars(
        select(FilingRequest).where(FilingRequest.dwelling_id == found.id)
    ).one()
    assert request.lease_filing_id is None
    manager = log_in(demo_app, found.manager)
    todo = manager.get("/leases/reminders").get_data(as_text=True)
    assert "房东周末在家，请补备案 &lt;b&gt;" in todo  # the note, escaped
    assert f'href="/leases/dwellings/{found.id}/file"' in todo
    again = worker.get(f"/cells/dwellings/{found.id}").get_data(as_text=True)
    assert "ask-landlord" not in again  # asked once; the page says since when


def test_a_landlord_without_an_account_cannot_be_asked(worker, demo_db):
    dwelling_id = unfiled_in_cell(demo_db, managed=False)
    page = worker.get(f"/cells/dwellings/{dwelling_id}").get_data(as_text=True)
    assert "ask-landlord" not in page
    response = worker.post(
        f"/cells/dwellings/{dwelling_id}/ask-landlord",
        data={"csrf_token": csrf_token_from(page), "note": "x"},
    )
    assert response.status_code == 422
    assert not demo_db.scalar(select(FilingRequest).where(FilingRequest.dwelling_id == dwelling_id))


def test_a_move_in_over_capacity_says_so_plainly(worker, demo_db):
    crowding_rule(demo_db)
    dwelling_id = unfiled_in_cell(demo_db, managed=False)
    from helpers import resident_id_number

    response = post_form(
        worker,
        f"/cells/dwellings/{dwelling_id}/move-in",
        move_in_form(resident_id_number("19920202", "731"), "超员测试"),
    )
    assert response.status_code == 302
    page = worker.get(response.headers["Location"]).get_data(as_text=True)
    assert "This dwelling is now over capacity" in page
    assert "its legal capacity is 0" in page


def test_a_refused_request_shows_the_dwelling_with_the_reason(worker, demo_db):
    dwelling_id = unfiled_in_cell(demo_db, managed=False)
    page = worker.get(f"/cells/dwellings/{dwelling_id}").get_data(as_text=True)
    response = worker.post(
        f"/cells/dwellings/{dwelling_id}/ask-landlord",
        data={"csrf_token": csrf_token_from(page), "note": "x"},
    )
    assert response.status_code == 422
    assert "The landlord has no account" in response.get_data(as_text=True)
