"""The demo district: right size, deterministic, spatially consistent, realistic problems."""

import pytest
from click.testing import CliRunner
from helpers import DEMO_TODAY
from sqlalchemy import func, select, text

from geo.demo_layout import SIZES, build_layout
from registry import migrate
from registry.accounts.services import authenticate
from registry.audit.services import Action, record
from registry.cli import main
from registry.db import make_engine, make_session_factory, transaction
from registry.demo.generate import DEMO_PASSWORD, DemoGenerator
from registry.demo.loader import first_unused_ids, load_demo
from registry.models import Base, Dwelling, GridCell, Person
from registry.person.identity import IdentityCipher, generate_data_key
from registry.validators import validate_credit_code, validate_resident_id


def _tables_without_random_ciphertext(seed: int) -> dict[str, str]:
    generator = DemoGenerator(
        build_layout(SIZES["small"], seed), IdentityCipher(generate_data_key()), DEMO_TODAY, seed
    )
    return {
        t.table + str(i): t.text
        for i, t in enumerate(generator.tables())
        if t.table not in {"person", "user_account"}
    }


def test_same_seed_gives_the_same_district_and_another_seed_another():
    first = _tables_without_random_ciphertext(3)
    assert first == _tables_without_random_ciphertext(3)
    assert first != _tables_without_random_ciphertext(4)


def test_small_district_has_the_promised_size(demo_session):
    count = lambda model: demo_session.scalar(select(func.count()).select_from(model))  # noqa: E731
    assert count(GridCell) == 8
    assert abs(count(Dwelling) - 2000) <= 60
    assert count(Person) == 5000


def test_every_address_has_the_grid_cell_that_contains_it(demo_session):
    mismatches = demo_session.execute(
        text("""
        SELECT count(*) FROM address a
        LEFT JOIN grid_cell g ON ST_Intersects(g.geom, a.geom)
        WHERE a.grid_cell_id IS DISTINCT FROM g.id
    """)
    ).scalar_one()
    unassigned = demo_session.execute(
        text("SELECT count(*) FROM address WHERE grid_cell_id IS NULL")
    ).scalar_one()
    assert (mismatches, unassigned) == (0, 0)


def test_grid_cells_tile_their_community_without_gaps_or_overlaps(demo_session):
    gap, overlap = demo_session.execute(
        text("""
        SELECT ST_Area(ST_SymDifference(c.geom, (SELECT ST_Union(geom) FROM grid_cell))),
               (SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom))), 0)
                FROM grid_cell a JOIN grid_cell b ON a.id < b.id AND ST_Intersects(a.geom, b.geom))
        FROM community c
    """)
    ).one()
    assert gap < 1e-10 and overlap < 1e-10


def test_moving_a_cell_boundary_re_derives_its_addresses(demo_session):
    lowest = demo_session.execute(text("SELECT min(id) FROM grid_cell")).scalar_one()
    cell_id, address_id = demo_session.execute(
        text(
            "SELECT grid_cell_id, id FROM address WHERE grid_cell_id > :lowest ORDER BY id LIMIT 1"
        ),
        {"lowest": lowest},
    ).one()

    def cell_of_address() -> int | None:
        return demo_session.execute(
            text("SELECT grid_cell_id FROM address WHERE id = :a"), {"a": address_id}
        ).scalar_one()

    # Grow the lowest-id cell over the address: where cells overlap, the lowest id wins.
    demo_session.execute(
        text("""
        UPDATE grid_cell SET geom = ST_ConvexHull(ST_Collect(geom,
            (SELECT geom FROM address WHERE id = :address)))
        WHERE id = :lowest
    """),
        {"address": address_id, "lowest": lowest},
    )
    assert cell_of_address() == lowest
    # Remove that cell again: the address falls back to the cell that still contains it.
    for table in ("grid_cell_worker", "focus_area_cell"):
        demo_session.execute(text(f"DELETE FROM {table} WHERE grid_cell_id = :c"), {"c": lowest})
    demo_session.execute(text("DELETE FROM grid_cell WHERE id = :c"), {"c": lowest})
    assert cell_of_address() == cell_id


