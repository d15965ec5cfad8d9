"""The browser-test harness itself: a real server, Debian's Chromium, and a watch that fails."""

from __future__ import annotations

from browser import log_in


def test_login_page_loads_everything_from_the_app_and_has_a_favicon(open_page, live_server):
    page = open_page()
    page.goto(f"{live_server.url}/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(f"{live_server.url}{icon}").status == 200
    favicon = page.request.get(f"{live_server.url}/favicon.ico")
    assert favicon.status == 200
    assert favicon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert page.watch.requests  # the watch saw the page's own requests go through


def test_the_watch_blocks_outside_requests_and_records_errors(open_page, live_server):
    page = open_page()
    page.goto(f"{live_server.url}/login")
    page.evaluate(
        """() => {
            const image = document.createElement('img');
            image.src = 'http://192.0.2.1/tracker.png';
            document.body.appendChild(image);
            console.error('deliberate');
        }"""
    )
    page.wait_for_timeout(200)
    watch = page.watch
    assert watch.outside_requests == ["http://192.0.2.1/tracker.png"]
    assert "deliberate" in watch.console_errors
    page.goto(f"{live_server.url}/no-such-page")
    assert any(line.startswith("404 ") for line in watch.failed_responses)
    assert len(watch.problems()) >= 3
    # Seen and checked: the harness must not fail this test for them.
    watch.outside_requests.clear()
    watch.console_errors.clear()
    watch.failed_responses.clear()


def test_logging_in_reaches_the_role_landing_page(open_page, live_server):
    page = open_page()
    log_in(page, live_server, "officer1", lang="en")
    assert page.url.endswith("/dashboard/")
    assert page.locator("html").get_attribute("lang") == "en"
