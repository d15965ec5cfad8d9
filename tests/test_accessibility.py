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
