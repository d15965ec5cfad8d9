"""Person services: validation of every field at once, birth date from the ID number."""

from datetime import date

import pytest
from helpers import DEMO_TODAY, account, audit_entries
from sqlalchemy import func, select

from registry.errors import Forbidden, InvalidInput
from registry.person.models import Person
from registry.person.services import PersonInput, clean_person, reveal_document


def test_birth_date_is_taken_from_a_resident_id_when_not_given():
    clean = clean_person(PersonInput("张三", "resident_id", "11010519491231002x"), DEMO_TODAY)
    assert clean.birth_date == date(1949, 12, 31)
    assert clean.document_number == "11010519491231002X"


def test_a_passport_gives_no_birth_date_and_a_given_date_wins():
    assert clean_person(PersonInput("Ann", "passport", "E12345678"), DEMO_TODAY).birth_date is None
    given = clean_person(
        PersonInput("张三", "resident_id", "11010519491231002X", birth_date=date(1950, 1, 1)),
        DEMO_TODAY,
    )
    assert given.birth_date == date(1950, 1, 1)


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(InvalidInput) as error:
        clean_person(PersonInput("", "resident_id", "110105194912310021", phone="12"), DEMO_TODAY)
    assert set(error.value.details["fields"]) == {"name", "document_number", "phone"}


# -- a refused reveal ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "reason", "refusal", "why"),
    [("admin", " ", InvalidInput, "reason"), ("grid0001", "核查案件线索", Forbidden, "role")],
)
def test_a_refused_reveal_is_logged_and_outlives_the_rollback(
    race_sessions, cipher, username, reason, refusal, why
):
    """The refusal rolls the request back; the entry was committed on its own before."""
    with race_sessions() as session:
        actor = account(session, username)
        person_id = session.scalar(select(func.min(Person.id)))
        with pytest.raises(refusal):
            reveal_document(session, actor, cipher, person_id, reason)
        session.rollback()
    with race_sessions() as session:
        entries = audit_entries(session, "person", person_id, action="reveal_refused")
        assert [(e.username, e.changes) for e in entries] == [(username, {"refused": why})]
