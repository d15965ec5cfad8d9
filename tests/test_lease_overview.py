"""The manager's overview and to-do list, checked against the facts and plain SQL."""

from __future__ import annotations

from datetime import timedelta

from helpers import DEMO_TODAY, account
from sqlalchemy import select, text

from registry.lease import overview


def test_attention_filter_and_reminders_agree(demo_session):
    manager = account(demo_session, "manager1")
    everything = overview.list_my_dwellings(demo_session, manager, DEMO_TODAY, per_page=10_000)
    flagged = overview.list_my_dwellings(
        demo_session, manager, DEMO_TODAY, show=overview.Show.ATTENTION, per_page=10_000
    )
    assert 0 < flagged.total < everything.total
    with_reminders = {row.id for row in everything.rows if overview.reminders_for(row)}
    assert {row.id for row in flagged.rows} == with_reminders
    reminders = overview.list_reminders(demo_session, manager, DEMO_TODAY)
    assert {r.dwelling.id for r in reminders} == with_reminders


def test_tenants_not_on_the_lease_match_plain_sql(demo_session):
    manager = account(demo_session, "manager1")
    rows = overview.list_my_dwellings(demo_session, manager, DEMO_TODAY, per_page=10_000).rows
    expected = dict(
        demo_session.execute(
            text("""
            SELECT r.dwelling_id, count(*) FROM residence r
            JOIN lease_filing l ON l.dwelling_id = r.dwelling_id AND l.status = 'filed'
                 AND l.starts_on <= :d AND l.ends_on >= :d
            WHERE r.relationship = 'tenant' AND r.moved_in <= :d
              AND (r.moved_out IS NULL OR r.moved_out > :d)
              AND NOT EXISTS (SELECT 1 FROM lease_tenant t WHERE t.lease_filing_id = l.id
                              AND t.person_id = r.person_id AND t.removed_on IS NULL)
            GROUP BY r.dwelling_id"""),
            {"d": DEMO_TODAY},
        ).all()
    )
    assert any(row.tenants_not_on_lease for row in rows)
    for row in rows:
        assert row.tenants_not_on_lease == expected.get(row.id, 0), row.id


def test_reminder_kinds_follow_the_facts():
    base = dict(
        id=1,
        address="x",
        short_address="x",
        occupancy="rented",
        occupants_now=2,
        current_filing_id=None,
        current_number=None,
        current_ends_on=None,
        rental_pledge=False,
        security_guarantee=False,
        next_starts_on=None,
        latest_filing_id=None,
        latest_status=None,
        latest_ends_on=None,
        latest_ended_on=None,
        tenants_not_on_lease=0,
        tenant_residents=0,
        today=DEMO_TODAY,
    )

    def kinds(**changes):
        return [r.kind for r in overview.reminders_for(overview.DwellingRow(**{**base, **changes}))]

    assert kinds() == ["unfiled"]
    assert kinds(
        latest_filing_id=5, latest_status="filed", latest_ends_on=DEMO_TODAY - timedelta(days=3)
    ) == ["expired"]
    assert kinds(next_starts_on=DEMO_TODAY + timedelta(days=3)) == []
    assert kinds(occupancy="vacant") == []
    assert kinds(occupancy="vacant", tenant_residents=3) == ["tenants_unfiled"]
    current = dict(current_filing_id=7, current_ends_on=DEMO_TODAY + timedelta(days=30))
    assert kinds(**current, rental_pledge=True, security_guarantee=True) == ["ending"]
    assert kinds(**current, rental_pledge=True) == ["ending", "pledge"]
    assert (
        kinds(
            **current,
            rental_pledge=True,
            security_guarantee=True,
            next_starts_on=DEMO_TODAY + timedelta(days=31),
        )
        == []
    )
    far = dict(
        current_filing_id=7,
        current_ends_on=DEMO_TODAY + timedelta(days=31),
        rental_pledge=True,
        security_guarantee=True,
    )
    assert kinds(**far) == []
    assert kinds(**far, tenants_not_on_lease=1) == ["tenants_unlisted"]


