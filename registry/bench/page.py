"""``registry bench page``: what one page costs over a weak connection.

A grid worker's tablet in a stairwell gets perhaps 50 KB/s. This loads a page of a running
server in Debian's Chromium with the network throttled (Chrome DevTools' own network
emulation) and reports the bytes that crossed the wire (as sent: compressed or not) and the
time until the page's ``load`` event, on a first visit (empty browser cache) and on a later
one (the cache as the first visit left it). Pointing it at two servers, one running an
older commit, gives a before/after comparison of the same page on the same data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]
TABLET = {"width": 768, "height": 1024}


@dataclass(frozen=True)
class Visit:
    from_network: int  # responses that crossed the wire (a 304 too)
    from_cache: int  # responses the browser's cache answered without asking
    transferred: int  # bytes on the wire, headers included
    seconds: float


def _throttle(page, rate_kb: float, latency_ms: float) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": latency_ms,
            "downloadThroughput": rate_kb * 1024,
            "uploadThroughput": rate_kb * 1024,
        },
    )
    page.bench_cdp = cdp


def _visit(page, url: str, until: str = "load") -> Visit:
    """Load ``url`` once; count what the network delivered until ``until`` (``load``, or
    ``networkidle`` for what the page's scripts fetch afterwards: a map's data and tiles)."""
    sizes: list[int] = []
    cdp = page.bench_cdp

    def finished(event: dict) -> None:
        sizes.append(event["encodedDataLength"])

    cdp.on("Network.loadingFinished", finished)
    started = time.perf_counter()
    page.goto(url, wait_until=until)
    seconds = time.perf_counter() - started
    page.wait_for_timeout(200)  # late loadingFinished events of the same load
    cdp.remove_listener("Network.loadingFinished", finished)
    network = [size for size in sizes if size > 0]
    return Visit(len(network), len(sizes) - len(network), sum(network), seconds)


def _logged_in_state(browser, base: str, username: str, password: str) -> dict:
    """Cookies of a logged-in session, taken from a context the measurement does not use
    (its cache would hold the page's stylesheet and scripts already)."""
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    state = context.storage_state()
    context.close()
    return state


def measure_page(
    base: str,
    path: str,
    username: str,
    password: str,
    rate_kb: float,
    latency_ms: float,
    until: str = "load",
) -> tuple[Visit, Visit]:
    """(first visit, later visit) of ``base + path`` for ``username`` at ``rate_kb`` KB/s."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return measure_in(browser, base, path, username, password, rate_kb, latency_ms, until)
        finally:
            browser.close()


def measure_in(
    browser,
    base: str,
    path: str,
    username: str,
    password: str,
    rate_kb: float,
    latency_ms: float,
    until: str = "load",
) -> tuple[Visit, Visit]:
    """:func:`measure_page` in a browser already running (the browser tests' own)."""
    state = _logged_in_state(browser, base, username, password)
    context = browser.new_context(viewport=TABLET, has_touch=True, storage_state=state)
    try:
        page = context.new_page()
        _throttle(page, rate_kb, latency_ms)
        return _visit(page, base + path, until), _visit(page, base + path, until)
    finally:
        context.close()


def report(
    path: str, rate_kb: float, latency_ms: float, until: str, first: Visit, later: Visit
) -> str:
    lines = [
        f"{path} at {rate_kb:g} KB/s, {latency_ms:g} ms latency, until {until} (Chromium, 768×1024)"
    ]
    for name, visit in (("first visit", first), ("later visit", later)):
        lines.append(
            f"  {name:<12} {visit.transferred:>9,} B in {visit.from_network:>2} responses"
            f" ({visit.from_cache} from the cache), done after {visit.seconds:.2f} s"
        )
    return "\n".join(lines)
