"""The lists behind the dashboard's figures: live, scoped, paginated, exportable.

Each list is checked against plain SQL written independently of the service, per grid
cell, per community and in total; a list that has moved on since the figures were
computed says so; an export is one audit entry naming the list.
"""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from helpers import (
    DEMO_TODAY,
    PLAIN_CAPACITY,
    add_second_police_station,
    audit_entries,
    log_in,
)
from openpyxl import load_workbook
from sqlalchemy import text

from registry.figures.services import refresh_figures

CURRENT_FILING = """(SELECT f.id FROM lease_filing f
      WHERE f.dwelling_id = d.id AND f.status = 'filed'
        AND f.starts_on <= :today AND f.ends_on >= :today
        AND (f.ended_on IS NULL OR f.ended_on >= :today)
      ORDER BY f.starts_on DESC, f.id DESC LIMIT 1)"""
OCCUPANTS = """(SELECT count(*) FROM residence r WHERE r.dwelling_id = d.id
      AND r.moved_in <= :today AND (r.moved_out IS NULL OR r.moved_out > :today))"""

PLAIN = {
    "unfiled": f"d.occupancy = 'rented' AND {CURRENT_FILING} IS NULL",
    "pledges_missing": f"""{CURRENT_FILING} IS NOT NULL AND (
        NOT EXISTS (SELECT 1 FROM rental_pledge p WHERE p.lease_filing_id = {CURRENT_FILING})
     OR NOT EXISTS (SELECT 1 FROM security_guarantee g
                     WHERE g.lease_filing_id = {CURRENT_FILING}))""",
    "over_capacity": f"{OCCUPANTS} > {PLAIN_CAPACITY}",
}


def plain_dwellings(session, measure: str, where: str = "true", **values) -> set[int]:
    sql = f"""SELECT d.id FROM dwelling d JOIN address a ON a.id = d.address_id
               WHERE {PLAIN[measure]} AND {where}"""
    return set(session.scalars(text(sql), {"today": DEMO_TODAY, **values}))


def plain_transient(session, where: str = "true", **values) -> set[int]:
    sql = f"""SELECT r.person_id FROM residence r JOIN dwelling d ON d.id = r.dwelling_id
               JOIN address a ON a.id = d.address_id
              WHERE r.kind = 'transient' AND r.moved_in <= :today
                AND (r.moved_out IS NULL OR r.moved_out > :today) AND {where}"""
    return set(session.scalars(text(sql), {"today": DEMO_TODAY, **values}))


def listed(client, url: str) -> tuple[set[int], str]:
    """Every id the list's pages link to (dwellings or people), and its first page."""
    joiner = "&" if "?" in url else "?"
    first = client.get(f"{url}{joiner}lang=en")
    assert first.status_code == 200, url
    ids: set[int] = set()
    page, html = 1, first.text
    while True:
        body = re.search(r'<table class="table" id="list">.*?</table>', html, re.S)
        if body:
            kind = "people" if "/dashboard/people/" in body.group(0) else "dwellings"
            found = re.findall(rf'href="/dashboard/{kind}/(\d+)[?"]', body.group(0))
            ids |= {int(i) for i in found}
        if 'rel="next"' not in html:
            return ids, first.text
        page += 1
        html = client.get(f"{url}{joiner}lang=en&page={page}").text


@pytest.fixture
def officer(demo_app):
    return log_in(demo_app, "officer1", lang=None)


@pytest.mark.parametrize("measure", sorted(PLAIN))
def test_each_cells_dwelling_list_is_the_plain_sql_set_and_matches_its_figure(
    officer, demo_db, measure
):
    cells = demo_db.scalars(text("SELECT id FROM grid_cell ORDER BY id")).all()
    for cell_id in cells:
        ids, page = listed(officer, f"/dashboard/lists/{measure}?cell={cell_id}")
        assert ids == plain_dwellings(demo_db, measure, "a.grid_cell_id = :c", c=cell_id)
        assert f"{len(ids)} now" in page
        assert 'id="figure-differs"' not in page  # nothing changed since the figures


def test_transient_list_per_community_and_in_total(officer, demo_db):
    community = demo_db.scalar(text("SELECT id FROM community ORDER BY id LIMIT 1"))
    ids, page = listed(officer, f"/dashboard/lists/transient?community={community}")
    assert ids == plain_transient(demo_db, "a.community_id = :c", c=community)
    assert len(ids) > 50 and 'rel="next"' in page  # paged
    total, _page = listed(officer, "/dashboard/lists/transient")
    assert total == plain_transient(demo_db)


