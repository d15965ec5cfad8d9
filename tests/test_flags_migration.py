"""Migration 0007: the capacity rule's history becomes the over-capacity rule's versions, and
back on downgrade."""

from __future__ import annotations

from sqlalchemy import text

from registry import migrate
from registry.db import make_engine


def test_capacity_rules_become_versions_of_the_over_capacity_rule_and_back(scratch_database):
    engine = make_engine(scratch_database)
    migrate.upgrade(engine, "0006")
    with engine.begin() as connection:
        connection.execute(
            text("""
            INSERT INTO capacity_rule (min_floor_area_per_person, max_people_per_room,
                                       valid_from, note)
            VALUES (5, 2, '2025-01-01 00:00+08', '旧标准'),
                   (6.5, 3, '2026-06-01 00:00+08', '新标准')""")
        )
    migrate.upgrade(engine)
    with engine.connect() as connection:
        versions = connection.execute(
            text("""
            SELECT id, rule, enabled, settings, note, based_on_id, valid_from::date::text
            FROM rule_version ORDER BY id""")
        ).all()
        tables = connection.execute(text("SELECT to_regclass('capacity_rule')")).scalar()
    assert tables is None  # one home for the thresholds
    assert [(v.rule, v.enabled, v.note) for v in versions] == [
        ("over_capacity", True, "旧标准"),
        ("over_capacity", True, "新标准"),
    ]
    assert versions[1].settings == {"min_floor_area_per_person": "6.50", "max_people_per_room": 3}
    assert (versions[0].based_on_id, versions[1].based_on_id) == (None, versions[0].id)

    migrate.downgrade(engine, "0006")
    with engine.connect() as connection:
        rows = connection.execute(
            text("""
            SELECT min_floor_area_per_person::text, max_people_per_room, note
            FROM capacity_rule ORDER BY valid_from""")
        ).all()
    assert [tuple(r) for r in rows] == [("5.00", 2, "旧标准"), ("6.50", 3, "新标准")]
    engine.dispose()
