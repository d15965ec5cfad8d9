"""Accessibility that the HTML itself must carry, checked on every role's pages.

The browser tests run axe-core over rendered pages; these check, with the test client,
what a keyboard or screen-reader user relies on: a skip link to the content, the current
menu item and tab marked with aria-current, wide tables in focusable, labelled regions
that scroll, and the shared form pieces (required mark, hints and errors linked to fields,
an error summary of links).
"""

from __future__ import annotations

import re

import pytest
from helpers import log_in
from sqlalchemy import text

PAGES = {
    "officer1": [
        "/dashboard/",
        "/dashboard/lookup",
        "/dashboard/dwellings/1",
        "/sweeps/",
        "/sweeps/teams",
        "/flags/",
        "/flags/1",
    ],
    "admin": [
        "/admin/users",
        "/admin/stations",
        "/admin/cells",
        "/admin/focus-areas",
        "/admin/rules/",
        "/admin/rules/over_capacity",
    ],
    "grid0001": ["/cells/", "/cells/search"],
    "manager1": ["/leases/", "/leases/reminders"],
    "sweeper1": ["/sweeps/mine"],
}


@pytest.mark.parametrize(
    "username,url", [(user, url) for user, urls in PAGES.items() for url in urls]
)
def test_every_page_has_a_skip_link_and_marks_the_current_menu_item(demo_app, username, url):
    client = log_in(demo_app, username, lang=None)
    html = client.get(url).text
    assert re.search(r'<body>\s*<a class="skip-link" href="#content">跳到正文</a>', html)
    assert '<main class="page" id="content" tabindex="-1">' in html
    menu = re.search(r'<nav class="mainmenu".*?</nav>', html, re.S).group(0)
    current = re.findall(r'<a class="menuitem active" href="([^"]+)" aria-current="page">', menu)
    assert len(current) == 1 and url.startswith(current[0])
    assert menu.count("aria-current") == 1


@pytest.mark.parametrize(
    "username,url", [(user, url) for user, urls in PAGES.items() for url in urls]
)
def test_wide_tables_scroll_in_a_focusable_labelled_region(demo_app, username, url):
    client = log_in(demo_app, username, lang=None)
    html = client.get(url).text
    for match in re.finditer(r'<table class="table[^"]*"', html):
        opening = html.rfind("<div", 0, match.start())
        wrapper = html[opening : html.index(">", opening) + 1]
        assert 'class="table-scroll"' in wrapper, (url, wrapper)
        assert 'role="region"' in wrapper and 'tabindex="0"' in wrapper
        label = re.search(r'aria-label="([^"]+)"|aria-labelledby="([^"]+)"', wrapper)
        assert label, wrapper
        if label.group(2):
            assert f'id="{label.group(2)}"' in html


def test_the_tabs_of_a_page_mark_the_current_one(demo_app):
    admin = log_in(demo_app, "admin", lang=None)
    tabs = re.search(r'<nav class="adm-tabs".*?</nav>', admin.get("/admin/stations").text, re.S)
    assert re.search(r'href="/admin/stations" aria-current="page"', tabs.group(0))
    assert tabs.group(0).count("aria-current") == 1
    manager = log_in(demo_app, "manager1", lang=None)
    html = manager.get("/leases/?show=attention").text
    assert re.search(r'show=attention" aria-current="page"', html)


def _grid_dwelling(demo_db) -> int:
    """A dwelling in one of grid0001's cells."""
    return demo_db.scalar(
        text("""
        SELECT d.id FROM dwelling d JOIN address a ON a.id = d.address_id
        JOIN grid_cell_worker w ON w.grid_cell_id = a.grid_cell_id
        JOIN user_account u ON u.id = w.user_id AND u.username = 'grid0001'
        ORDER BY d.id LIMIT 1""")
    )


REQUIRED_FIELDS = {
    ("admin", "/admin/users/new"): ("username", "display_name", "role"),
    ("admin", "/admin/stations/new"): ("code", "name", "district_id"),
    ("admin", "/admin/focus-areas/new"): ("name",),
    ("grid0001", "/cells/dwellings/{dwelling}/move-in"): ("document_number", "name", "moved_in"),
    ("grid0001", "/cells/dwellings/{dwelling}/edit"): ("floor_area", "rooms"),
    ("manager1", "/leases/filings/{filing}/edit"): ("starts_on", "ends_on", "monthly_rent"),
    ("manager1", "/leases/filings/{filing}"): ("name", "document_number", "ended_on"),
}


