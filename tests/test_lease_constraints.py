"""What must never happen twice, guarded by the schema: real races and the migration that adds it.

A double-tapped signature and two filings of one term sent together both pass the
services' checks (neither sees the other's uncommitted row); the unique and exclusion
constraints of migration 0002 decide, and each refusal reads as its own message.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers import DEMO_TODAY, account, rented_unfiled_dwelling, resident_id_number
from lease_helpers import landlord_signs, lease, shown_in
from race import race
from sqlalchemy import func, select, text

from registry import migrate
from registry.cli import main
from registry.db import make_engine
from registry.errors import InvalidInput
from registry.lease import filings
from registry.lease.models import LeaseFiling, RentalPledge
from registry.person.services import PersonInput

NEW_CONSTRAINTS = (
    "uq_rental_pledge_signature",
    "uq_security_guarantee_signature",
    "ex_lease_filing_one_term_at_a_time",
)


def refusal(outcome) -> tuple[str, object]:
    """The one field and message of a racer that was refused."""
    assert isinstance(outcome.error, InvalidInput), outcome.error
    ((field, (message,)),) = outcome.error.details["fields"].items()
    return field, message


def test_a_double_tapped_signature_stores_one_pledge_and_says_why(race_sessions, cipher):
    with race_sessions() as session:
        filing_id = session.scalar(
            text("""
            SELECT l.id FROM lease_filing l JOIN dwelling d ON d.id = l.dwelling_id
            JOIN address a ON a.id = d.address_id
            JOIN grid_cell_worker w ON w.grid_cell_id = a.grid_cell_id
            JOIN user_account u ON u.id = w.user_id
            WHERE u.username = 'grid0001' AND l.status = 'filed' AND l.ends_on >= '2026-11-25'
              AND l.starts_on <= '2026-11-25'
              AND NOT EXISTS (SELECT 1 FROM rental_pledge p WHERE p.lease_filing_id = l.id)
            ORDER BY l.id LIMIT 1""")
        )
    assert filing_id is not None

    def sign(session):
        return landlord_signs(session, account(session, "grid0001"), cipher, filing_id)

    first, second = race(race_sessions, sign)
    assert first.succeeded
    field, message = refusal(second)
    assert field == "signer"
    assert shown_in("zh_CN", message) == "该签署人已签署过此版本的房屋出租承诺书"
    assert shown_in("en", message) == (
        "This signer has already signed this version of the rental pledge"
    )
    with race_sessions() as session:
        stored = session.scalar(
            select(func.count()).where(RentalPledge.lease_filing_id == filing_id)
        )
    assert stored == 1


def test_two_filings_of_one_term_sent_together_store_one(race_sessions, cipher):
    with race_sessions() as session:
        dwelling_id = rented_unfiled_dwelling(session, "manager1")
    tenant = PersonInput("竞争", "resident_id", resident_id_number("19900101", "121"))

    def file_it(session):
        manager = account(session, "manager1")
        return filings.file_lease(
            session, manager, cipher, dwelling_id, lease([tenant]), DEMO_TODAY
        )

    first, second = race(race_sessions, file_it)
    assert first.succeeded
    field, message = refusal(second)
    assert field == "starts_on"
    assert (
        shown_in("zh_CN", message) == "租期与该房屋的另一份备案重叠：请先提前终止该租约或办理续租"
    )
    assert "overlaps another filing" in shown_in("en", message)
    with race_sessions() as session:
        stored = session.scalar(select(func.count()).where(LeaseFiling.dwelling_id == dwelling_id))
    assert stored == 1


# -- migration 0002 on data the old code let in ----------------------------------------------


def _constraints_present(connection) -> set[str]:
    rows = connection.execute(
        text("SELECT conname FROM pg_constraint WHERE conname = ANY(:names)"),
        {"names": list(NEW_CONSTRAINTS)},
    )
    return set(rows.scalars())


def _insert_what_the_bugs_let_in(connection) -> dict[str, int]:
    """A pledge signed twice, and a lease filed from the last day of one ended early."""
    original = connection.scalar(text("SELECT min(id) FROM rental_pledge"))
    copy = connection.scalar(
        text("""
        INSERT INTO rental_pledge (lease_filing_id, pledge_document_id, signer_person_id,
                                   signer_name, signed_at)
        SELECT lease_filing_id, pledge_document_id, signer_person_id, signer_name, signed_at
        FROM rental_pledge WHERE id = :id RETURNING id"""),
        {"id": original},
    )
    ended = connection.scalar(
        text("""
        UPDATE lease_filing SET status = 'ended_early', ended_on = starts_on + 10
        WHERE id = (SELECT min(id) FROM lease_filing WHERE ends_on > starts_on + 10)
        RETURNING id""")
    )
    later = connection.scalar(
        text("""
        INSERT INTO lease_filing (filing_number, dwelling_id, landlord_person_id, starts_on,
                                  ends_on, monthly_rent, status)
        SELECT 'TEST-OVERLAP', dwelling_id, landlord_person_id, ended_on, ended_on + 364,
               monthly_rent, 'filed'
        FROM lease_filing WHERE id = :id RETURNING id"""),
        {"id": ended},
    )
    return {"original": original, "copy": copy, "ended": ended, "later": later}


def test_upgrade_lists_the_rows_that_break_the_new_constraints_and_changes_nothing(
    race_database, monkeypatch, tmp_path
):
    engine = make_engine(race_database)
    try:
        migrate.downgrade(engine, "0001")
        with engine.begin() as connection:
            assert _constraints_present(connection) == set()
            ids = _insert_what_the_bugs_let_in(connection)

        with pytest.raises(migrate.MigrationRefused) as refused:
            migrate.upgrade(engine)
        message = str(refused.value)
        assert "stopped before changing anything" in message
        assert f"ids {ids['original']}, {ids['copy']}" in message
        assert f"filing ids {ids['ended']} (" in message and f"and {ids['later']} (" in message
        assert migrate.current_revision(engine) == "0001"
        with engine.connect() as connection:
            assert _constraints_present(connection) == set()

        # The command says the same in one message, not a traceback.
        monkeypatch.setenv("DATABASE_URL", race_database)
        monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
        result = CliRunner().invoke(main, ["db", "upgrade"])
        assert result.exit_code == 1
        assert "stopped before changing anything" in result.output
        assert f"ids {ids['original']}, {ids['copy']}" in result.output
        assert "Traceback" not in result.output
        assert migrate.current_revision(engine) == "0001"

        with engine.begin() as connection:  # what an administrator would do, then again
            connection.execute(
                text("DELETE FROM rental_pledge WHERE id = :id"), {"id": ids["copy"]}
            )
            connection.execute(
                text("DELETE FROM lease_filing WHERE id = :id"), {"id": ids["later"]}
            )
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        with engine.connect() as connection:
            assert _constraints_present(connection) == set(NEW_CONSTRAINTS)
    finally:
        engine.dispose()
