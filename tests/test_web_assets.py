"""Weak connections: static files fingerprinted, cached for a year, sent compressed; pages
that carry a CSRF token are never compressed (BREACH)."""

from __future__ import annotations

import gzip
import re

import brotli
from helpers import log_in

from registry.config import PROJECT_ROOT

APP_CSS = PROJECT_ROOT / "registry" / "static" / "css" / "app.css"


def stylesheet_url(page: str) -> str:
    match = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{16})"', page)
    assert match, "the stylesheet's URL carries no fingerprint"
    return match.group(1)


def test_static_urls_are_fingerprinted_and_cached_for_a_year(demo_app):
    client = log_in(demo_app, "grid0001")
    url = stylesheet_url(client.get("/cells/").get_data(as_text=True))
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Without the fingerprint, or with an old one, the browser must check again.
    for stale in ("/static/css/app.css", "/static/css/app.css?v=0000000000000000"):
        assert demo_app.test_client().get(stale).headers["Cache-Control"] == "no-cache"


def test_static_files_are_sent_compressed_when_the_browser_accepts_it(demo_app):
    client = demo_app.test_client()
    original = APP_CSS.read_bytes()
    for encoding, decompress in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        response = client.get("/static/css/app.css", headers={"Accept-Encoding": encoding})
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        body = response.get_data()
        assert decompress(body) == original and len(body) < len(original) / 3
    plain = client.get("/static/css/app.css", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.get_data() == original
    leaflet = client.get(
        "/static/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip, deflate, br"}
    )
    assert leaflet.headers["Content-Encoding"] == "br"


def test_pages_with_a_csrf_token_are_not_compressed(demo_app):
    client = log_in(demo_app, "grid0001")
    response = client.get("/cells/search?q=17", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and 'name="csrf_token"' in response.get_data(as_text=True)
    assert "Content-Encoding" not in response.headers
