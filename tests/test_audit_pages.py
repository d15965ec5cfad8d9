"""Every page that shows a person writes a view entry for each person it shows.

``PAGES`` is the table: who opens which page, and whom the page shows (from the demo
district, in plain SQL). A page added later joins it with one line. On top of the table,
every masked ID number that appears on a page must belong to a person the request logged
as viewed, so a person the table forgot is caught too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from helpers import DEMO_TODAY, account, csrf_token_from, log_in
from sqlalchemy import func, select, text

from registry.audit.models import AuditEntry
from registry.audit.services import Action, record
from registry.db import make_engine
from registry.person.identity import IdentityCipher, mask_document_number


@dataclass(frozen=True)
class Facts:
    """Records of the demo district that the pages below show."""

    dwelling: int  # in grid0001's cell and officer1's jurisdiction; people live there now
    owner: int  # the dwelling's owner, who lives elsewhere
    residents_now: frozenset[int]
    residents_ever: frozenset[int]
    residence: int  # a current residence in the dwelling
    person: int  # who lives there
    person_name: str
    person_number: str  # in clear, as a worker types it
    next_door: int  # another dwelling of grid0001's cell
    filing: int  # a current lease filing that manager1 manages
    landlord: int


@dataclass(frozen=True)
class Page:
    username: str
    url: Callable[[Facts], str]
    shows: Callable[[Facts], set[int]]
    form: Callable[[Facts], dict] | None = None  # POSTed (with the page's CSRF token)
    status: int = 200


PAGES = {
    "worker: dwelling": Page(
        "grid0001",
        lambda f: f"/cells/dwellings/{f.dwelling}",
        lambda f: {f.owner, *f.residents_ever},
    ),
    "worker: dwelling correction": Page(
        "grid0001", lambda f: f"/cells/dwellings/{f.dwelling}/edit", lambda f: {f.owner}
    ),
    "worker: person": Page("grid0001", lambda f: f"/cells/people/{f.person}", lambda f: {f.person}),
    "worker: person correction": Page(
        "grid0001", lambda f: f"/cells/people/{f.person}/edit", lambda f: {f.person}
    ),
    "worker: person correction refused": Page(
        "grid0001",
        lambda f: f"/cells/people/{f.person}/edit",
        lambda f: {f.person},
        form=lambda f: {"name": "", "document_type": "resident_id", "version": "1"},
        status=422,
    ),
    "worker: residence correction": Page(
        "grid0001", lambda f: f"/cells/residences/{f.residence}/edit", lambda f: {f.person}
    ),
    "worker: move-out": Page(
        "grid0001", lambda f: f"/cells/residences/{f.residence}/move-out", lambda f: {f.person}
    ),
    "worker: move-out refused": Page(
        "grid0001",
        lambda f: f"/cells/residences/{f.residence}/move-out",
        lambda f: {f.person},
        form=lambda f: {"moved_out": "not a date", "version": "1"},
        status=422,
    ),
    "worker: move-in confirmation": Page(
        "grid0001",
        lambda f: f"/cells/dwellings/{f.next_door}/move-in",
        lambda f: {f.person},
        lambda f: {
            "document_type": "resident_id",
            "document_number": f.person_number,
            "name": f.person_name,
            "moved_in": DEMO_TODAY.isoformat(),
            "kind": "transient",
            "relationship": "tenant",
        },
    ),
    "worker: search": Page(
        "grid0001", lambda f: "/cells/search", lambda f: {f.person}, lambda f: {"q": f.person_name}
    ),
    "officer: person": Page(
        "officer1", lambda f: f"/dashboard/people/{f.person}", lambda f: {f.person}
    ),
    "officer: dwelling": Page(
        "officer1", lambda f: f"/dashboard/dwellings/{f.dwelling}", lambda f: set(f.residents_now)
    ),
    "officer: look-up": Page(
        "officer1",
        lambda f: "/dashboard/lookup",
        lambda f: {f.person},
        lambda f: {"q": f.person_name},
    ),
    "officer: trail of a person": Page(
        "officer1", lambda f: f"/dashboard/audit/person/{f.person}", lambda f: {f.person}
    ),
    "officer: trail of a dwelling": Page(
        "officer1", lambda f: f"/dashboard/audit/dwelling/{f.dwelling}", lambda f: {f.owner}
    ),
    "manager: filing": Page(
        "manager1", lambda f: f"/leases/filings/{f.filing}", lambda f: {f.landlord}
    ),
    "manager: renewal": Page(
        "manager1", lambda f: f"/leases/filings/{f.filing}/renew", lambda f: {f.landlord}
    ),
    "manager: signing": Page(
        "manager1",
        lambda f: f"/leases/filings/{f.filing}/pledges/rental_pledge/sign",
        lambda f: {f.landlord},
    ),
}


def _ids(session, sql: str, **parameters) -> frozenset[int]:
    return frozenset(session.scalars(text(sql), {"today": DEMO_TODAY, **parameters}))


@pytest.fixture
def facts(demo_db, cipher) -> Facts:
    dwelling, owner = demo_db.execute(
        text("""
        SELECT d.id, d.owner_person_id FROM dwelling d JOIN address a ON a.id = d.address_id
         WHERE a.grid_cell_id = 1 AND d.owner_person_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM residence r
                            WHERE r.dwelling_id = d.id AND r.person_id = d.owner_person_id)
           AND EXISTS (SELECT 1 FROM residence r WHERE r.dwelling_id = d.id AND r.moved_in <= :today
                          AND (r.moved_out IS NULL OR r.moved_out > :today))
         ORDER BY d.id LIMIT 1"""),
        {"today": DEMO_TODAY},
    ).one()
    now = """SELECT person_id FROM residence WHERE dwelling_id = :d AND moved_in <= :today
               AND (moved_out IS NULL OR moved_out > :today)"""
    residence, person, name, ciphertext = demo_db.execute(
        text(f"""SELECT r.id, p.id, p.name, p.document_ciphertext
                   FROM residence r JOIN person p ON p.id = r.person_id
                  WHERE r.person_id IN ({now}) AND r.dwelling_id = :d
                    AND p.document_type = 'resident_id' ORDER BY r.id LIMIT 1"""),
        {"d": dwelling, "today": DEMO_TODAY},
    ).one()
    next_door = demo_db.scalar(
        text("""SELECT d.id FROM dwelling d JOIN address a ON a.id = d.address_id
                 WHERE a.grid_cell_id = 1 AND d.id <> :d ORDER BY d.id LIMIT 1"""),
        {"d": dwelling},
    )
    filing, landlord = demo_db.execute(
        text("""
        SELECT f.id, f.landlord_person_id FROM lease_filing f
          JOIN managed_dwelling m ON m.dwelling_id = f.dwelling_id
          JOIN user_account u ON u.id = m.user_id AND u.username = 'manager1'
         WHERE f.status = 'filed' AND f.starts_on <= :today AND f.ends_on >= :today
         ORDER BY f.id LIMIT 1"""),
        {"today": DEMO_TODAY},
    ).one()
    # The dwelling's trail names its owner: an entry recorded when the owner was set.
    officer = account(demo_db, "officer1")
    record(
        demo_db, officer, Action.UPDATE, "dwelling", dwelling, {"owner_person_id": [None, owner]}
    )
    demo_db.commit()
    return Facts(
        dwelling=dwelling,
        owner=owner,
        residents_now=_ids(demo_db, now, d=dwelling),
        residents_ever=_ids(
            demo_db, "SELECT person_id FROM residence WHERE dwelling_id = :d", d=dwelling
        ),
        residence=residence,
        person=person,
        person_name=name,
        person_number=cipher.decrypt(bytes(ciphertext)),
        next_door=next_door,
        filing=filing,
        landlord=landlord,
    )


@pytest.fixture(scope="module")
def masked_numbers(demo_database: str, data_key: str) -> dict[str, set[int]]:
    """Every demo person's masked number, and who has it (a few masked forms are shared)."""
    cipher = IdentityCipher(data_key)
    engine = make_engine(demo_database)
    holders: dict[str, set[int]] = {}
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, document_ciphertext FROM person WHERE document_ciphertext IS NOT NULL")
        )
        for person_id, ciphertext in rows:
            masked = mask_document_number(cipher.decrypt(bytes(ciphertext)))
            holders.setdefault(masked, set()).add(person_id)
    engine.dispose()
    return holders


def _open(client, page: Page, facts: Facts):
    url = page.url(facts)
    if page.form is None:
        return client.get(url)
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={**page.form(facts), "csrf_token": token}, follow_redirects=True)


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_that_shows_a_person_logs_the_view(
    name, demo_app, demo_db, facts, masked_numbers
):
    page = PAGES[name]
    client = log_in(demo_app, page.username)
    last = demo_db.scalar(select(func.coalesce(func.max(AuditEntry.id), 0)))
    response = _open(client, page, facts)
    html = response.get_data(as_text=True)
    assert response.status_code == page.status, html[:500]
    demo_db.expire_all()
    viewed = {
        int(entry.object_id)
        for entry in demo_db.scalars(
            select(AuditEntry).where(
                AuditEntry.id > last,
                AuditEntry.action == Action.VIEW,
                AuditEntry.object_type == "person",
                AuditEntry.username == page.username,
            )
        )
    }
    assert page.shows(facts) <= viewed
    shown_unlogged = {
        masked
        for masked, holders in masked_numbers.items()
        if masked in html and not holders & viewed
    }
    assert shown_unlogged == set()
