"""The audit log: entries queued and written at commit, a keyed chain, tampering detected."""

import json
import re
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from helpers import account, audit_entries, csrf_token_from, log_in, session_info
from race import race
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from registry.audit.chain import (
    HASHED_FIELDS,
    KEYED_HMAC,
    LEGACY_SHA256,
    audit_key_bytes,
    entry_digest,
    verify_chain,
)
from registry.audit.models import AuditEntry
from registry.audit.services import Action, record, trail_of
from registry.cli import main
from registry.dashboard.services import LOOKUP_LIMIT
from registry.person.services import view_person


class Actor:
    id = 42
    username = "officer9"


def _three_entries(session):
    for number in range(3):
        record(session, Actor(), Action.UPDATE, "dwelling", number, {"rooms": [2, 3]})
    session.commit()


def _verify(session, audit_key):
    session.expire_all()
    return verify_chain(session, audit_key_bytes(audit_key))


def test_entries_chain_and_verify(session, audit_key):
    _three_entries(session)
    report = _verify(session, audit_key)
    assert report.problems == [] and report.entries[KEYED_HMAC] >= 3
    trail = trail_of(session, "dwelling", 1)
    assert len(trail) == 1 and trail[0].username == "officer9"
    assert trail[0].changes == {"rooms": [2, 3]}
    assert trail[0].chain_version == KEYED_HMAC


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


def _tamper(connection, statement: str, parameters: dict | None = None) -> None:
    """What someone with the table owner's rights could do behind the application's back."""
    connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    connection.execute(text(statement), parameters or {})
    connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET changes = '{\"rooms\": [2, 9]}' WHERE object_id = '1'",
        "UPDATE audit_log SET username = 'someone' WHERE object_id = '0'",
        "DELETE FROM audit_log WHERE object_id = '1'",
    ],
)
def test_tampered_or_removed_entry_is_detected(session, connection, audit_key, statement):
    _three_entries(session)
    _tamper(connection, statement)
    assert _verify(session, audit_key).problems != []


def _rehash_from(session, connection, first_id: int, version: int) -> None:
    """Recompute every hash from entry ``first_id`` on with plain SHA-256, as a writer of
    the table without the audit key can, marking the entries ``version``."""
    session.expire_all()
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    previous = None
    for entry in entries:
        if entry.id >= first_id:
            fields = {name: getattr(entry, name) for name in HASHED_FIELDS}
            digest = entry_digest(fields, previous, LEGACY_SHA256, None)
            _tamper(
                connection,
                "UPDATE audit_log SET previous_hash = :p, entry_hash = :h, chain_version = :v"
                " WHERE id = :id",
                {"p": previous, "h": digest, "v": version, "id": entry.id},
            )
            previous = digest
        else:
            previous = bytes(entry.entry_hash)


@pytest.mark.parametrize("version", [KEYED_HMAC, LEGACY_SHA256])
def test_an_edit_with_recomputed_sha256_hashes_is_caught(session, connection, audit_key, version):
    """Whoever can write the table but has no key cannot make an edited entry verify."""
    _three_entries(session)
    edited = session.scalar(select(AuditEntry.id).where(AuditEntry.object_id == "1"))
    _tamper(
        connection,
        "UPDATE audit_log SET changes = '{\"rooms\": [2, 9]}' WHERE id = :id",
        {"id": edited},
    )
    _rehash_from(session, connection, edited, version)
    problems = _verify(session, audit_key).problems
    assert edited in {problem.entry_id for problem in problems}


def test_legacy_sha256_entries_still_verify_before_keyed_ones(session, connection, audit_key):
    """Entries written before the keyed chain keep version 1 and still check out."""
    _three_entries(session)
    first = session.scalar(select(func.min(AuditEntry.id)))
    _rehash_from(session, connection, first, LEGACY_SHA256)  # as the old code wrote them
    record(session, Actor(), Action.UPDATE, "dwelling", 7, {"rooms": [3, 4]})
    session.commit()
    report = _verify(session, audit_key)
    assert report.problems == []
    assert (report.entries[LEGACY_SHA256], report.entries[KEYED_HMAC]) == (3, 1)


