"""What the flags' services hand to others: the live leads a weekly sweep visits."""

from __future__ import annotations

from helpers import DEMO_TODAY, account
from sqlalchemy import select, text

from registry.address.models import Address
from registry.flags.rules import rules_in_force
from registry.flags.services import live_leads

PLAIN_LEADS = """
    SELECT f.address_id, array_agg(f.id ORDER BY f.id)
      FROM flag f JOIN address a ON a.id = f.address_id
     WHERE a.grid_cell_id = :cell AND f.state IN ('open', 'in_review')
     GROUP BY 1"""


def leads_of_cell(session, cell: int) -> dict[int, object]:
    addresses = select(Address.id).where(Address.grid_cell_id == cell)
    rows = session.execute(live_leads(session, DEMO_TODAY, addresses))
    return {row.address_id: row for row in rows}


def test_live_leads_are_the_places_with_open_or_in_review_flags_most_urgent_first(
    demo_session,
):
    leads = leads_of_cell(demo_session, 1)
    plain = dict(demo_session.execute(text(PLAIN_LEADS), {"cell": 1}).all())
    assert {a: sorted(c["flag_id"] for c in row.checks) for a, row in leads.items()} == plain
    configs = rules_in_force(demo_session, DEMO_TODAY)
    for row in leads.values():
        priorities = [configs[check["rule"]].priority for check in row.checks]
        assert row.priority == min(priorities) and priorities == sorted(priorities)
    assert len({row.priority for row in leads.values()}) > 1  # the demo has several rules


def test_a_confirmed_flag_is_no_longer_a_lead(demo_session):
    leads = leads_of_cell(demo_session, 1)
    address_id = next(a for a, row in leads.items() if len(row.checks) == 1)
    officer = account(demo_session, "officer1")
    demo_session.execute(
        text("""UPDATE flag SET state = 'confirmed', decided_at = now(), decided_by_id = :u,
                       decision_reason = 'seen' WHERE id = :f"""),
        {"u": officer.id, "f": leads[address_id].checks[0]["flag_id"]},
    )
    assert address_id not in leads_of_cell(demo_session, 1)