def test_the_dashboards_counts_open_their_lists(officer, demo_db):
    html = officer.get("/dashboard/").text
    cell = demo_db.scalar(text("SELECT id FROM grid_cell ORDER BY id LIMIT 1"))
    for measure in ("unfiled", "pledges_missing", "over_capacity", "transient"):
        assert f'href="/dashboard/lists/{measure}?cell={cell}"' in html
        assert f'href="/dashboard/lists/{measure}.xlsx"' in html
    community = demo_db.scalar(text("SELECT id FROM community ORDER BY id LIMIT 1"))
    assert f'href="/dashboard/lists/unfiled?community={community}"' in html
    # The totals at the top open the lists of the whole jurisdiction.
    for tile, measure in (
        ("total-over-capacity", "over_capacity"),
        ("total-transient", "transient"),
    ):
        value = re.search(rf'<div class="value" id="{tile}">(.*?)</div>', html, re.S).group(1)
        assert f'href="/dashboard/lists/{measure}"' in value


def test_a_list_that_moved_on_since_the_figures_says_so(officer, demo_db):
    cell = demo_db.scalar(text("SELECT id FROM grid_cell ORDER BY id LIMIT 1"))
    before = plain_dwellings(demo_db, "unfiled", "a.grid_cell_id = :c", c=cell)
    demo_db.execute(
        text("""UPDATE dwelling SET occupancy = 'rented' WHERE id = (
                  SELECT d.id FROM dwelling d JOIN address a ON a.id = d.address_id
                   WHERE a.grid_cell_id = :c AND d.occupancy = 'vacant'
                     AND NOT EXISTS (SELECT 1 FROM lease_filing f WHERE f.dwelling_id = d.id)
                   ORDER BY d.id LIMIT 1)"""),
        {"c": cell},
    )
    demo_db.commit()
    ids, page = listed(officer, f"/dashboard/lists/unfiled?cell={cell}")
    assert len(ids) == len(before) + 1
    note = re.search(r'id="figure-differs"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert f"was {len(before)}" in note and f"has {len(ids)} now" in note


def test_an_export_is_one_audit_entry_naming_the_list(officer, demo_db):
    community = demo_db.scalar(text("SELECT id FROM community ORDER BY id LIMIT 1"))
    views_before = len(audit_entries(demo_db, "person", action="view"))
    response = officer.get(f"/dashboard/lists/transient.xlsx?community={community}&lang=en")
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.data)).active
    people = plain_transient(demo_db, "a.community_id = :c", c=community)
    assert sheet["A1"].value.startswith("Transient population · ")
    assert sheet.auto_filter.ref == f"A2:C{len(people) + 2}"
    assert [c.value for c in sheet[2]] == ["Full name", "Address", "Moved in"]
    assert sheet.max_row == len(people) + 2
    entries = audit_entries(demo_db, "list", "transient", "export")
    assert len(entries) == 1
    assert entries[0].changes == {
        "list": "transient",
        "community": str(community),
        "rows": len(people),
    }
    assert len(audit_entries(demo_db, "person", action="view")) == views_before


def test_dwelling_export_has_the_status_columns(officer, demo_db):
    response = officer.get("/dashboard/lists/over_capacity.xlsx?lang=en")
    sheet = load_workbook(BytesIO(response.data)).active
    assert [c.value for c in sheet[2]][:4] == [
        "Address",
        "Occupancy",
        "Occupants now",
        "Legal capacity",
    ]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert len(rows) == len(plain_dwellings(demo_db, "over_capacity"))
    assert all(row[2] > row[3] for row in rows)


def test_lists_of_another_stations_areas_are_not_found(demo_app, demo_db):
    ids = add_second_police_station(demo_db)
    refresh_figures(demo_db, DEMO_TODAY)
    demo_db.commit()
    officer1 = log_in(demo_app, "officer1", lang=None)
    cell = demo_db.scalar(text("SELECT id FROM grid_cell ORDER BY id LIMIT 1"))
    assert officer1.get(f"/dashboard/lists/unfiled?community={ids['community']}").status_code == 404
    assert officer1.get("/dashboard/lists/nothing").status_code == 404
    other = log_in(demo_app, "officer99", lang=None)
    assert other.get(f"/dashboard/lists/unfiled?cell={cell}").status_code == 404
    total, _page = listed(other, "/dashboard/lists/transient")
    assert total == {ids["person"]}
    grid = log_in(demo_app, "grid0001", lang=None)
    assert grid.get("/dashboard/lists/unfiled").status_code == 404
