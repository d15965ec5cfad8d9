"""Small helpers shared by the web tests."""

import re


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form on a page, as a browser would submit it."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1)


DEMO_PASSWORD = "demo-2026"


def log_in(app, username: str, password: str = DEMO_PASSWORD, lang: str = "en"):
    """A test client logged in as ``username`` through the real login form."""
    client = app.test_client()
    client.get(f"/login?lang={lang}")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client
