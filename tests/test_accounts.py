"""Logging in and out through the real app and database."""

import pytest
from helpers import csrf_token_from, submit_login

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


def test_login_with_right_password_reaches_home(client, admin):
    response = submit_login(client, "admin1", "correct horse", lang=None)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    landing = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "管理员甲" in landing


def test_wrong_password_keeps_the_username_and_says_why(client, admin):
    response = submit_login(client, "admin1", "nope", lang=None)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "用户名或密码错误" in body
    assert 'value="admin1"' in body


def test_login_without_csrf_token_is_refused(client, admin):
    response = client.post("/login", data={"username": "admin1", "password": "correct horse"})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still not logged in


def _where_log_in_leads(client, next_url: str) -> str:
    """Where admin1 is sent after logging in through ``/login?next=<next_url>``."""
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        f"/login?next={next_url}",
        data={"username": "admin1", "password": "correct horse", "csrf_token": token},
    )
    return response.headers["Location"]


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example/",
        "/\\evil.example/",
        "%2F%09%2Fevil.example",  # a tab, dropped by browsers: //evil.example
        "/%0A/evil.example",  # a line break: no 500 from the Location header either
        "/%0D%0A/evil.example",
        "%09//evil.example",
        "/%00/evil.example",
        "https://evil.example/",
        "https:/evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
def test_next_parameter_never_leads_off_site(client, admin, next_url):
    assert _where_log_in_leads(client, next_url) == "/"


@pytest.mark.parametrize(
    ("next_url", "followed"),
    [("/admin/users", "/admin/users"), ("/cells/search%3Fq%3D13800000000", "/cells/search")],
)
def test_next_parameter_follows_a_path_of_this_site_only(client, admin, next_url, followed):
    assert _where_log_in_leads(client, next_url) == followed


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


# -- throttling failed log-ins ---------------------------------------------------------------

import time  # noqa: E402

from registry.accounts.ratelimit import ACCOUNT_LIMIT, ADDRESS_LIMIT, LoginThrottle  # noqa: E402
from registry.accounts.views import LAST_ACTIVE, THROTTLE_EXTENSION  # noqa: E402
from registry.audit.services import trail_of  # noqa: E402


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _failure_rows(session) -> list:
    from sqlalchemy import select

    from registry.accounts.models import LoginFailure

    return session.execute(select(LoginFailure.key, LoginFailure.failed_at)).all()


def test_throttle_refuses_after_the_limit_until_the_window_passes(session):
    clock = FakeClock()
    throttle = LoginThrottle(
        "secret", account_limit=3, address_limit=100, window_seconds=900, clock=clock
    )
    for _ in range(2):
        throttle.record_failure(session, "Alice", "10.0.0.1")
    assert throttle.blocked_until(session, "alice", "10.0.0.2") is None
    clock.now += 60
    throttle.record_failure(session, " alice ", "10.0.0.3")
    assert throttle.blocked_until(session, "alice", "10.0.0.9") == 1_000_000.0 + 900
    assert throttle.blocked_until(session, "bob", "10.0.0.1") is None
    clock.now += 841  # the first two failures have left the window, one remains
    assert throttle.blocked_until(session, "alice", "10.0.0.1") is None
    throttle.record_failure(session, "alice", "10.0.0.1")
    assert throttle.blocked_until(session, "alice", "10.0.0.1") is None
    throttle.record_failure(session, "alice", "10.0.0.1")
    assert throttle.blocked_until(session, "alice", "10.0.0.1") == 1_000_060.0 + 900
    throttle.forget_account(session, "ALICE")
    assert throttle.blocked_until(session, "alice", "10.0.0.1") is None


