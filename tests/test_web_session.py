"""The request boundary: a response below 400 commits the request's writes, any other rolls
them back, and a commit that fails becomes the error response with nothing kept."""

from __future__ import annotations

import pytest
from flask import abort, flash, redirect
from flask import session as cookie_session
from sqlalchemy import select, text, update

from registry.accounts.models import UserAccount
from registry.errors import InvalidInput, NotFound
from registry.web.session import db_session

MARK = "written by the request"


def _rename_admin() -> None:
    """The request's one write: the demo administrator's display name."""
    db_session().execute(
        update(UserAccount).where(UserAccount.username == "admin").values(display_name=MARK)
    )


def _raise(error: Exception):
    raise error


ENDINGS = {
    "page": lambda: "done",
    "redirect": lambda: redirect("/login"),
    "not-found": lambda: _raise(NotFound()),
    "abort-403": lambda: abort(403),
    "invalid": lambda: _raise(InvalidInput(fields={"x": ["no"]})),
    "crash": lambda: _raise(RuntimeError("a bug")),
    "returned-422": lambda: ("the form again", 422),
}


@pytest.fixture
def probe_app(demo_app):
    """The demo app with a route that writes and then ends as its URL says."""

    def write_then(ending: str):
        _rename_admin()
        db_session().flush()
        return ENDINGS[ending]()

    demo_app.add_url_rule("/probe/write-then/<ending>", view_func=write_then)
    return demo_app


def _admin_name(demo_db) -> str:
    demo_db.expire_all()
    return demo_db.scalar(select(UserAccount.display_name).where(UserAccount.username == "admin"))


@pytest.mark.parametrize(("ending", "status"), [("page", 200), ("redirect", 302)])
def test_a_success_commits_the_requests_writes(probe_app, demo_db, ending, status):
    response = probe_app.test_client().get(f"/probe/write-then/{ending}")
    assert response.status_code == status
    assert _admin_name(demo_db) == MARK


@pytest.mark.parametrize(
    ("ending", "status"),
    [
        ("not-found", 404),
        ("abort-403", 403),
        ("invalid", 422),
        ("crash", 500),
        ("returned-422", 422),
    ],
)
def test_every_error_response_rolls_the_requests_writes_back(probe_app, demo_db, ending, status):
    """Also when an error handler rendered the page, so that Flask saw no error at all."""
    response = probe_app.test_client().get(f"/probe/write-then/{ending}")
    assert response.status_code == status
    assert _admin_name(demo_db) != MARK


@pytest.fixture
def losing_app(demo_app):
    """A route whose change loses a race that only the commit's flush notices.

    It changes the administrator's display name without flushing, then another writer
    moves the row to a new version behind the session's back; the commit's UPDATE finds
    no row of the version it read.
    """

    def change_then_lose():
        session = db_session()
        admin = session.scalar(select(UserAccount).where(UserAccount.username == "admin"))
        admin.display_name = MARK
        session.connection().execute(
            text("UPDATE user_account SET version = version + 1 WHERE id = :id"),
            {"id": admin.id},
        )
        cookie_session["left_by_the_request"] = True
        flash("Saved.", "ok")
        return redirect("/login")

    demo_app.add_url_rule("/probe/lose", view_func=change_then_lose)
    return demo_app


def test_a_failed_commit_is_a_conflict_page_and_leaves_nothing_behind(losing_app, demo_db):
    client = losing_app.test_client()
    response = client.get("/probe/lose?lang=en")
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else changed this record while you were editing it." in body
    assert _admin_name(demo_db) != MARK
    # The cookie session is as the request found it: no "Saved." waiting for the next page.
    with client.session_transaction() as kept:
        assert "left_by_the_request" not in kept
        assert "_flashes" not in kept
    assert "Saved." not in client.get("/login").get_data(as_text=True)


@pytest.fixture
def duplicating_app(demo_app):
    """A route that adds a second account named admin, which only the commit's flush sees."""

    def duplicate():
        db_session().add(
            UserAccount(username="admin", display_name="twin", password_hash="x", role="admin")
        )
        flash("Saved.", "ok")
        return redirect("/login")

    demo_app.add_url_rule("/probe/duplicate", view_func=duplicate)
    return demo_app


def test_a_constraint_refusing_the_commit_says_why_in_the_users_words(duplicating_app, demo_db):
    response = duplicating_app.test_client().get("/probe/duplicate?lang=en")
    assert response.status_code == 409
    assert "This username is taken" in response.get_data(as_text=True)
    assert demo_db.scalar(select(UserAccount.id).where(UserAccount.display_name == "twin")) is None


def test_an_unexpected_failure_of_the_commit_is_the_error_page(
    duplicating_app, demo_db, monkeypatch
):
    from registry import constraints
    from registry.accounts.models import USERNAME_UNIQUE_ANY_CASE

    monkeypatch.delitem(constraints._REFUSALS, USERNAME_UNIQUE_ANY_CASE)  # as if unknown
    response = duplicating_app.test_client().get("/probe/duplicate?lang=en")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)
    assert demo_db.scalar(select(UserAccount.id).where(UserAccount.display_name == "twin")) is None
