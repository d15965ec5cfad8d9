"""Person services: validation of every field at once, birth date from the ID number."""

from datetime import date

import pytest
from helpers import DEMO_TODAY

from registry.errors import InvalidInput
from registry.person.services import PersonInput, clean_person


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
