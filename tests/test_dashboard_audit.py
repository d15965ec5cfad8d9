"""The officer's audit trails read as sentences, not as the log's raw JSON.

A grid worker corrects a dwelling, one of its residences and its address; a property
manager adds a tenant to a filing, has them sign the security guarantee and removes them
again. The officer then reads the trails of the dwelling, the address and the filing: every
field has a label, enum values and dates are shown in the page's language (Chinese by
default, English on request), ids are shown as what they point at, and a filing's trail
holds its tenants' and pledges' entries. Everything runs in a transaction rolled back.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
import struct
import zlib
from decimal import Decimal

import pytest
from babel.dates import format_date
from flask_babel import force_locale
from helpers import (
    DEMO_TODAY,
    csrf_token_from,
    dwelling_of_cell,
    log_in,
    post_form,
    resident_id_number,
    token_of,
)
from sqlalchemy import event, select, text

from registry.address.models import Address, Road
from registry.address.services import address_values
from registry.dashboard.labels import FIELD_LABELS, RECORD_FIELD_LABELS, VIEW_CONTEXT_LABELS
from registry.dwelling.models import Dwelling
from registry.lease.models import LeaseFiling, LeaseTenant
from registry.person.models import Person, Residence

NEW_TENANT = ("审计租客丁", resident_id_number("19920817", "746"))

# Stored field names and enum values that must never reach the page as they are.
RAW_FIELDS = (
    "occupancy",
    "floor_area",
    "road_id",
    "door_number",
    "full_text",
    "lease_filing_id",
    "person_id",
    "landlord_person_id",
    "signer_person_id",
    "signer_role",
    "pledge_document",
    "signed_at",
    "signature_sha256",
    "added_on",
    "removed_on",
    "moved_in",
    "relationship",
)
RAW_VALUES = ("owner_occupied", "rented", "transient", "registered", "tenant", "residential")


def png() -> bytes:
    """A small RGBA PNG with a dark diagonal stroke: a drawn signature."""
    width, height = 120, 40
    rows = b""
    for y in range(height):
        row = bytearray(width * 4)
        for x in range(width):
            if abs(x // 3 - y) <= 1:
                row[x * 4 : x * 4 + 4] = b"\x11\x18\x27\xff"
        rows += b"\x00" + bytes(row)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def trail_text(html: str) -> str:
    """The text of the trail's table, tags stripped and entities decoded."""
    match = re.search(r'<table class="table" id="trail">(.*?)</table>\s*</div>', html, re.S)
    assert match, "the page has no trail table"
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))


def in_language(app, locale: str, message) -> str:
    """A lazy message as the app shows it in ``locale``."""
    with app.test_request_context(), force_locale(locale):
        return str(message)


# -- the day's changes ---------------------------------------------------------------------


