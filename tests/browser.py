"""Browser tests: the real app served over HTTP, driven by Debian's Chromium through Playwright.

The unit tests' app runs inside one rolled-back transaction on one connection, which cannot
serve a browser's parallel requests. Browser tests therefore run against a real server (a
thread of this process serving ``create_app``) on a committed copy of the demo district.

Every page a test opens is watched (:class:`Watch`): a request to any host other than the
app is blocked and counted, and a console error, an uncaught script error or a response of
400 or more fails the test when the page is closed. Screenshots go to ``screenshots/`` at
the project root (git-ignored), for people to look at.

The fixtures (``live_server``, ``browser``, ``open_page`` …) live in ``conftest.py``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from werkzeug.serving import make_server

from registry.config import PROJECT_ROOT

CHROMIUM = os.environ.get("REGISTRY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]
SCREENSHOTS = PROJECT_ROOT / "screenshots"

DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}


class LiveServer:
    """``app`` served on a free loopback port by a thread, until :meth:`stop`."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@dataclass
class Watch:
    """What went wrong on a page: outside requests, console errors, failed responses."""

    own_netloc: str
    outside_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def route(self, route) -> None:
        """Let requests to the app through; block and count every other host."""
        url = route.request.url
        if urlsplit(url).netloc == self.own_netloc:
            self.requests.append(url)
            route.continue_()
        else:
            self.outside_requests.append(url)
            route.abort("blockedbyclient")

    def console(self, message) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def response(self, response) -> None:
        if response.status >= 400:
            self.failed_responses.append(f"{response.status} {response.url}")

    def problems(self) -> list[str]:
        return (
            [f"request outside the app: {url}" for url in self.outside_requests]
            + [f"console error: {text}" for text in self.console_errors]
            + [f"script error: {text}" for text in self.page_errors]
            + [f"failed response: {line}" for line in self.failed_responses]
        )

    def forgive_responses(self, status: int) -> None:
        """A test that provokes ``status`` on purpose (and its console line) accepts it."""
        self.failed_responses = [r for r in self.failed_responses if not r.startswith(f"{status} ")]
        self.console_errors = [e for e in self.console_errors if f"status of {status}" not in e]


def watch_page(context, server: LiveServer) -> tuple:
    """A new page of ``context`` with a :class:`Watch` attached to it."""
    watch = Watch(server.netloc)
    context.route("**/*", watch.route)
    page = context.new_page()
    page.on("console", watch.console)
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    page.on("response", watch.response)
    return page, watch


def log_in(page, server: LiveServer, username: str, lang: str = "zh_CN", password="demo-2026"):
    """Log in through the real form, in ``lang``; the page then shows the role's landing page."""
    page.goto(f"{server.url}/login?lang={lang}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def screenshot(page, name: str) -> Path:
    """Save what the page shows as ``screenshots/NAME.png`` and return the path."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.wait_for_load_state("networkidle")  # tiles and layers drawn, not half-way
    page.screenshot(path=str(path))
    return path
