"""axe-core (WCAG 2.1 A and AA) on the pages of every role, in the real browser.

Each page state is opened as its user would reach it (clicking through from the role's
landing page where the page needs a record), at tablet size (768×1024) and at desktop size,
then axe-core, vendored from npm in tests/vendor/axe-core (tests only, never served), runs
over the whole document. A violation fails the test with the rule, its impact and the
elements it found, so it can be fixed where it is. Refused forms are part of the states:
their error summary and field errors must be accessible too.

The map pages send a Content-Security-Policy without 'unsafe-inline'; the test's browser
context bypasses it only so that axe's script can be added to the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import DESKTOP, TABLET, log_in

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
NARROW = {"width": 320, "height": 720}
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SIZES = {"tablet": TABLET, "desktop": DESKTOP}


def axe_violations(page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page, one line each."""
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async (tags) => {
            const found = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return found.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ` +
                v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(' | '));
        }""",
        WCAG_21_AA,
    )
    return list(result)


def axe_page(open_page, viewport):
    return open_page(viewport=viewport, bypass_csp=True)


def first_link(page, selector: str) -> str:
    return page.locator(selector).first.get_attribute("href")


def check(page, server, label: str, path: str, failures: list[str]) -> None:
    page.goto(f"{server.url}{path}")
    for line in axe_violations(page):
        failures.append(f"{label} ({path}): {line}")


def officer_states(page, server):
    """The officer's desk, from the dashboard down to a dwelling, a person and the trail."""
    yield "dashboard", "/dashboard/"
    page.goto(f"{server.url}/dashboard/")
    unfiled = first_link(page, "#cells a.count")
    yield "figure list", unfiled
    page.goto(f"{server.url}{unfiled}")
    dwelling = first_link(page, "#list a")
    yield "dwelling", dwelling
    page.goto(f"{server.url}{dwelling}")
    person = first_link(page, "#residents a")
    trail = first_link(page, "a[href*='/dashboard/audit/dwelling/']")
    yield "person", person
    yield "dwelling trail", trail
    yield "look-up", "/dashboard/lookup"
    yield "transient list", "/dashboard/lists/transient"
    yield "map", "/dashboard/map"
    yield "flags", "/flags/"
    yield "sweeps", "/sweeps/"
    yield "sweep teams", "/sweeps/teams"


def field_states(page, server):
    """The grid worker's cells, a building, a dwelling and its move-in form."""
    yield "my cells", "/cells/"
    yield "needs attention", "/cells/?show=attention"
    yield "search", "/cells/search"
    yield "field map", "/cells/map"
    page.goto(f"{server.url}/cells/")
    building = first_link(page, "a.gw-row")
    yield "building", building
    page.goto(f"{server.url}{building}")
    dwelling = first_link(page, "a[href*='/cells/dwellings/']")
    yield "grid dwelling", dwelling
    yield "move-in", f"{dwelling}/move-in"


def manager_states(page, server):
    """The property manager's dwellings, to-do list, a dwelling, a filing and signing."""
    yield "my dwellings", "/leases/"
    yield "to do", "/leases/reminders"
    page.goto(f"{server.url}/leases/")
    dwelling = first_link(page, "table a[href^='/leases/dwellings/']")
    yield "lease dwelling", dwelling
    page.goto(f"{server.url}{dwelling}")
    filing = first_link(page, "a[href^='/leases/filings/']")
    yield "filing", filing
    yield "sign", f"{filing}/pledges/rental_pledge/sign"


def admin_states(page, server):
    """The administrator's lists and forms, a cell with its split and delete pages, a user."""
    yield from (
        ("users", "/admin/users"),
        ("new user", "/admin/users/new"),
        ("stations", "/admin/stations"),
        ("grid cells", "/admin/cells"),
        ("focus areas", "/admin/focus-areas"),
        ("new focus area", "/admin/focus-areas/new"),
        ("flag rules", "/admin/rules/"),
        ("over-capacity rule", "/admin/rules/over_capacity"),
        ("settings", "/admin/settings"),
    )
    page.goto(f"{server.url}/admin/cells")
    cell = first_link(page, "table a[href^='/admin/cells/']")
    yield "cell", cell
    yield "split cell", f"{cell}/split"
    yield "delete cell", f"{cell}/delete"
    page.goto(f"{server.url}/admin/users")
    user = first_link(page, "table a[href^='/admin/users/']")
    yield "user", user
    yield "user password", f"{user}/password"


STATES = {
    "officer1": officer_states,
    "grid0001": field_states,
    "manager1": manager_states,
    "admin": admin_states,
}


def test_the_login_page_has_no_violations(open_page, live_server):
    page = axe_page(open_page, TABLET)
    page.goto(f"{live_server.url}/login")
    assert axe_violations(page) == []


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("username", sorted(STATES))
def test_each_roles_pages_have_no_violations(open_page, live_server, username, size):
    page = axe_page(open_page, SIZES[size])
    log_in(page, live_server, username)
    failures: list[str] = []
    for label, path in STATES[username](page, live_server):
        check(page, live_server, label, path, failures)
    assert not failures, "\n".join(failures)


def test_a_refused_form_has_no_violations_and_its_summary_takes_the_focus(open_page, live_server):
    admin = axe_page(open_page, DESKTOP)
    log_in(admin, live_server, "admin")
    admin.goto(f"{live_server.url}/admin/users/new")
    admin.fill("#username", "x")
    with admin.expect_navigation():
        admin.click("button[value=save]")
    admin.watch.forgive_responses(422)
    admin.wait_for_function(
        "document.activeElement && document.activeElement.id === 'error-summary'"
    )
    assert admin.locator("#error-summary a").count() >= 1
    assert axe_violations(admin) == []


def test_a_refused_signature_has_no_violations(open_page, live_server):
    page = axe_page(open_page, TABLET)
    log_in(page, live_server, "manager1")
    *_, (_, sign) = manager_states(page, live_server)
    page.goto(f"{live_server.url}{sign}")
    page.click("#sign-form button[type=submit]")  # no drawing: refused in the page
    assert page.locator("#signature-empty").is_visible()
    assert page.get_attribute("#signature-canvas", "aria-invalid") == "true"
    assert axe_violations(page) == []


@pytest.mark.parametrize("username", sorted(STATES))
def test_narrow_screens_have_no_violations_and_no_sideways_scrolling(
    open_page, live_server, username
):
    """At 320 px, wide tables scroll inside their own region; the page itself never does."""
    page = axe_page(open_page, NARROW)
    log_in(page, live_server, username)
    failures: list[str] = []
    for label, path in STATES[username](page, live_server):
        check(page, live_server, label, path, failures)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > NARROW["width"]:
            failures.append(f"{label} ({path}): the page is {width} px wide at 320 px")
    assert not failures, "\n".join(failures)