def _current_filing(demo_db) -> int:
    """A current filing of a dwelling manager1 manages."""
    return demo_db.scalar(
        text("""
        SELECT l.id FROM lease_filing l JOIN managed_dwelling m ON m.dwelling_id = l.dwelling_id
        JOIN user_account u ON u.id = m.user_id AND u.username = 'manager1'
        WHERE l.status = 'filed' AND l.starts_on <= DATE '2026-11-25'
          AND l.ends_on >= DATE '2026-11-25'
        ORDER BY l.id LIMIT 1""")
    )


@pytest.mark.parametrize("username,url", sorted(REQUIRED_FIELDS))
def test_required_fields_are_marked_visibly_and_for_screen_readers(
    demo_app, demo_db, username, url
):
    """Each field the service requires carries a visible mark and aria-required, and the
    form says what the mark means; no other field of the form claims to be required."""
    client = log_in(demo_app, username, lang=None)
    page = url.format(dwelling=_grid_dwelling(demo_db), filing=_current_filing(demo_db))
    html = client.get(page).text
    assert 'class="muted required-legend"' in html
    required = set(re.findall(r'<(?:input|select|textarea)[^>]*\baria-required="true"[^>]*>', html))
    ids = {re.search(r'\bid="([^"]+)"', tag).group(1) for tag in required}
    assert ids == set(REQUIRED_FIELDS[(username, url)])
    for field_id in ids:
        label = re.search(rf'<label for="{field_id}">(.*?)</label>', html, re.S).group(1)
        assert 'class="required-mark" aria-hidden="true"' in label, field_id


def test_the_reveal_reason_is_required_and_its_hint_is_linked(demo_app, demo_db):
    officer = log_in(demo_app, "officer1", lang=None)
    person_id = demo_db.scalar(
        text("""
        SELECT r.person_id FROM residence r JOIN dwelling d ON d.id = r.dwelling_id
        JOIN address a ON a.id = d.address_id JOIN community c ON c.id = a.community_id
        JOIN user_account u ON u.police_station_id = c.police_station_id
        JOIN person p ON p.id = r.person_id
        WHERE u.username = 'officer1' AND p.document_ciphertext IS NOT NULL
        ORDER BY r.person_id LIMIT 1""")
    )
    html = officer.get(f"/dashboard/people/{person_id}").text
    reason = re.search(r'<textarea[^>]*id="reason"[^>]*>', html).group(0)
    assert 'aria-required="true"' in reason and 'aria-describedby="reason-hint"' in reason
    assert 'id="reason-hint"' in html


def test_a_refused_log_in_lists_its_errors_as_links_to_the_fields(demo_app):
    client = demo_app.test_client()
    page = client.get("/login?lang=zh_CN").text
    assert re.search(r'<input[^>]*id="username"[^>]*aria-required="true"', page) or re.search(
        r'<input[^>]*aria-required="true"[^>]*id="username"', page
    )
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    refused = client.post("/login", data={"csrf_token": token, "username": "", "password": ""})
    summary = re.search(r'<div class="flash error error-summary".*?</div>', refused.text, re.S)
    assert summary and 'href="#username"' in summary.group(0)
    assert 'href="#password"' in summary.group(0)
    assert re.search(r'<input[^>]*aria-describedby="username-errors"', refused.text)


def test_the_officers_look_up_links_its_hints_and_lists_its_errors(demo_app):
    officer = log_in(demo_app, "officer1", lang=None)
    page = officer.get("/dashboard/lookup").text
    box = re.search(r'<input[^>]*id="q"[^>]*>', page).group(0)
    assert 'aria-describedby="lookup-scope lookup-meaning"' in box
    assert 'aria-required="true"' in box
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    refused = officer.post(
        "/dashboard/lookup", data={"csrf_token": token, "kind": "person", "q": "张"}
    )
    assert refused.status_code == 422
    summary = re.search(r'<div class="flash error error-summary".*?</div>', refused.text, re.S)
    assert summary and 'href="#q"' in summary.group(0)
    box = re.search(r'<input[^>]*id="q"[^>]*>', refused.text).group(0)
    assert 'aria-invalid="true"' in box and "q-errors" in box


def test_a_refused_correction_of_a_filing_lists_its_errors_as_links(demo_app, demo_db):
    manager = log_in(demo_app, "manager1", lang=None)
    url = f"/leases/filings/{_current_filing(demo_db)}/edit"
    page = manager.get(url).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    version = re.search(r'name="version" value="([^"]*)"', page).group(1)
    refused = manager.post(
        url,
        data={"csrf_token": token, "version": version, "starts_on": "", "ends_on": "x"},
    )
    assert refused.status_code == 422
    summary = re.search(r'<div class="flash error error-summary".*?</div>', refused.text, re.S)
    assert summary and 'href="#starts_on"' in summary.group(0)