def test_id_numbers_are_valid_encrypted_and_never_stored_in_clear(demo_session, data_key):
    cipher = IdentityCipher(data_key)
    rows = demo_session.execute(
        text(
            "SELECT id, document_type, document_ciphertext, document_index FROM person "
            "WHERE document_type = 'resident_id' ORDER BY id LIMIT 5"
        )
    ).all()
    numbers = []
    for person_id, kind, ciphertext, index in rows:
        number = cipher.decrypt(bytes(ciphertext))
        assert validate_resident_id(number, today=DEMO_TODAY) == number
        assert bytes(index) == cipher.blind_index(kind, number)
        found = demo_session.execute(
            select(Person.id).where(Person.document_index == cipher.blind_index(kind, number))
        ).scalar_one()
        assert found == person_id
        numbers.append(number)
    for table in Base.metadata.tables:
        for number in numbers:
            hits = demo_session.execute(
                text(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE :pattern'),
                {"pattern": f"%{number}%"},
            ).scalar_one()
            assert hits == 0, f"{table} holds an ID number in clear"


def test_credit_codes_are_valid(demo_session):
    codes = demo_session.execute(text("SELECT credit_code FROM organisation")).scalars().all()
    assert codes and all(validate_credit_code(code) == code for code in codes)


@pytest.mark.parametrize(
    ("problem", "sql"),
    [
        (
            "rented without any filing",
            """
        SELECT count(*) FROM dwelling d WHERE d.occupancy = 'rented'
        AND NOT EXISTS (SELECT 1 FROM lease_filing f WHERE f.dwelling_id = d.id)""",
        ),
        (
            "filing whose term has ended",
            """
        SELECT count(*) FROM lease_filing WHERE ends_on < DATE '2026-11-25'""",
        ),
        (
            "filing without the rental pledge",
            """
        SELECT count(*) FROM lease_filing f
        WHERE NOT EXISTS (SELECT 1 FROM rental_pledge p WHERE p.lease_filing_id = f.id)""",
        ),
        (
            "filing without the security guarantee",
            """
        SELECT count(*) FROM lease_filing f
        WHERE NOT EXISTS (SELECT 1 FROM security_guarantee p WHERE p.lease_filing_id = f.id)""",
        ),
        (
            "more occupants than the legal capacity",
            """
        SELECT count(*) FROM dwelling d, rule_version r
        WHERE r.rule = 'over_capacity'
          AND (SELECT count(*) FROM residence x
               WHERE x.dwelling_id = d.id AND x.moved_out IS NULL)
            > least(floor(d.floor_area / (r.settings->>'min_floor_area_per_person')::numeric),
                    d.rooms * (r.settings->>'max_people_per_room')::int)""",
        ),
    ],
)
def test_realistic_problems_are_present_but_not_the_norm(demo_session, problem, sql):
    problems = demo_session.execute(text(sql)).scalar_one()
    rented = demo_session.execute(
        text("SELECT count(*) FROM dwelling WHERE occupancy = 'rented'")
    ).scalar_one()
    assert 0 < problems < rented * 0.4, problem


def test_history_is_kept_and_who_lives_here_now_is_one_query(demo_session):
    moved_out = demo_session.execute(
        text("SELECT count(*) FROM residence WHERE moved_out IS NOT NULL")
    ).scalar_one()
    assert moved_out > 0
    dwelling_id = demo_session.execute(
        text("SELECT dwelling_id FROM residence WHERE moved_out IS NULL LIMIT 1")
    ).scalar_one()
    current = demo_session.execute(
        text("SELECT count(*) FROM residence WHERE dwelling_id = :d AND moved_out IS NULL"),
        {"d": dwelling_id},
    ).scalar_one()
    assert current >= 1


@pytest.mark.parametrize("username", ["admin", "officer1", "grid0001", "manager1", "landlord1"])
def test_demo_logins_work(demo_session, username):
    assert authenticate(demo_session, username, DEMO_PASSWORD) is not None


def test_scopes_of_demo_accounts_are_filled(demo_session):
    assigned = demo_session.execute(
        text("SELECT count(DISTINCT grid_cell_id) FROM grid_cell_worker")
    ).scalar_one()
    managed = demo_session.execute(
        text("""
        SELECT count(*) FROM managed_dwelling m JOIN user_account u ON u.id = m.user_id
        WHERE u.username IN ('manager1', 'landlord1')""")
    ).scalar_one()
    officer_station = demo_session.execute(
        text("SELECT police_station_id FROM user_account WHERE username = 'officer1'")
    ).scalar_one()
    assert assigned == 8 and managed > 0 and officer_station is not None


# -- reloading ---------------------------------------------------------------------------


def _records(report) -> list[str]:
    """The tables whose rows the demo load made: records an audit entry can name by id."""
    return [table for table in report.counts.rows if "id" in Base.metadata.tables[table].c]


def _audit_every_table(engine, audit_key: str, tables: list[str], which: str) -> None:
    """An audit entry naming the lowest or the highest id of each table."""
    with transaction(make_session_factory(engine, audit_key=audit_key)) as session:
        for table in tables:
            object_id = session.execute(text(f'SELECT {which}(id) FROM "{table}"')).scalar()
            if object_id is not None:
                record(session, None, Action.VIEW, table, object_id)


def _audited_ids_in_use(engine, tables: list[str]) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: reused
            for table in tables
            if (
                reused := connection.execute(
                    text(
                        f'SELECT count(*) FROM audit_log a JOIN "{table}" r '
                        "ON a.object_type = :table AND a.object_id = r.id::text"
                    ),
                    {"table": table},
                ).scalar_one()
            )
        }