def test_throttle_prunes_failures_older_than_its_window(session):
    clock = FakeClock()
    throttle = LoginThrottle("secret", window_seconds=900, clock=clock)
    for i in range(30):
        throttle.record_failure(session, f"user{i}", f"10.0.0.{i}")
    assert len(_failure_rows(session)) == 60  # one row for the account, one for the address
    clock.now += 901
    throttle.record_failure(session, "late", "10.0.1.1")
    assert [failed_at.timestamp() for _key, failed_at in _failure_rows(session)] == [
        clock.now,
        clock.now,
    ]


def test_throttle_stores_keyed_digests_never_what_was_typed(session):
    """A password typed into the username box must not land in a table in clear."""
    throttle = LoginThrottle("secret")
    throttle.record_failure(session, "correct horse battery", "192.0.2.1")
    keys = [key for key, _failed_at in _failure_rows(session)]
    assert len(keys) == 2 and all(len(key) == 32 for key in keys)
    assert not any(b"horse" in key or b"192.0.2" in key for key in keys)
    other_secret = LoginThrottle("another secret")
    assert other_secret.blocked_until(session, "correct horse battery", "192.0.2.1") is None


# The failure that trips a limit is answered 429, which rolls the request back: only real
# transactions (committing_app) show that its count is kept all the same.


def test_login_is_refused_after_five_failures_for_the_account(committing_app):
    client = committing_app.test_client()
    for attempt in range(ACCOUNT_LIMIT - 1):
        response = submit_login(client, "admin", "wrong", address=f"10.0.0.{attempt}")
        assert response.status_code == 200
        assert "Wrong username or password." in response.get_data(as_text=True)
    fifth = submit_login(client, "admin", "wrong", address="10.0.0.99")
    assert fifth.status_code == 429
    assert "Too many failed log-ins. Try again after" in fifth.get_data(as_text=True)
    # Even the right password is refused now, from any address, and not even checked.
    refused = submit_login(client, "admin", address="10.0.1.1")
    assert refused.status_code == 429
    assert "in about 15 minutes" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302

    throttle = committing_app.extensions[THROTTLE_EXTENSION]
    throttle.clock = FakeClock(throttle.clock() + 15 * 60 + 1)
    assert submit_login(client, "admin", address="10.0.1.1").status_code == 302


def test_login_is_refused_after_twenty_failures_from_one_address(committing_app):
    client = committing_app.test_client()
    for attempt in range(ADDRESS_LIMIT):
        submit_login(client, f"guess{attempt}", "wrong", address="192.0.2.7")
    response = submit_login(client, "admin", address="192.0.2.7")
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.get_data(as_text=True)
    other = submit_login(client, "admin", address="192.0.2.8")
    assert other.status_code == 302


def test_successful_login_is_audited_and_does_not_bump_the_version(client, session, admin):
    version = admin.version
    assert submit_login(client, "admin1", "correct horse", address="10.1.2.3").status_code == 302
    session.expire_all()
    assert admin.version == version
    (entry,) = [e for e in trail_of(session, "user_account", admin.id) if e.action == "login"]
    assert entry.user_id == admin.id
    assert entry.changes["client_address"] == [None, "10.1.2.3"]


def test_session_is_permanent_and_keeps_the_language(client, admin):
    submit_login(client, "admin1", "correct horse", address="10.0.0.1")
    with client.session_transaction() as stored:
        assert stored.permanent
        assert stored["locale"] == "en"
        assert isinstance(stored[LAST_ACTIVE], int)


def test_idle_session_expires_with_a_message(client, admin):
    submit_login(client, "admin1", "correct horse", address="10.0.0.1")
    assert client.get("/").status_code == 302  # to the landing page, not the login
    assert "/login" not in client.get("/").headers["Location"]
    with client.session_transaction() as stored:
        stored[LAST_ACTIVE] -= 31 * 60
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/users")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "logged out after 30 minutes without activity" in page
    assert "/login" in client.get("/").headers["Location"]


