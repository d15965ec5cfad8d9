"""Every service that changes a dwelling, its residences, filings, tenants or pledges runs the
rules of the dwellings it touched again, in its own transaction (registry/flags/hooks.py)."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest
from helpers import (
    DEMO_TODAY,
    account,
    dwelling_of_cell,
    rented_unfiled_dwelling,
    resident_id_number,
    resident_of_cell,
)
from lease_helpers import landlord_signs, lease
from sqlalchemy import select, text
from test_flags_run import capacity_of, flags_here, quiet_dwelling
from test_person_residences import move_in_by_number

from registry.accounts.models import UserAccount
from registry.dwelling import services as dwellings
from registry.dwelling.models import Dwelling, Occupancy
from registry.flags.models import Flag, FlagState, RuleCode
from registry.grid.models import grid_cell_worker
from registry.lease import filings, pledges, tenants
from registry.person import residences
from registry.person.residences import MoveInInput

WRITING_MODULES = (dwellings, residences, filings, tenants, pledges)
WRITING_VERBS = ("create_", "correct_", "move_", "file_", "renew_", "end_", "add_", "remove_")
WRITING_VERBS += ("sign_", "cancel_")
# Writers that need no recheck of their own, and why.
NOT_RECHECKED = {
    "correct_occupant": "changes a person's name, document or phone: no rule reads them",
    "add_tenancy": "a step of file_lease and add_tenant, which recheck",
}


def test_every_writing_service_rechecks_the_flags():
    """A service added later that writes a dwelling's records must be decorated too."""
    writers = [
        (module.__name__, name, function)
        for module in WRITING_MODULES
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__ and name.startswith(WRITING_VERBS)
    ]
    assert len(writers) >= 12
    missing = [
        f"{module}.{name}"
        for module, name, function in writers
        if name not in NOT_RECHECKED and not getattr(function, "rechecks_flags", False)
    ]
    assert missing == []


def _live(session, dwelling: Dwelling, rule: str) -> list[Flag]:
    return [f for f in flags_here(session, dwelling, rule) if f.state == FlagState.OPEN]


def _move_in(session, worker, cipher, dwelling: Dwelling, number: int):
    data = MoveInInput(
        document_type="resident_id",
        document_number=resident_id_number("19900101", f"{500 + number:03d}"),
        moved_in=(DEMO_TODAY - timedelta(days=90)).isoformat(),
        kind="transient",
        relationship="owner_family",
        name=f"新住户{number}",
    )
    return residences.move_in(session, worker, cipher, dwelling.id, data, DEMO_TODAY)


def test_moving_people_in_and_out_raises_and_resolves_in_the_same_transaction(
    demo_session, worker, cipher
):
    dwelling = quiet_dwelling(demo_session)
    stays = [
        _move_in(demo_session, worker, cipher, dwelling, n)
        for n in range(capacity_of(demo_session, dwelling) + 1)
    ]
    (flag,) = _live(demo_session, dwelling, RuleCode.OVER_CAPACITY)
    residences.move_out(
        demo_session, worker, stays[0].id, DEMO_TODAY.isoformat(), stays[0].version, DEMO_TODAY
    )
    assert _live(demo_session, dwelling, RuleCode.OVER_CAPACITY) == []
    demo_session.refresh(flag)
    assert flag.state == FlagState.RESOLVED and flag.decided_by_id is None


def test_correcting_the_occupancy_raises_the_mismatch(demo_session, worker, cipher):
    dwelling = quiet_dwelling(demo_session)
    _move_in(demo_session, worker, cipher, dwelling, 1)
    data = dwellings.DwellingInput(
        use=str(dwelling.use),
        floor_area=str(dwelling.floor_area),
        rooms=str(dwelling.rooms),
        occupancy=Occupancy.VACANT.value,
    )
    dwellings.correct_dwelling(
        demo_session, worker, cipher, dwelling.id, data, dwelling.version, DEMO_TODAY
    )
    assert _live(demo_session, dwelling, RuleCode.VACANT_OCCUPIED)