def test_verify_command_reports_intact_and_broken_chains(
    database_url, audit_key, monkeypatch, tmp_path
):
    from registry.db import make_engine

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("REGISTRY_AUDIT_KEY", audit_key)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
        connection.execute(text("TRUNCATE audit_log"))
        connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))

    with Session(engine, info=session_info()) as session:
        _three_entries(session)
    intact = CliRunner().invoke(main, ["audit", "verify"])
    assert intact.exit_code == 0
    assert "3 keyed (HMAC-SHA256) entries, 0 legacy" in intact.output
    with engine.begin() as connection:
        _tamper(connection, "UPDATE audit_log SET reason = 'edited' WHERE object_id = '2'")
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "broken" in result.output and "content does not match its hash" in result.output
    monkeypatch.setenv("REGISTRY_AUDIT_KEY", audit_key_of_someone_else())
    assert CliRunner().invoke(main, ["audit", "verify"]).exit_code == 1
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
        connection.execute(text("TRUNCATE audit_log"))
        connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))
    engine.dispose()


def audit_key_of_someone_else() -> str:
    from registry.person.identity import generate_data_key

    return generate_data_key()


# -- queued entries: written at commit, gone with a rollback -------------------------------


def _count(session, object_id) -> int:
    return len(trail_of(session, "dwelling", object_id))


def test_entries_wait_for_the_commit_and_vanish_with_a_rollback(session, connection):
    def written() -> int:
        return connection.execute(text("SELECT count(*) FROM audit_log")).scalar()

    before = written()
    record(session, Actor(), Action.UPDATE, "dwelling", 501, {"rooms": [1, 2]})
    assert written() == before
    session.rollback()
    assert _count(session, 501) == 0
    record(session, Actor(), Action.UPDATE, "dwelling", 502, {"rooms": [1, 2]})
    session.commit()
    assert _count(session, 502) == 1


def test_a_rolled_back_savepoint_takes_only_its_own_entries(session):
    record(session, Actor(), Action.UPDATE, "dwelling", 511, {"rooms": [1, 2]})
    savepoint = session.begin_nested()
    record(session, Actor(), Action.UPDATE, "dwelling", 512, {"rooms": [1, 2]})
    record(session, Actor(), Action.VIEW, "person", 513)
    savepoint.rollback()
    session.commit()
    assert (_count(session, 511), _count(session, 512)) == (1, 0)
    assert len(trail_of(session, "person", 513)) == 1  # a view happened all the same


def test_views_outlive_a_rollback_changes_do_not(session):
    """A person shown on a page that then fails was still seen: the view is kept."""
    record(session, Actor(), Action.UPDATE, "dwelling", 521, {"rooms": [1, 2]})
    record(session, Actor(), Action.VIEW, "person", 522)
    session.rollback()
    assert _count(session, 521) == 0
    assert [e.action for e in trail_of(session, "person", 522)] == ["view"]


def test_a_session_without_the_audit_key_is_refused_at_record(connection):
    bare = Session(bind=connection, join_transaction_mode="create_savepoint")
    with pytest.raises(RuntimeError, match="no audit key"):
        record(bare, Actor(), Action.VIEW, "person", 1)
    bare.close()


# -- cost of a page that shows many people -------------------------------------------------