def test_activity_keeps_the_session_alive(client, admin):
    submit_login(client, "admin1", "correct horse", address="10.0.0.1")
    with client.session_transaction() as stored:
        stored[LAST_ACTIVE] -= 29 * 60
    assert "/login" not in client.get("/").headers["Location"]
    with client.session_transaction() as stored:
        refreshed = stored[LAST_ACTIVE]
    assert refreshed >= int(time.time()) - 5


def test_logout_ends_the_session(client, admin):
    submit_login(client, "admin1", "correct horse", address="10.0.0.1")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert "/login" in client.get("/").headers["Location"]


def test_the_way_back_after_log_in_carries_the_path_never_the_query(client, admin):
    """A query can hold a searched name or number: it is not put into the log-in URL."""
    asked = client.get("/cells/search?q=13800000000&lang=en")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/login?next=/cells/search"
    submit_login(client, "admin1", "correct horse", address="10.0.0.1")
    with client.session_transaction() as stored:
        stored[LAST_ACTIVE] -= 31 * 60
    expired = client.get("/admin/users?q=13800000000")
    assert expired.headers["Location"] == "/login?next=/admin/users"


def test_production_hashes_with_rfc_9106_low_memory_parameters():
    """Outside the test suite's cheap configuration, a hash costs 64 MiB, 3 passes, 4 lanes."""
    import subprocess
    import sys

    from argon2 import profiles

    from registry.accounts.passwords import PRODUCTION_PARAMETERS

    assert PRODUCTION_PARAMETERS == profiles.RFC_9106_LOW_MEMORY
    made = subprocess.run(
        [
            sys.executable,
            "-c",
            "from registry.accounts.passwords import hash_password; print(hash_password('x'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert made.stdout.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_cheaper_hash_is_renewed_at_log_in(session, admin):
    """A hash made with lower parameters than configured is replaced on the next log-in."""
    from dataclasses import replace

    from argon2 import profiles

    from registry.accounts import passwords

    admin.password_hash = hash_password("correct horse")  # the suite's cheapest profile
    session.flush()
    passwords.use_parameters(replace(profiles.CHEAPEST, time_cost=2, memory_cost=16))
    try:
        assert authenticate(session, "admin1", "correct horse") is admin
        session.refresh(admin)
        assert "$m=16,t=2,p=1$" in admin.password_hash
    finally:
        passwords.use_parameters(profiles.CHEAPEST)


def test_every_worker_process_counts_the_same_failures_and_a_restart_forgets_none(
    make_committing_app, race_sessions
):
    """gunicorn runs several processes: the limit holds across them, and after a restart."""
    first, second = make_committing_app(), make_committing_app()
    for attempt in range(3):
        refused = submit_login(first.test_client(), "admin", "wrong", address=f"10.0.3.{attempt}")
        assert refused.status_code == 200
    assert (
        submit_login(second.test_client(), "admin", "wrong", address="10.0.3.7").status_code == 200
    )
    fifth = submit_login(second.test_client(), "admin", "wrong", address="10.0.3.8")
    assert fifth.status_code == 429
    assert "Too many failed log-ins" in fifth.get_data(as_text=True)
    right = submit_login(first.test_client(), "admin", address="10.0.4.1")
    assert right.status_code == 429
    restarted = make_committing_app()
    assert submit_login(restarted.test_client(), "admin", address="10.0.4.2").status_code == 429
    from sqlalchemy import func, select

    from registry.accounts.models import LoginFailure

    with race_sessions() as session:
        # Five failures, each counted for the account and for its address, all committed.
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == 10


def test_the_failure_that_trips_the_throttle_is_still_counted(committing_app, race_sessions):
    """The 429 rolls the request back; the count is written in a transaction of its own."""
    from sqlalchemy import select

    from registry.accounts.models import UserAccount

    client = committing_app.test_client()
    for attempt in range(ACCOUNT_LIMIT):
        response = submit_login(client, "admin", "wrong", address=f"10.0.2.{attempt}")
    assert response.status_code == 429
    with race_sessions() as session:
        counted = session.scalar(
            select(UserAccount.failed_logins).where(UserAccount.username == "admin")
        )
    assert counted == ACCOUNT_LIMIT


# -- changing one's own password ----------------------------------------------------------

OWN_PASSWORD_URL = "/account/password"
NEW_OWN_PASSWORD = "a-new-own-password"


def _change_own(client, current: str, new: str = NEW_OWN_PASSWORD, again: str | None = None):
    token = csrf_token_from(client.get(OWN_PASSWORD_URL).get_data(as_text=True))
    return client.post(
        OWN_PASSWORD_URL,
        data={
            "csrf_token": token,
            "current_password": current,
            "password": new,
            "password_again": new if again is None else again,
        },
    )


@pytest.mark.parametrize("username", ["admin", "officer1", "grid0001", "manager1", "landlord1"])
def test_every_user_reaches_their_own_password_page_from_the_top_bar(demo_app, username):
    from helpers import log_in

    client = log_in(demo_app, username, lang=None)
    landing = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert f'href="{OWN_PASSWORD_URL}">修改我的密码</a>' in landing
    page = client.get(OWN_PASSWORD_URL).get_data(as_text=True)
    assert "当前密码" in page and 'autocomplete="current-password"' in page
    english = client.get(f"{OWN_PASSWORD_URL}?lang=en").get_data(as_text=True)
    assert "Change my password" in english and "Current password" in english


def test_own_password_follows_the_rules_and_needs_the_current_one(demo_app, demo_db):
    from helpers import field_errors, log_in

    client = log_in(demo_app, "grid0002")
    for current, new, again, field, message in (
        (
            "wrong-password",
            NEW_OWN_PASSWORD,
            None,
            "current_password",
            "This is not your current password",
        ),
        ("demo-2026", "short", None, "password", "At least 10 characters"),
        ("demo-2026", "  GRID0002  ", None, "password", "The password must not be the username"),
        (
            "demo-2026",
            NEW_OWN_PASSWORD,
            "something-else",
            "password_again",
            "The two passwords differ",
        ),
    ):
        refused = _change_own(client, current, new, again)
        assert refused.status_code == 422
        assert field_errors(refused.get_data(as_text=True), field) == [message]
    assert submit_login(demo_app.test_client(), "grid0002").status_code == 302  # unchanged


def test_own_password_change_keeps_this_session_and_ends_the_others(demo_app, demo_db):
    from helpers import audit_entries, log_in, user_named

    client = log_in(demo_app, "grid0003")
    elsewhere = log_in(demo_app, "grid0003")
    response = _change_own(client, "demo-2026")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Your new password is set" in client.get("/cells/").get_data(as_text=True)
    assert elsewhere.get("/cells/").headers["Location"].startswith("/login")
    assert submit_login(demo_app.test_client(), "grid0003").status_code == 200
    assert submit_login(demo_app.test_client(), "grid0003", NEW_OWN_PASSWORD).status_code == 302
    account = user_named(demo_db, "grid0003")
    [entry] = audit_entries(demo_db, "user_account", account.id, "update")
    assert entry.username == "grid0003"
    assert entry.changes == {"password": ["set", "changed"]}


def test_own_password_form_without_its_token_changes_nothing(demo_app):
    from helpers import log_in

    client = log_in(demo_app, "grid0004")
    refused = client.post(
        OWN_PASSWORD_URL,
        data={
            "current_password": "demo-2026",
            "password": NEW_OWN_PASSWORD,
            "password_again": NEW_OWN_PASSWORD,
        },
    )
    assert refused.status_code in (400, 422)
    assert submit_login(demo_app.test_client(), "grid0004").status_code == 302


def test_guessing_the_current_password_is_throttled_and_counted(committing_app, race_sessions):
    """Wrong current passwords count as failed log-ins, kept although each request fails."""
    from helpers import log_in
    from sqlalchemy import select

    from registry.accounts.models import UserAccount

    client = log_in(committing_app, "grid0006")
    for _attempt in range(ACCOUNT_LIMIT):
        assert _change_own(client, "a-wrong-guess").status_code == 422
    blocked = _change_own(client, "demo-2026")
    assert blocked.status_code == 429
    assert "Too many failed log-ins" in blocked.get_data(as_text=True)
    with race_sessions() as session:
        counted = session.scalar(
            select(UserAccount.failed_logins).where(UserAccount.username == "grid0006")
        )
    assert counted == ACCOUNT_LIMIT
    assert (
        submit_login(committing_app.test_client(), "grid0006", address="10.9.9.9").status_code
        == 429
    )


# -- usernames are unique whatever their case -----------------------------------------------


def test_the_database_refuses_a_username_differing_only_in_case(session, admin):
    from sqlalchemy.exc import IntegrityError

    from registry.accounts.models import USERNAME_UNIQUE_ANY_CASE
    from registry.constraints import constraint_of

    with pytest.raises(IntegrityError) as refused, session.begin_nested():
        create_user(session, username="ADMIN1", display_name="twin", password="x", role=Role.ADMIN)
    assert constraint_of(refused.value) == USERNAME_UNIQUE_ANY_CASE


def test_login_takes_the_username_typed_in_any_case(client, admin):
    """A tablet capitalises the first letter: "Admin1" is the account admin1."""
    response = submit_login(client, " Admin1 ", "correct horse", lang=None)
    assert response.status_code == 302
    assert "管理员甲" in client.get("/", follow_redirects=True).get_data(as_text=True)


def test_two_administrators_creating_one_name_in_two_cases_at_once(race_sessions):
    """Both pass the check before the insert; the index refuses the second, in words."""
    from helpers import account
    from race import race

    from registry.accounts.models import USERNAME_UNIQUE_ANY_CASE
    from registry.admin.services import UserInput, create_user_account
    from registry.errors import InvalidInput

    def creating(username: str):
        def work(session):
            data = UserInput(display_name="新管理员", role="admin")
            return create_user_account(session, account(session, "admin"), username, data).id

        return work

    first, second = race(race_sessions, creating("Grid0100"), creating("grid0100"))
    assert first.succeeded
    assert isinstance(second.error, InvalidInput)
    assert second.error.details["constraint"] == USERNAME_UNIQUE_ANY_CASE
    assert str(second.error.details["fields"]["username"][0]) == "This username is taken"
    from sqlalchemy import func, select

    from registry.accounts.models import UserAccount

    with race_sessions() as session:
        names = session.scalars(
            select(UserAccount.username).where(func.lower(UserAccount.username) == "grid0100")
        )
        assert list(names) == ["Grid0100"]


def test_the_upgrade_lists_usernames_differing_in_case_and_stops(race_database):
    from sqlalchemy import text

    from registry import migrate
    from registry.db import make_engine

    engine = make_engine(race_database)
    try:
        migrate.downgrade(engine, "0010")
        with engine.begin() as connection:
            twin = connection.execute(
                text(
                    "INSERT INTO user_account (username, display_name, password_hash, role) "
                    "VALUES ('GRID0001', 'twin', 'x', 'grid_worker') RETURNING id"
                )
            ).scalar_one()
            original = connection.execute(
                text("SELECT id FROM user_account WHERE username = 'grid0001'")
            ).scalar_one()
        with pytest.raises(migrate.MigrationRefused) as refused:
            migrate.upgrade(engine)
        message = str(refused.value)
        assert "usernames that differ only in upper and lower case" in message
        assert f"grid0001 / GRID0001: ids {original}, {twin}" in message
        assert "stopped before changing anything" in message
        assert migrate.current_revision(engine) == "0010"
        # Once the twin is renamed, the upgrade goes through.
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE user_account SET username = 'grid0001b' WHERE id = :id"),
                {"id": twin},
            )
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()
