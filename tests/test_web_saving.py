"""The one save wrapper: field errors (422), conflicts and lost races (409), success."""

from __future__ import annotations

import pytest
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from helpers import dwelling_of_cell, log_in, token_of
from sqlalchemy import event, select, text, update
from sqlalchemy.orm.exc import StaleDataError
from wtforms import StringField

from registry import constraints
from registry.accounts.models import USERNAME_UNIQUE_ANY_CASE, UserAccount
from registry.constraints import Refusal
from registry.dwelling.models import Dwelling
from registry.errors import Conflict, InvalidInput
from registry.web.saving import save
from registry.web.session import db_session

RENAMED = "renamed inside the save"


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    display_name = StringField("Display name")


def _rename_admin(name: str = RENAMED) -> UserAccount:
    session = db_session()
    session.execute(
        update(UserAccount).where(UserAccount.username == "admin").values(display_name=name)
    )
    session.flush()
    return session.scalar(select(UserAccount).where(UserAccount.username == "admin"))


def _admin_name() -> str:
    return db_session().scalar(
        select(UserAccount.display_name).where(UserAccount.username == "admin")
    )


def _fail(error: Exception):
    _rename_admin()
    raise error


def test_success_returns_the_result_and_keeps_the_writes(demo_app):
    with demo_app.test_request_context("/", method="POST", data={"display_name": "x"}):
        saved, failed = save(NameForm(), _rename_admin, invalid=lambda f: "form", labels={})
        assert failed is None and saved.username == "admin"
        assert _admin_name() == RENAMED


def test_field_errors_undo_the_services_writes_before_the_form_is_shown(demo_app):
    seen = {}

    def invalid(fields):
        seen["fields"], seen["name"] = fields, _admin_name()
        return "the form again"

    with demo_app.test_request_context("/", method="POST", data={"display_name": "x"}):
        problem = InvalidInput(fields={"display_name": ["Too short"]})
        saved, failed = save(NameForm(), lambda: _fail(problem), invalid=invalid, labels={})
        assert saved is None and failed.status_code == 422
        assert seen["fields"] == {"display_name": ["Too short"]}
        assert seen["name"] != RENAMED


def test_a_registered_constraints_violation_is_a_field_error(demo_app, monkeypatch):
    monkeypatch.setitem(
        constraints._REFUSALS,
        USERNAME_UNIQUE_ANY_CASE,
        Refusal("display_name", _l("This username is taken")),
    )

    def duplicate():
        db_session().execute(
            text(
                "INSERT INTO user_account (username, display_name, password_hash, role) "
                "VALUES ('admin', 'twin', 'x', 'admin')"
            )
        )

    with demo_app.test_request_context("/?lang=en", method="POST", data={"display_name": "x"}):
        _saved, failed = save(NameForm(), duplicate, invalid=lambda f: str(f), labels={})
        assert failed.status_code == 422
        assert "This username is taken" in failed.get_data(as_text=True)
        assert _admin_name() != "twin"  # the session is still usable


def test_a_stale_version_shows_both_sides(demo_app):
    stale = Conflict(current={"display_name": "saved meanwhile"}, version=7)
    with demo_app.test_request_context("/?lang=en", method="POST", data={"display_name": "mine"}):
        saved, failed = save(
            NameForm(),
            lambda: _fail(stale),
            invalid=lambda f: "form",
            labels={"display_name": "Display name"},
        )
        body, status = failed
        assert saved is None and status == 409
        assert "saved meanwhile" in body and "mine" in body
        assert 'name="version" value="7"' in body
        assert _admin_name() != RENAMED


def test_a_lost_race_of_a_creation_is_a_plain_conflict(demo_app):
    def lose():
        raise StaleDataError("UPDATE expected to update 1 row")

    with demo_app.test_request_context("/", method="POST"), pytest.raises(Conflict):
        save(NameForm(), lose, invalid=lambda f: "form", labels={})


# -- a real lost race through a real page --------------------------------------------------


def test_a_save_that_loses_the_race_at_the_update_shows_what_the_other_user_saved(
    committing_app, race_sessions
):
    """Both saves pass the version check; the other one commits first; ours finds no row.

    The other writer commits on its own connection just before our flush, as a second
    request would between our version check and our UPDATE.
    """
    worker = log_in(committing_app, "grid0001")
    with race_sessions() as session:
        dwelling = dwelling_of_cell(session, 1)
        dwelling_id, seen = dwelling.id, dwelling.version
    url = f"/cells/dwellings/{dwelling_id}/edit"
    token = token_of(worker, url)

    def other_user_saves_first(session, flush_context, instances):
        with race_sessions() as other:
            other.get(Dwelling, dwelling_id).floor_area = 55.55
            other.commit()

    factory = committing_app.extensions["registry.session_factory"]
    event.listen(factory, "before_flush", other_user_saves_first, once=True)
    response = worker.post(
        url,
        data={
            "csrf_token": token,
            "version": str(seen),
            "use": "residential",
            "occupancy": "vacant",
            "floor_area": "77.77",
            "rooms": "4",
            "owner_kind": "keep",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "77.77" in body and "55.55" in body
    assert f'name="version" value="{seen + 1}"' in body
    with race_sessions() as session:
        kept = session.get(Dwelling, dwelling_id)
        assert float(kept.floor_area) == 55.55 and kept.version == seen + 1