@contextmanager
def counted_statements(connection):
    """Every SQL statement sent on ``connection`` while the block runs."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", count)


def _officer_lookup(client, connection, name: str) -> tuple[int, list[str]]:
    """POST a look-up by name and open its results; (people listed, statements sent)."""
    token = csrf_token_from(client.get("/dashboard/lookup").get_data(as_text=True))
    with counted_statements(connection) as statements:
        response = client.post(
            "/dashboard/lookup", data={"q": name, "csrf_token": token}, follow_redirects=True
        )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    listed = len(set(re.findall(r'href="/dashboard/people/(\d+)[?"]', html)))
    return listed, statements


def test_a_look_up_of_fifty_people_costs_what_one_of_a_few_costs(
    demo_app, demo_connection, demo_db
):
    """The view entries are written together at commit: one lock, one insert, any number."""
    # A name needs 2 characters (registry/person/lookup.py): give 60 residents a shared pair.
    demo_db.execute(
        text(
            "UPDATE person SET name = '同名' || id WHERE id IN "
            "(SELECT person_id FROM residence ORDER BY id LIMIT 60)"
        )
    )
    demo_db.commit()
    common = "同名"
    rare = demo_db.scalar(
        text("SELECT name FROM person GROUP BY name HAVING count(*) = 1 ORDER BY name LIMIT 1")
    )
    officer = log_in(demo_app, "officer1")
    many, statements_many = _officer_lookup(officer, demo_connection, common)
    few, statements_few = _officer_lookup(officer, demo_connection, rare)
    assert (many, few) == (LOOKUP_LIMIT, 1)
    for statements in (statements_many, statements_few):
        assert sum("pg_advisory_xact_lock" in s for s in statements) == 1
    assert len(statements_many) == len(statements_few)
    assert len(audit_entries(demo_db, "person", action="view")) >= LOOKUP_LIMIT + 1


def test_a_second_writer_does_not_wait_for_the_first_transaction(race_sessions, audit_key):
    """Two requests viewing different people: the second commits while the first is open.

    Before, the first held the chain lock from its first entry until its commit, so the
    second's view waited for it; now the lock is taken only inside each commit.
    """
    people = {}

    def viewer(person_index: int):
        def work(session):
            admin = account(session, "admin")
            person_id = session.scalar(
                text("SELECT id FROM person ORDER BY id OFFSET :n LIMIT 1"), {"n": person_index}
            )
            view_person(session, admin, person_id)
            people[person_index] = person_id

        return work

    first, second = race(race_sessions, viewer(0), viewer(1))
    assert first.succeeded and second.succeeded
    with race_sessions() as session:
        order = session.scalars(
            select(AuditEntry.object_id).where(AuditEntry.action == "view").order_by(AuditEntry.id)
        ).all()
        assert order[-2:] == [str(people[1]), str(people[0])]  # the second was not held up
        assert verify_chain(session, audit_key_bytes(audit_key)).problems == []


def test_entries_written_before_the_upgrade_become_legacy_and_still_verify(
    scratch_database, audit_key
):
    """A deployment's SHA-256 chain from before 0004 keeps verifying after the upgrade."""
    from registry import migrate
    from registry.db import make_engine

    engine = make_engine(scratch_database)
    migrate.upgrade(engine, "0003")
    previous = None
    with engine.begin() as connection:
        for number in range(3):  # as the code before the keyed chain wrote them
            fields = {
                "occurred_at": datetime(2026, 1, 2, 3, 4, number, tzinfo=UTC),
                "user_id": 42,
                "username": "officer9",
                "action": "update",
                "object_type": "dwelling",
                "object_id": str(number),
                "changes": {"rooms": [2, 3]},
                "reason": None,
            }
            digest = entry_digest(fields, previous, LEGACY_SHA256, None)
            connection.execute(
                text(
                    "INSERT INTO audit_log (occurred_at, user_id, username, action, object_type,"
                    " object_id, changes, reason, previous_hash, entry_hash) VALUES (:occurred_at,"
                    " :user_id, :username, :action, :object_type, :object_id, CAST(:changes AS"
                    " jsonb), :reason, :previous, :digest)"
                ),
                {
                    **fields,
                    "changes": json.dumps(fields["changes"]),
                    "previous": previous,
                    "digest": digest,
                },
            )
            previous = digest
    migrate.upgrade(engine)
    with Session(engine, info=session_info()) as session:
        record(session, Actor(), Action.UPDATE, "dwelling", 3, {"rooms": [3, 4]})
        session.commit()
        report = verify_chain(session, audit_key_bytes(audit_key))
    engine.dispose()
    assert report.problems == []
    assert (report.entries[LEGACY_SHA256], report.entries[KEYED_HMAC]) == (3, 1)


def test_audit_benchmark_counts_the_statements_and_locks_of_a_look_up(
    race_database, data_key, audit_key, tmp_path
):
    from registry.app import create_app
    from registry.audit.bench import run_audit_benchmark
    from registry.config import Settings
    from registry.demo.generate import DEMO_PASSWORD

    settings = Settings(
        instance_path=tmp_path,
        database_url=race_database,
        secret_key="bench",
        data_key=data_key,
        embedded_port=0,
        audit_key=audit_key,
    )
    app = create_app(settings, WTF_CSRF_ENABLED=False)
    with app.extensions["registry.session_factory"]() as session:  # 60 names start alike
        session.execute(
            text(
                "UPDATE person SET name = '同名' || id WHERE id IN "
                "(SELECT person_id FROM residence ORDER BY id LIMIT 60)"
            )
        )
        session.commit()
    printed = run_audit_benchmark(app, DEMO_PASSWORD, hold=0.1)
    app.extensions["registry.session_factory"].kw["bind"].dispose()
    assert f"look-up listing {LOOKUP_LIMIT} people" in printed
    assert "1 chain lock acquisitions" in printed
    assert "second viewer committed in" in printed
