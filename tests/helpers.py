"""Helpers shared by the tests: logging in, forms, audit entries, facts of the demo district.

The fixtures (``demo_app``, ``demo_db``, ``admin_client`` …) live in ``conftest.py``.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from stdnum.cn import ric

from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.audit.models import AuditEntry
from registry.dwelling.models import Dwelling

# The day the demo district is generated for, and the web pages' pinned "today" on it.
DEMO_TODAY = date(2026, 11, 25)
DEMO_PASSWORD = "demo-2026"


# -- pages and forms -----------------------------------------------------------------------


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form on a page, as a browser would submit it."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1)


def token_of(client, url: str) -> str:
    """The CSRF token of the page at ``url``, which must answer 200."""
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return csrf_token_from(page.get_data(as_text=True))


def post_form(client, url: str, data: dict):
    """Send ``data`` to the form at ``url``, with the CSRF token of that page."""
    return client.post(url, data={"csrf_token": token_of(client, url), **data})


def field_errors(html: str, field_id: str) -> list[str]:
    """The error messages shown inside the form field that holds the element ``field_id``."""
    pattern = re.compile(
        r'<div class="field[^"]*has-error[^"]*">(?:(?!<div class="field).)*?id="'
        + re.escape(field_id)
        + r'"(?:(?!<div class="field).)*?((?:<p class="error">[^<]*</p>\s*)+)',
        re.S,
    )
    match = pattern.search(html)
    if not match:
        return []
    messages = re.findall(r'<p class="error">([^<]*)</p>', match.group(1))
    return [html_lib.unescape(message) for message in messages]


# -- logging in ----------------------------------------------------------------------------


def submit_login(
    client,
    username: str,
    password: str = DEMO_PASSWORD,
    *,
    lang: str | None = "en",
    address: str | None = None,
):
    """Fill in and send the login form; returns the POST response (302 when it worked).

    ``lang=None`` leaves the language alone (Chinese unless chosen before); ``address`` is
    the client's IP address as the server sees it.
    """
    environ = {"REMOTE_ADDR": address} if address else None
    url = f"/login?lang={lang}" if lang else "/login"
    token = csrf_token_from(client.get(url, environ_overrides=environ).get_data(as_text=True))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_overrides=environ,
    )


def log_in(app, username: str, password: str = DEMO_PASSWORD, lang: str | None = "en"):
    """A new test client logged in as ``username`` through the real login form."""
    client = app.test_client()
    response = submit_login(client, username, password, lang=lang)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


# -- what the database holds ---------------------------------------------------------------


def user_named(session: Session, username: str) -> UserAccount:
    session.expire_all()
    return session.scalar(select(UserAccount).where(UserAccount.username == username))


def _audit_query(object_type: str, object_id=None, action: str | None = None):
    query = select(AuditEntry).where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == str(object_id))
    if action:
        query = query.where(AuditEntry.action == action)
    return query


def audit_entries(session: Session, object_type: str, object_id=None, action: str | None = None):
    """The audit entries of one object (of every object of the type without an id), oldest
    first, optionally only those of one action."""
    query = _audit_query(object_type, object_id, action).order_by(AuditEntry.id)
    return list(session.scalars(query))


def audit_count(session: Session, object_type: str, object_id=None, action: str | None = None):
    """How many audit entries ``audit_entries`` would return."""
    query = _audit_query(object_type, object_id, action).subquery()
    return session.scalar(select(func.count()).select_from(query))


# -- demo facts ----------------------------------------------------------------------------


def account(session: Session, username: str) -> UserAccount:
    return session.scalar(select(UserAccount).where(UserAccount.username == username))


def point_in_cell(session: Session, cell_id: int) -> tuple[float, float]:
    """(lon, lat) of a point well inside a grid cell."""
    return session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grid_cell "
            "WHERE id = :c) s"
        ),
        {"c": cell_id},
    ).one()


def building_of_cell(session: Session, cell_id: int) -> Address:
    """The first building (an address without a parent) of a grid cell."""
    return session.scalar(
        select(Address)
        .where(Address.grid_cell_id == cell_id, Address.parent_id.is_(None))
        .order_by(Address.id)
    )


def dwelling_of_cell(session: Session, cell_id: int, offset: int = 0, **where) -> Dwelling:
    """A dwelling of a grid cell (the first, or the ``offset``-th after it) whose columns
    have the values in ``where``."""
    query = (
        select(Dwelling)
        .join(Address, Address.id == Dwelling.address_id)
        .where(Address.grid_cell_id == cell_id)
        .order_by(Dwelling.id)
        .offset(offset)
    )
    for name, value in where.items():
        query = query.where(getattr(Dwelling, name) == value)
    return session.scalar(query)


def rented_unfiled_dwelling(session: Session, username: str) -> int:
    """A rented dwelling of ``username`` that never had a filing and has an owner."""
    return session.scalar(
        text("""
        SELECT d.id FROM dwelling d JOIN managed_dwelling m ON m.dwelling_id = d.id
        JOIN user_account u ON u.id = m.user_id
        WHERE u.username = :u AND d.occupancy = 'rented' AND d.owner_person_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM lease_filing l WHERE l.dwelling_id = d.id)
        ORDER BY d.id LIMIT 1"""),
        {"u": username},
    )


def resident_id_number(born: str, sequence: str) -> str:
    """A valid resident ID number from Wuhan (420106) for a birth date ``YYYYMMDD``."""
    body = "420106" + born + sequence
    return body + ric.calc_check_digit(body + "0")


def add_second_police_station(session: Session) -> dict:
    """A second police station with its own officer ``officer99`` and one community holding
    a rented dwelling with a transient resident, a filed lease and an organisation.

    Returns the ids by table (``station``, ``community``, ``address``, ``dwelling``,
    ``person``, ``residence``, ``lease``); commits (to the test's savepoint).
    """
    from registry.accounts.services import create_user

    def insert(sql: str, **values) -> int:
        return session.execute(text(sql), values).scalar_one()

    ids = {}
    ids["station"] = insert(
        """INSERT INTO police_station (district_id, code, name)
           SELECT id, '420199099', '测试派出所' FROM district LIMIT 1 RETURNING id"""
    )
    ids["community"] = insert(
        """INSERT INTO community (sub_district_id, police_station_id, code, name, geom)
           SELECT id, :s, '420199099099', '测试社区',
                  ST_Multi(ST_MakeEnvelope(114.5, 30.9, 114.51, 30.91, 4326))
             FROM sub_district LIMIT 1 RETURNING id""",
        s=ids["station"],
    )
    ids["address"] = insert(
        """INSERT INTO address (code, community_id, road_id, door_number, full_text, geom)
           SELECT 'T-1', :c, id, '1', '外所测试路1号',
                  ST_SetSRID(ST_MakePoint(114.505, 30.905), 4326)
             FROM road LIMIT 1 RETURNING id""",
        c=ids["community"],
    )
    ids["dwelling"] = insert(
        """INSERT INTO dwelling (address_id, use, floor_area, rooms, occupancy)
           VALUES (:a, 'residential', 60, 2, 'rented') RETURNING id""",
        a=ids["address"],
    )
    session.execute(
        text("""INSERT INTO organisation (credit_code, name, kind, address_id,
                                          legal_representative)
                VALUES ('91420199TEST00001X', '测试公司', 'company', :a, '某某')"""),
        {"a": ids["address"]},
    )
    ids["person"] = insert(
        """INSERT INTO person (name, document_type, phone)
           VALUES ('外所住户', 'passport', '13900009999') RETURNING id"""
    )
    ids["residence"] = insert(
        """INSERT INTO residence (person_id, dwelling_id, moved_in, kind, relationship)
           VALUES (:p, :d, '2026-01-01', 'transient', 'tenant') RETURNING id""",
        p=ids["person"],
        d=ids["dwelling"],
    )
    ids["lease"] = insert(
        """INSERT INTO lease_filing (filing_number, dwelling_id, landlord_person_id,
                                     starts_on, ends_on, monthly_rent)
           VALUES ('T-FILING-1', :d, :p, '2026-01-01', '2027-01-01', 1000) RETURNING id""",
        d=ids["dwelling"],
        p=ids["person"],
    )
    create_user(
        session,
        username="officer99",
        display_name="测试民警",
        password=DEMO_PASSWORD,
        role=Role.POLICE_OFFICER,
        police_station_id=ids["station"],
    )
    session.commit()
    return ids
