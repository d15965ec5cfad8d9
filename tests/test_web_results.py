"""The way back from a record to the list it was opened from (registry/web/results.py):
a filtered, searched or paged list keeps its state in the record's "back to results"."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from helpers import log_in
from sqlalchemy import text


def links_to(page: str, prefix: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(rf'href="({prefix}[^"]*)"', page)]


def back_link(page: str) -> str | None:
    match = re.search(r'<p class="back-to-results"><a [^>]*href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


def same_url(a: str, b: str) -> bool:
    first, second = urlsplit(a), urlsplit(b)
    return first.path == second.path and parse_qs(first.query) == parse_qs(second.query)


def test_the_managers_filtered_list_is_where_a_dwelling_leads_back(demo_app):
    manager = log_in(demo_app, "manager1")
    listing = "/leases/?show=unfiled&page=1"
    rows = links_to(manager.get(listing).get_data(as_text=True), "/leases/dwellings/")
    assert rows and all("list=" in row for row in rows)
    record = manager.get(rows[0]).get_data(as_text=True)
    assert same_url(back_link(record), listing)
    # The plain list adds nothing: the page's own "My dwellings" link is the way back.
    plain = links_to(manager.get("/leases/").get_data(as_text=True), "/leases/dwellings/")
    assert plain and not any("list=" in row for row in plain)
    assert back_link(manager.get(plain[0]).get_data(as_text=True)) is None


def test_a_door_number_search_of_the_manager_leads_back_too(demo_app, demo_db):
    manager = log_in(demo_app, "manager1")
    building = demo_db.execute(
        text("""SELECT a.building FROM managed_dwelling m JOIN user_account u ON u.id = m.user_id
                JOIN dwelling d ON d.id = m.dwelling_id JOIN address a ON a.id = d.address_id
                WHERE u.username = 'manager1' AND a.building IS NOT NULL LIMIT 1""")
    ).scalar_one()
    listing = f"/leases/?q={building}栋"
    rows = links_to(manager.get(listing).get_data(as_text=True), "/leases/dwellings/")
    assert rows
    assert same_url(back_link(manager.get(rows[0]).get_data(as_text=True)), listing)


def test_the_grid_workers_cell_list_is_where_a_dwelling_leads_back(demo_app, demo_db):
    worker = log_in(demo_app, "grid0001")
    cell = demo_db.execute(
        text("""SELECT min(w.grid_cell_id) FROM grid_cell_worker w
                JOIN user_account u ON u.id = w.user_id WHERE u.username = 'grid0001'""")
    ).scalar_one()
    listing = f"/cells/?cell={cell}&show=attention&page=2"
    rows = links_to(worker.get(listing).get_data(as_text=True), "/cells/dwellings/")
    assert rows and all("list=" in row for row in rows)
    assert same_url(back_link(worker.get(rows[0]).get_data(as_text=True)), listing)
    buildings = links_to(
        worker.get(f"/cells/?cell={cell}").get_data(as_text=True), "/cells/addresses/"
    )
    record = worker.get(next(b for b in buildings if "list=" in b)).get_data(as_text=True)
    assert same_url(back_link(record), f"/cells/?cell={cell}")


def test_a_forged_way_back_leads_only_to_the_list_and_carries_nothing_personal(demo_app):
    manager = log_in(demo_app, "manager1")
    row = links_to(manager.get("/leases/").get_data(as_text=True), "/leases/dwellings/")[0]
    for forged in ("next=https://evil.example/", "q=张三&next=//evil.example", "show=" + "x" * 500):
        page = manager.get(row, query_string={"list": forged}).get_data(as_text=True)
        back = back_link(page)
        assert back is None or (back.startswith("/leases/?") and "evil" not in back)
        assert "张三" not in (back or "")


def test_a_page_answering_a_post_asks_to_become_a_get_only_where_a_get_is_served(demo_app):
    """js/back.js turns such a page's history entry into a GET, so that Back never lands
    on "Confirm Form Resubmission"; a POST-only address would answer that GET with 405."""
    from helpers import csrf_token_from

    worker = log_in(demo_app, "grid0001")
    form = worker.get("/cells/addresses/new").get_data(as_text=True)
    assert "data-answered-post" not in form and "js/back.js" in form
    refused = worker.post("/cells/addresses/new", data={"csrf_token": csrf_token_from(form)})
    assert refused.status_code == 422 and "data-answered-post" in refused.get_data(as_text=True)
    officer = log_in(demo_app, "officer1")
    person = officer.get("/dashboard/lookup").get_data(as_text=True)
    answered = officer.post(
        "/dashboard/people/1/reveal", data={"csrf_token": csrf_token_from(person)}
    )
    assert answered.status_code == 422  # no reason given: the person page again
    assert "data-answered-post" not in answered.get_data(as_text=True)


def test_the_officers_list_behind_a_figure_is_where_its_records_lead_back(demo_app, demo_db):
    officer = log_in(demo_app, "officer1")
    community = demo_db.execute(
        text("""SELECT min(c.id) FROM community c JOIN user_account u
                ON u.police_station_id = c.police_station_id WHERE u.username = 'officer1'""")
    ).scalar_one()
    for measure, prefix in (
        ("transient", "/dashboard/people/"),
        ("unfiled", "/dashboard/dwellings/"),
    ):
        listing = f"/dashboard/lists/{measure}?community={community}"
        rows = links_to(officer.get(listing).get_data(as_text=True), prefix)
        assert rows and all("list=" in row for row in rows), measure
        assert same_url(back_link(officer.get(rows[0]).get_data(as_text=True)), listing)
