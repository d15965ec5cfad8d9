"""One home at a time: the exclusion constraint, its message, its migration and a real race."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import DEMO_TODAY, account, dwelling_of_cell, resident_of_cell
from race import race
from sqlalchemy import text

from registry import migrate
from registry.db import make_engine
from registry.errors import InvalidInput
from registry.person import residences
from registry.person.identity import IdentityCipher
from registry.person.models import ONE_HOME, Person
from registry.person.residences import MoveInInput


def _second_open_stay(connection) -> tuple[int, int]:
    """Give a current resident a second open stay elsewhere; (person id, new residence id)."""
    person_id, dwelling_id = connection.execute(
        text(
            "SELECT person_id, dwelling_id FROM residence WHERE moved_out IS NULL "
            "ORDER BY id LIMIT 1"
        )
    ).one()
    other = connection.execute(
        text("SELECT id FROM dwelling WHERE id <> :d ORDER BY id LIMIT 1"), {"d": dwelling_id}
    ).scalar_one()
    residence_id = connection.execute(
        text(
            "INSERT INTO residence (person_id, dwelling_id, moved_in, kind, relationship) "
            "VALUES (:p, :d, :day, 'transient', 'tenant') RETURNING id"
        ),
        {"p": person_id, "d": other, "day": DEMO_TODAY},
    ).scalar_one()
    return person_id, residence_id


def test_the_upgrade_lists_overlapping_stays_and_stops_without_changing_anything(race_database):
    engine = make_engine(race_database)
    try:
        migrate.downgrade(engine, "0002")
        with engine.begin() as connection:
            person_id, residence_id = _second_open_stay(connection)
        with pytest.raises(migrate.MigrationRefused) as refused:
            migrate.upgrade(engine)
        message = str(refused.value)
        assert f"person {person_id}: residence ids" in message
        assert f"and {residence_id} ({DEMO_TODAY} to now)" in message
        assert "stopped before changing anything" in message
        assert migrate.current_revision(engine) == "0002"
        with engine.connect() as connection:
            columns = connection.execute(
                text(
                    "SELECT count(*) FROM information_schema.columns "
                    "WHERE table_name = 'residence' AND column_name = 'end_checked_on'"
                )
            ).scalar_one()
        assert columns == 0
        # Once the earlier stay ends the day the person moved, the upgrade goes through.
        with engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE residence SET moved_out = :day "
                    "WHERE person_id = :p AND id <> :r AND moved_out IS NULL"
                ),
                {"day": DEMO_TODAY, "p": person_id, "r": residence_id},
            )
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def _someone_without_a_home(session) -> int:
    return session.execute(
        text(
            "SELECT p.id FROM person p WHERE p.document_type = 'resident_id' AND NOT EXISTS "
            "(SELECT 1 FROM residence r WHERE r.person_id = p.id "
            " AND (r.moved_out IS NULL OR r.moved_out > :day)) ORDER BY p.id LIMIT 1"
        ),
        {"day": DEMO_TODAY - timedelta(days=30)},
    ).scalar_one()


def test_two_move_ins_of_one_person_at_once_one_lands_the_other_is_told_why(
    race_sessions, data_key
):
    cipher = IdentityCipher(data_key)
    with race_sessions() as session:
        person = session.get(Person, _someone_without_a_home(session))
        data = MoveInInput(
            document_type="resident_id",
            document_number=cipher.decrypt(bytes(person.document_ciphertext)),
            name=person.name,
            moved_in=DEMO_TODAY.isoformat(),
            kind="transient",
            relationship="tenant",
        )
        here, there = dwelling_of_cell(session, 1), dwelling_of_cell(session, 1, offset=1)
        targets = (here.id, there.id)

    def moving_into(dwelling_id):
        def work(session):
            worker = account(session, "grid0001")
            return residences.move_in(session, worker, cipher, dwelling_id, data, DEMO_TODAY).id

        return work

    first, second = race(race_sessions, moving_into(targets[0]), moving_into(targets[1]))
    assert first.succeeded
    assert isinstance(second.error, InvalidInput)
    assert second.error.details["constraint"] == ONE_HOME
    message = str(second.error.details["fields"]["moved_in"][0])
    assert "one dwelling at a time" in message
    with race_sessions() as session:
        homes = session.execute(
            text("SELECT dwelling_id FROM residence WHERE person_id = :p AND moved_out IS NULL"),
            {"p": person.id},
        ).scalars()
        assert list(homes) == [targets[0]]


def test_two_confirmed_moves_of_one_person_at_once_end_their_old_stay_once(race_sessions, data_key):
    """Both workers confirmed ending the same stay; the second is told to check again."""
    cipher = IdentityCipher(data_key)
    with race_sessions() as session:
        stay = resident_of_cell(session, 2)
        person = stay.person
        data = MoveInInput(
            document_type="resident_id",
            document_number=cipher.decrypt(bytes(person.document_ciphertext)),
            name=person.name,
            moved_in=DEMO_TODAY.isoformat(),
            kind="transient",
            relationship="tenant",
        )
        confirmed = residences.MoveConfirmation(person.id, (stay.id,))
        targets = (dwelling_of_cell(session, 1).id, dwelling_of_cell(session, 1, offset=1).id)

    def moving_into(dwelling_id):
        def work(session):
            worker = account(session, "grid0001")
            return residences.move_in(
                session, worker, cipher, dwelling_id, data, DEMO_TODAY, confirmed
            ).id

        return work

    first, second = race(race_sessions, moving_into(targets[0]), moving_into(targets[1]))
    assert first.succeeded
    assert isinstance(second.error, InvalidInput)
    assert list(second.error.details["fields"]) == ["moved_in"]
    assert "at the same time" in str(second.error.details["fields"]["moved_in"][0])
    with race_sessions() as session:
        homes = session.execute(
            text("SELECT dwelling_id FROM residence WHERE person_id = :p AND moved_out IS NULL"),
            {"p": person.id},
        ).scalars()
        assert list(homes) == [targets[0]]