def test_a_reload_never_gives_an_audited_id_to_a_new_record(
    scratch_database, data_key, audit_key, monkeypatch, tmp_path
):
    engine = make_engine(scratch_database)
    migrate.upgrade(engine)
    tables = _records(load_demo(scratch_database, data_key, "small", 2, today=DEMO_TODAY))
    _audit_every_table(engine, audit_key, tables, "min")
    _audit_every_table(engine, audit_key, tables, "max")
    assert len(_audited_ids_in_use(engine, tables)) == len(tables) > 15
    monkeypatch.setenv("DATABASE_URL", scratch_database)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("REGISTRY_DATA_KEY", data_key)
    reload = CliRunner().invoke(main, ["demo", "--size", "small", "--seed", "3", "--yes"])
    assert reload.exit_code == 0, reload.output
    assert "Go on?" not in reload.output
    assert _audited_ids_in_use(engine, tables) == {}
    with engine.connect() as connection:
        dwellings = connection.execute(text("SELECT count(*) FROM dwelling")).scalar_one()
        next_person = connection.execute(
            text("SELECT nextval(pg_get_serial_sequence('person', 'id'))")
        ).scalar_one()
        highest_person = connection.execute(text("SELECT max(id) FROM person")).scalar_one()
    engine.dispose()
    assert abs(dwellings - 2000) <= 60 and next_person == highest_person + 1


def test_ids_start_past_those_an_older_version_restarted(scratch_database, audit_key):
    """A district loaded before this fix restarted the sequences; the audit log still
    names the ids it handed out, and a reload starts past them."""
    engine = make_engine(scratch_database)
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine, audit_key=audit_key)) as session:
        record(session, None, Action.VIEW, "person", 5000)
        record(session, None, Action.VIEW, "district", "not-an-id")
    raw = engine.raw_connection()
    with raw.cursor() as cursor:
        first = first_unused_ids(cursor)
    raw.close()
    engine.dispose()
    assert first["person"] == 5001 and first["district"] == 1 and first["dwelling"] == 1


def test_demo_asks_before_replacing_data_and_changes_nothing_on_no(
    scratch_database, monkeypatch, tmp_path
):
    monkeypatch.setenv("DATABASE_URL", scratch_database)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(main, ["user", "create-admin", "chief", "--password", "a-long-secret"])
    assert made.exit_code == 0, made.output
    refused = runner.invoke(main, ["demo", "--size", "small"], input="n\n")
    assert refused.exit_code == 1
    assert "holds 1 user_account" in refused.output and "Go on?" in refused.output
    skipped = runner.invoke(main, ["demo", "--size", "small", "--if-empty"])
    assert skipped.exit_code == 0 and "holds data already" in skipped.output
    engine = make_engine(scratch_database)
    with engine.connect() as connection:
        users = connection.execute(text("SELECT username FROM user_account")).scalars().all()
    engine.dispose()
    assert users == ["chief"]
