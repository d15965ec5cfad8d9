"""The audit chain: appends link by hash, the table refuses changes, tampering is detected."""

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from registry.audit.services import Action, record, trail_of, verify_chain
from registry.cli import main


class Actor:
    id = 42
    username = "officer9"


def _three_entries(session):
    for number in range(3):
        record(session, Actor(), Action.UPDATE, "dwelling", number, {"rooms": [2, 3]})
    session.commit()


def test_entries_chain_and_verify(session):
    _three_entries(session)
    assert verify_chain(session) == []
    trail = trail_of(session, "dwelling", 1)
    assert len(trail) == 1 and trail[0].username == "officer9"
    assert trail[0].changes == {"rooms": [2, 3]}


def test_database_refuses_update_delete_and_truncate(session, connection):
    _three_entries(session)
    for statement in (
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        savepoint = connection.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))
        savepoint.rollback()


def _tamper(connection, statement: str) -> None:
    """What someone with the table owner's rights could do behind the application's back."""
    connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    connection.execute(text(statement))
    connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET changes = '{\"rooms\": [2, 9]}' WHERE object_id = '1'",
        "UPDATE audit_log SET username = 'someone' WHERE object_id = '0'",
        "DELETE FROM audit_log WHERE object_id = '1'",
    ],
)
def test_tampered_or_removed_entry_is_detected(session, connection, statement):
    _three_entries(session)
    _tamper(connection, statement)
    session.expire_all()
    assert verify_chain(session) != []


def test_verify_command_reports_intact_and_broken_chains(database_url, monkeypatch, tmp_path):
    from registry.db import make_engine

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
        connection.execute(text("TRUNCATE audit_log"))
        connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        _three_entries(session)
    assert CliRunner().invoke(main, ["audit", "verify"]).exit_code == 0
    with engine.begin() as connection:
        _tamper(connection, "UPDATE audit_log SET reason = 'edited' WHERE object_id = '2'")
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "broken" in result.output
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
        connection.execute(text("TRUNCATE audit_log"))
        connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))
    engine.dispose()
