"""Logging in and out through the real app and database."""

import pytest
from helpers import csrf_token_from

from registry.accounts.models import Role
from registry.accounts.passwords import hash_password, verify_password
from registry.accounts.services import authenticate, create_user


@pytest.fixture
def admin(session):
    user = create_user(
        session,
        username="admin1",
        display_name="管理员甲",
        password="correct horse",
        role=Role.ADMIN,
    )
    session.commit()
    return user


def test_password_hash_is_argon2_and_verifies():
    hashed = hash_password("s3cret")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "s3cret")
    assert not verify_password(hashed, "wrong")
    assert not verify_password("not-a-hash", "s3cret")


def test_authenticate_counts_failures_and_resets_on_success(session, admin):
    assert authenticate(session, "admin1", "wrong") is None
    assert admin.failed_logins == 1
    assert authenticate(session, "nobody", "correct horse") is None
    assert authenticate(session, " admin1 ", "correct horse") is admin
    assert admin.failed_logins == 0
    assert admin.last_login_at is not None


def test_login_page_is_chinese_by_default_and_english_on_request(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert "登录" in page.get_data(as_text=True)
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in english and "登录" not in english


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def _log_in(client, username, password):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def test_login_with_right_password_reaches_home(client, admin):
    response = _log_in(client, "admin1", "correct horse")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    landing = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "管理员甲" in landing


def test_wrong_password_keeps_the_username_and_says_why(client, admin):
    response = _log_in(client, "admin1", "nope")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "用户名或密码错误" in body
    assert 'value="admin1"' in body


def test_login_without_csrf_token_is_refused(client, admin):
    response = client.post("/login", data={"username": "admin1", "password": "correct horse"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still not logged in


def test_next_parameter_never_leads_off_site(client, admin):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=//evil.example/",
        data={"username": "admin1", "password": "correct horse", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)