def test_the_managers_list_orders_rooms_as_numbers(demo_session):
    manager = account(demo_session, "manager1")
    (first_dwelling, first), (second_dwelling, second) = demo_session.execute(
        text("""
        SELECT d.id, d.address_id FROM dwelling d JOIN managed_dwelling m ON m.dwelling_id = d.id
        JOIN user_account u ON u.id = m.user_id WHERE u.username = 'manager1'
        ORDER BY d.id LIMIT 2""")
    ).all()
    # Two rooms on one floor of one staircase: 1001 and 101, whose text sorts 1001 first.
    demo_session.execute(
        text("""
        UPDATE address a SET road_id = f.road_id, door_number = f.door_number,
               building = f.building, entrance = f.entrance, floor = 150,
               room = CASE WHEN a.id = :first THEN '1001' ELSE '101' END,
               full_text = f.full_text || CASE WHEN a.id = :first THEN '1001室' ELSE '101室' END
          FROM address f WHERE f.id = :first AND a.id IN (:first, :second)"""),
        {"first": first, "second": second},
    )
    rows = overview.list_my_dwellings(demo_session, manager, DEMO_TODAY, per_page=10_000).rows
    ours = [row for row in rows if row.id in (first_dwelling, second_dwelling)]
    assert [row.id for row in ours] == [second_dwelling, first_dwelling]
    assert ours[0].short_address.endswith("101室") and ours[1].short_address.endswith("1001室")


# -- search, filters and overcrowding on the manager's list --------------------------------


def crowding_rule(session) -> None:
    """A capacity rule under which every dwelling with two or more people is over capacity:
    a new version of the over-capacity rule's settings."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from registry.flags.models import RuleCode, RuleVersion

    newest = session.scalar(
        select(RuleVersion.id)
        .where(RuleVersion.rule == RuleCode.OVER_CAPACITY)
        .order_by(RuleVersion.valid_from.desc(), RuleVersion.id.desc())
        .limit(1)
    )
    session.add(
        RuleVersion(
            rule=RuleCode.OVER_CAPACITY,
            enabled=True,
            priority=1,
            settings={"min_floor_area_per_person": "1000", "max_people_per_room": 1, "band": 3},
            valid_from=datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")),
            based_on_id=newest,
        )
    )
    session.flush()


def test_each_filter_lists_the_dwellings_with_that_reminder(demo_session):
    crowding_rule(demo_session)
    manager = account(demo_session, "manager1")
    rows = overview.list_my_dwellings(demo_session, manager, DEMO_TODAY, per_page=10_000).rows
    kinds = {
        overview.Show.UNFILED: {"unfiled", "tenants_unfiled", "expired"},
        overview.Show.ENDING: {"ending"},
        overview.Show.PLEDGES: {"pledge"},
        overview.Show.OVER_CAPACITY: {"over_capacity"},
    }
    for show, wanted in kinds.items():
        listed = overview.list_my_dwellings(
            demo_session, manager, DEMO_TODAY, show=show, per_page=10_000
        )
        expected = {r.id for r in rows if {m.kind for m in overview.reminders_for(r)} & wanted}
        assert {r.id for r in listed.rows} == expected, show
    crowded = overview.list_my_dwellings(
        demo_session, manager, DEMO_TODAY, show=overview.Show.OVER_CAPACITY, per_page=10_000
    )
    assert crowded.total and all(r.occupants_now > r.capacity for r in crowded.rows)


def test_overcrowding_is_on_the_to_do_list_first(demo_session):
    crowding_rule(demo_session)
    manager = account(demo_session, "manager1")
    reminders = overview.list_reminders(demo_session, manager, DEMO_TODAY)
    crowded = [r for r in reminders if r.kind == "over_capacity"]
    assert crowded and reminders[0].kind == "over_capacity"
    assert all(r.count > r.dwelling.capacity for r in crowded)


def test_the_list_finds_a_door_number_however_typed(demo_session):
    from sqlalchemy import select

    from registry.address.models import Address
    from registry.dwelling.models import Dwelling, managed_dwelling

    manager = account(demo_session, "manager1")
    address = demo_session.scalar(
        select(Address)
        .join(Dwelling, Dwelling.address_id == Address.id)
        .join(managed_dwelling, managed_dwelling.c.dwelling_id == Dwelling.id)
        .where(
            managed_dwelling.c.user_id == manager.id,
            Address.entrance.is_not(None),
            Address.room.is_not(None),
        )
        .order_by(Address.id)
        .limit(1)
    )
    for typed in (
        f"{address.building}-{address.entrance}-{address.room}",
        f"{address.building}栋{address.entrance}单元{address.room}室",
        f"{address.road.name} {address.building}幢 {address.room}",
    ):
        found = overview.list_my_dwellings(demo_session, manager, DEMO_TODAY, search=typed)
        assert found.total >= 1, typed
        assert address.full_text in {r.address for r in found.rows}, typed
    nothing = overview.list_my_dwellings(demo_session, manager, DEMO_TODAY, search="99999栋")
    assert nothing.total == 0