@pytest.fixture
def changes(demo_app, demo_db):
    """What the grid worker and the manager changed: the ids and values to look for."""
    facts = {}
    worker = log_in(demo_app, "grid0001")

    # The dwelling: owner-occupied becomes rented, the floor area is corrected.
    dwelling = dwelling_of_cell(demo_db, 1, occupancy="owner_occupied")
    response = post_form(
        worker,
        f"/cells/dwellings/{dwelling.id}/edit",
        {
            "version": str(dwelling.version),
            "use": str(dwelling.use),
            "occupancy": "rented",
            "floor_area": str(dwelling.floor_area + Decimal("1.5")),
            "rooms": str(dwelling.rooms),
            "owner_kind": "keep",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    facts["dwelling"] = dwelling.id

    # One of its residences: transient becomes registered, or the other way round.
    residence = demo_db.scalar(
        select(Residence)
        .where(Residence.dwelling_id == dwelling.id, Residence.moved_out.is_(None))
        .order_by(Residence.id)
    )
    kind = "registered" if str(residence.kind) == "transient" else "transient"
    response = post_form(
        worker,
        f"/cells/residences/{residence.id}/edit",
        {
            "version": str(residence.version),
            "moved_in": residence.moved_in.isoformat(),
            "moved_out": "",
            "kind": kind,
            "relationship": str(residence.relationship_to_dwelling),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    facts["residence"] = residence.id
    facts["resident"] = demo_db.get(Person, residence.person_id).name

    # Its address: another road of the cell and another room number.
    address = demo_db.get(Address, dwelling.address_id)
    values = address_values(address)
    other_road = demo_db.scalar(
        select(Road)
        .join(Address, Address.road_id == Road.id)
        .where(Address.grid_cell_id == 1, Road.id != address.road_id)
        .order_by(Road.id)
        .limit(1)
    )
    response = post_form(
        worker,
        f"/cells/addresses/{address.id}/edit",
        {
            "version": str(address.version),
            "road_id": str(other_road.id),
            "door_number": values["door_number"],
            "building": values["building"] or "",
            "entrance": values["entrance"] or "",
            "floor": "" if values["floor"] is None else str(values["floor"]),
            "room": "9901",
            "lon": f"{values['lon']:.7f}",
            "lat": f"{values['lat']:.7f}",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    facts["address"] = address.id
    facts["roads"] = (demo_db.get(Road, values["road_id"]).name, other_road.name)

    # A current filing of manager1: a tenant added, signing the guarantee, then removed.
    manager = log_in(demo_app, "manager1")
    filing_id = demo_db.execute(
        text("""
        SELECT l.id FROM lease_filing l JOIN managed_dwelling m ON m.dwelling_id = l.dwelling_id
        JOIN user_account u ON u.id = m.user_id
        WHERE u.username = 'manager1' AND l.status = 'filed'
          AND l.starts_on <= :d AND l.ends_on >= :d
        ORDER BY l.id LIMIT 1"""),
        {"d": DEMO_TODAY},
    ).scalar_one()
    filing = demo_db.get(LeaseFiling, filing_id)
    url = f"/leases/filings/{filing_id}"
    response = manager.post(
        f"{url}/tenants",
        data={
            "csrf_token": token_of(manager, url),
            "version": filing.version,
            "name": NEW_TENANT[0],
            "document_type": "resident_id",
            "document_number": NEW_TENANT[1],
            "phone": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    demo_db.expire_all()
    tenancy = demo_db.scalar(
        select(LeaseTenant)
        .join(Person, Person.id == LeaseTenant.person_id)
        .where(LeaseTenant.lease_filing_id == filing_id, Person.name == NEW_TENANT[0])
    )
    sign_url = f"{url}/pledges/security_guarantee/sign"
    page = manager.get(sign_url).get_data(as_text=True)
    response = manager.post(
        sign_url,
        data={
            "csrf_token": csrf_token_from(page),
            "signer": f"tenant-{tenancy.person_id}",
            "confirm": "y",
            "signature": "data:image/png;base64," + base64.b64encode(png()).decode("ascii"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    demo_db.expire_all()
    response = manager.post(
        f"{url}/tenants/{tenancy.id}/remove",
        data={"csrf_token": token_of(manager, url), "version": filing.version},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    facts["filing"] = filing_id
    facts["filing_number"] = filing.filing_number
    facts["landlord"] = demo_db.get(Person, filing.landlord_person_id).name
    return facts


@pytest.fixture
def officer(demo_app):
    return log_in(demo_app, "officer1", lang=None)


# -- the trails ----------------------------------------------------------------------------


def test_dwelling_trail_in_chinese_has_labels_and_its_residences(officer, changes, demo_app):
    response = officer.get(f"/dashboard/audit/dwelling/{changes['dwelling']}")
    assert response.status_code == 200
    shown = trail_text(response.get_data(as_text=True))
    assert "使用状况" in shown and "建筑面积（平方米）" in shown
    assert "自住" in shown and "出租" in shown  # owner_occupied → rented
    assert "修改" in shown  # the action
    # The residence's correction is part of the dwelling's trail, named by its person.
    assert "居住登记" in shown and changes["resident"] in shown
    assert "人口类别" in shown and "户籍人口" in shown and "流动人口" in shown
    html = response.get_data(as_text=True)
    assert f'href="/dashboard/audit/residence/{changes["residence"]}"' in html
    for raw in RAW_FIELDS + RAW_VALUES:
        assert not re.search(rf"\b{raw}\b", shown), raw


def test_address_trail_names_the_roads(officer, changes, demo_app):
    shown = trail_text(officer.get(f"/dashboard/audit/address/{changes['address']}").text)
    before, after = changes["roads"]
    assert before in shown and after in shown
    assert "街路巷" in shown and "户室" in shown and "地址" in shown
    assert "9901" in shown
    for raw in RAW_FIELDS:
        assert not re.search(rf"\b{raw}\b", shown), raw

    english = trail_text(officer.get(f"/dashboard/audit/address/{changes['address']}?lang=en").text)
    assert "Road or lane" in english and "Room" in english and "Address" in english
    assert before in english and after in english
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", english)  # no stored field name at all


def test_lease_trail_lists_tenants_and_pledges_in_chinese(officer, changes, demo_app):
    response = officer.get(f"/dashboard/audit/lease/{changes['filing']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    shown = trail_text(html)
    # The tenant added and removed, and the guarantee they signed, each with its label.
    assert shown.count("承租人 · " + NEW_TENANT[0]) == 2
    assert "治安责任保证书 · " + NEW_TENANT[0] in shown
    assert "新建" in shown and "修改" in shown
    assert "列入租约日期" in shown and "签署人" in shown and "租赁备案" in shown
    for field in ("removed_on", "signer_role", "signed_at", "pledge_document"):
        assert in_language(demo_app, "zh_CN", FIELD_LABELS[field]) in shown, field
    # Values: the filing by its number, the signer by name and role, dates in Chinese.
    assert changes["filing_number"] in shown
    assert f'href="/leases/filings/{changes["filing"]}"' in html
    assert "承租人" in shown  # the signer's role
    assert format_date(DEMO_TODAY, "medium", locale="zh_CN") in shown
    assert DEMO_TODAY.isoformat() not in shown
    assert "治安责任保证书 · " in shown and "2025.1" in shown  # the text signed, and its version
    for raw in RAW_FIELDS + RAW_VALUES:
        assert not re.search(rf"\b{raw}\b", shown), raw
    assert NEW_TENANT[1] not in html  # a full document number never appears


def test_trails_in_english(officer, changes):
    dwelling = trail_text(
        officer.get(f"/dashboard/audit/dwelling/{changes['dwelling']}?lang=en").text
    )
    assert "Occupancy" in dwelling and "Owner-occupied" in dwelling and "Rented" in dwelling
    assert "Floor area (m²)" in dwelling and "Population type" in dwelling
    assert "Residence · " + changes["resident"] in dwelling

    lease = trail_text(officer.get(f"/dashboard/audit/lease/{changes['filing']}?lang=en").text)
    assert lease.count("Tenant · " + NEW_TENANT[0]) == 2
    assert "Security guarantee · " + NEW_TENANT[0] in lease
    assert "On the lease since" in lease and "Removed from the lease on" in lease
    assert "Signed as" in lease and "Who signs" in lease and "Lease filing" in lease
    assert format_date(DEMO_TODAY, "medium", locale="en") in lease
    assert DEMO_TODAY.isoformat() not in lease
    for shown in (dwelling, lease):
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", shown)
        assert "owner_occupied" not in shown and "landlord_person_id" not in shown


def test_person_trail_says_where_a_list_showed_the_person(demo_app, demo_db, officer):
    dwelling = dwelling_of_cell(demo_db, 1, occupancy="owner_occupied")
    person_id = demo_db.scalar(
        select(Residence.person_id)
        .where(Residence.dwelling_id == dwelling.id, Residence.moved_out.is_(None))
        .order_by(Residence.id)
    )
    worker = log_in(demo_app, "grid0001")
    assert worker.get(f"/cells/dwellings/{dwelling.id}").status_code == 200  # lists residents

    html = officer.get(f"/dashboard/audit/person/{person_id}").text
    shown = trail_text(html)
    assert "查阅" in shown  # viewed
    assert in_language(demo_app, "zh_CN", FIELD_LABELS["context"]) in shown
    assert in_language(demo_app, "zh_CN", VIEW_CONTEXT_LABELS["dwelling"]) in shown
    assert ">context<" not in html and ">dwelling<" not in html  # the stored note
    english = trail_text(officer.get(f"/dashboard/audit/person/{person_id}?lang=en").text)
    assert "Shown in" in english and "Occupants of a dwelling" in english


def test_the_page_makes_as_many_queries_for_many_entries_as_for_few(
    officer, changes, demo_app, demo_db, demo_connection
):
    url = f"/dashboard/audit/lease/{changes['filing']}"
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    officer.get(url)  # warm up: the session's user and the like
    event.listen(demo_connection, "before_cursor_execute", count)
    try:
        officer.get(url)
        few = len(statements)
        assert few > 0
        manager = log_in(demo_app, "manager1")
        filing_url = f"/leases/filings/{changes['filing']}"
        for number, name in ((1, "审计租客戊"), (2, "审计租客己")):
            demo_db.expire_all()
            version = demo_db.get(LeaseFiling, changes["filing"]).version
            response = manager.post(
                f"{filing_url}/tenants",
                data={
                    "csrf_token": token_of(manager, filing_url),
                    "version": version,
                    "name": name,
                    "document_type": "resident_id",
                    "document_number": resident_id_number("19900101", f"80{number}"),
                    "phone": "",
                },
            )
            assert response.status_code == 302
        statements.clear()
        html = officer.get(url).get_data(as_text=True)
        assert "审计租客戊" in html and "审计租客己" in html
        assert len(statements) == few
    finally:
        event.remove(demo_connection, "before_cursor_execute", count)


def test_every_field_the_day_logged_has_a_label(changes, demo_db):
    from registry.audit.models import AuditEntry

    logged = {
        name
        for (changes_,) in demo_db.execute(select(AuditEntry.changes))
        for name in (changes_ or {})
    }
    labelled = set(FIELD_LABELS) | {name for _type, name in RECORD_FIELD_LABELS}
    assert logged and logged <= labelled, logged - labelled


def test_dwelling_page_links_filing_numbers_to_the_filing(officer, changes, demo_db):
    filings = demo_db.scalars(
        select(LeaseFiling).where(
            LeaseFiling.dwelling_id == demo_db.get(LeaseFiling, changes["filing"]).dwelling_id
        )
    ).all()
    html = officer.get(f"/dashboard/dwellings/{filings[0].dwelling_id}").get_data(as_text=True)
    for filing in filings:
        assert f'href="/leases/filings/{filing.id}">{filing.filing_number}</a>' in html
    # Officers may read the filing page the number links to.
    assert officer.get(f"/leases/filings/{changes['filing']}").status_code == 200
    assert demo_db.get(Dwelling, filings[0].dwelling_id) is not None


# -- filtering, paging and compact views -----------------------------------------------------


def trail_body_rows(html: str) -> list[str]:
    """The text of each row of the trail's table body (nested change tables folded in)."""
    body = re.search(
        r'<table class="table" id="trail">.*?<tbody>(.*)</tbody>\s*</table>', html, re.S
    )
    if body is None:
        return []
    rows = re.findall(
        r'<tr(?: class="trail-view")?>\s*<td class="nowrap">(.*?)</tr>\s*(?=<tr|$)',
        body.group(1),
        re.S,
    )
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


@pytest.fixture
def busy_person(demo_db):
    """A person whose trail holds 3 views by grid0001, 55 corrections and 1 reveal by admin."""
    from registry.audit.services import Action, record

    person_id = demo_db.scalar(select(Person.id).order_by(Person.id))
    worker = demo_db.scalar(text("SELECT id FROM user_account WHERE username = 'grid0001'"))
    admin = demo_db.scalar(text("SELECT id FROM user_account WHERE username = 'admin'"))
    from registry.accounts.models import UserAccount

    worker, admin = demo_db.get(UserAccount, worker), demo_db.get(UserAccount, admin)
    for context in ("search", "dwelling", "dwelling"):
        record(demo_db, worker, Action.VIEW, "person", person_id, {"context": context})
    for number in range(55):
        record(demo_db, admin, Action.UPDATE, "person", person_id, {"phone": [str(number), "x"]})
    record(demo_db, admin, Action.REVEAL, "person", person_id, reason="核查")
    demo_db.commit()
    return person_id


def test_trail_filters_by_kind_and_user_and_folds_views(officer, busy_person):
    url = f"/dashboard/audit/person/{busy_person}?lang=en"
    views = officer.get(url + "&kind=views&user=grid0001").text
    rows = trail_body_rows(views)
    assert len(rows) == 1  # three views by one user on one day: one line
    assert "3 times" in rows[0] and "Search results" in rows[0]
    assert "Occupants of a dwelling" in rows[0] and 'id="trail-count">3 entries' in views

    reveals = trail_body_rows(officer.get(url + "&kind=reveals").text)
    assert len(reveals) == 1 and "核查" in reveals[0]

    changes = officer.get(url + "&kind=changes&user=admin").text
    assert 'id="trail-count">55 entries · Page 1 of 2' in changes
    assert len(trail_body_rows(changes)) == 50
    assert "kind=changes" in re.search(r'rel="next"[^>]*|href="[^"]*"\s+rel="next"', changes).group(
        0
    )
    second = officer.get(url + "&kind=changes&user=admin&page=2").text
    assert len(trail_body_rows(second)) == 5
    assert "grid0001" not in "".join(trail_body_rows(changes) + trail_body_rows(second))


def test_trail_filters_by_date_range_in_local_days(officer, busy_person):
    from registry.clock import deployment_zone, today_in

    today = today_in(deployment_zone())
    url = f"/dashboard/audit/person/{busy_person}?lang=en&user=grid0001"
    same_day = officer.get(f"{url}&date_from={today}&date_to={today}").text
    assert 'id="trail-count">3 entries' in same_day
    later = today.replace(year=today.year + 1)
    none = officer.get(f"{url}&date_from={later}").text
    assert 'id="trail-count">0 entries' in none and "No entry matches this filter." in none
    earlier = today.replace(year=today.year - 1)
    assert 'id="trail-count">0 entries' in officer.get(f"{url}&date_to={earlier}").text


def test_a_date_that_does_not_parse_is_a_field_error_linked_from_the_summary(officer, busy_person):
    response = officer.get(f"/dashboard/audit/person/{busy_person}?lang=en&date_from=soon")
    assert response.status_code == 422
    html = response.text
    assert 'id="error-summary"' in html and 'href="#date_from"' in html
    assert re.search(
        r'<input[^>]*aria-invalid="true"[^>]*id="date_from"|id="date_from"[^>]*aria-invalid="true"',
        html,
    )
    assert 'aria-describedby="date_from-hint date_from-errors"' in html