def test_filing_a_lease_resolves_rented_without_filing(demo_session, cipher):
    manager = account(demo_session, "manager1")
    dwelling = demo_session.get(Dwelling, rented_unfiled_dwelling(demo_session, "manager1"))
    assert _live(demo_session, dwelling, RuleCode.RENTED_UNFILED)
    tenant = residences.PersonInput("租户", "resident_id", resident_id_number("19920202", "321"))
    filing = filings.file_lease(
        demo_session, manager, cipher, dwelling.id, lease([tenant]), DEMO_TODAY
    )
    assert _live(demo_session, dwelling, RuleCode.RENTED_UNFILED) == []
    # The new filing started more than the grace period ago and lacks both pledges.
    (missing,) = _live(demo_session, dwelling, RuleCode.PLEDGE_MISSING)
    assert missing.fact_key == f"{filing.id}:rental_pledge security_guarantee"


def test_signing_the_missing_pledge_resolves_its_flag(demo_session, worker, cipher):
    flag = demo_session.scalar(
        select(Flag)
        .where(
            Flag.rule == RuleCode.PLEDGE_MISSING,
            Flag.state == FlagState.OPEN,
            Flag.facts["rental_pledge"].as_boolean().is_(False),
            Flag.facts["security_guarantee"].as_boolean().is_(True),
            text(
                "flag.address_id IN (SELECT id FROM address WHERE grid_cell_id IN "
                "(SELECT grid_cell_id FROM grid_cell_worker w JOIN user_account u "
                "ON u.id = w.user_id WHERE u.username = 'grid0001'))"
            ),
        )
        .limit(1)
    )
    if flag is None:
        pytest.skip("the demo's cell 1 has no filing lacking only the rental pledge")
    landlord_signs(demo_session, worker, cipher, flag.facts["filing_id"])
    demo_session.refresh(flag)
    assert flag.state == FlagState.RESOLVED
    assert flag.events[-1].facts_after["rental_pledge"] is True


def test_ending_a_lease_early_with_tenants_living_there(demo_session, cipher):
    manager = account(demo_session, "manager1")
    row = demo_session.execute(
        text("""
        SELECT f.id, f.dwelling_id, f.version FROM lease_filing f
        JOIN managed_dwelling m ON m.dwelling_id = f.dwelling_id
        JOIN user_account u ON u.id = m.user_id AND u.username = 'manager1'
        WHERE f.status = 'filed' AND f.starts_on <= :old AND f.ends_on > :today
          AND EXISTS (SELECT 1 FROM residence r WHERE r.dwelling_id = f.dwelling_id
                      AND r.moved_out IS NULL AND r.relationship = 'tenant')
        ORDER BY f.id LIMIT 1"""),
        {"old": DEMO_TODAY - timedelta(days=60), "today": DEMO_TODAY},
    ).one()
    dwelling = demo_session.get(Dwelling, row.dwelling_id)
    ended = (DEMO_TODAY - timedelta(days=30)).isoformat()
    filings.end_lease_early(demo_session, manager, row.id, ended, row.version, DEMO_TODAY)
    (flag,) = _live(demo_session, dwelling, RuleCode.FILING_ENDED_OCCUPIED)
    assert flag.facts["last_filing_id"] == row.id


def test_a_move_in_elsewhere_flags_the_old_home_until_its_worker_checks(
    demo_session, worker, cipher
):
    """grid0001 moves in someone who lives in cell 2: that stay ends unseen by cell 2's
    worker, so it is flagged there at once, and checking it resolves the flag."""
    elsewhere = resident_of_cell(demo_session, 2)
    old_home = elsewhere.dwelling
    assert flags_here(demo_session, old_home, RuleCode.MOVED_AWAY_UNCHECKED) == []
    number = cipher.decrypt(bytes(elsewhere.person.document_ciphertext))
    confirmed = residences.MoveConfirmation(elsewhere.person_id, (elsewhere.id,))
    target = dwelling_of_cell(demo_session, 1)
    move_in_by_number(
        demo_session, worker, cipher, target.id, number, confirmed, name=elsewhere.person.name
    )
    (flag,) = flags_here(demo_session, old_home, RuleCode.MOVED_AWAY_UNCHECKED)
    assert flag.state == FlagState.OPEN and elsewhere.id in flag.facts["residence_ids"]

    their_worker = demo_session.scalar(
        select(UserAccount)
        .join(grid_cell_worker, grid_cell_worker.c.user_id == UserAccount.id)
        .where(grid_cell_worker.c.grid_cell_id == old_home.address.grid_cell_id)
        .limit(1)
    )
    residences.check_move_away(demo_session, their_worker, elsewhere.id, DEMO_TODAY)
    (flag,) = flags_here(demo_session, old_home, RuleCode.MOVED_AWAY_UNCHECKED)
    assert flag.state == FlagState.RESOLVED and flag.decided_by_id is None
