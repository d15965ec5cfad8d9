"""The grid worker's day on the demo district, through the real app and real PostGIS.

Each test runs the app on the demo database inside a transaction that is rolled back, so
the demo stays as loaded. grid0001 works cell 1; grid0002 works cell 2 next door. The pages'
"today" is pinned to ``DEMO_TODAY`` and the services check move-in and move-out dates
against that same day, so the forms here are filled in relative to it: the tests give the
same answers on any later date.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from helpers import (
    DEMO_TODAY,
    audit_count,
    building_of_cell,
    dwelling_of_cell,
    log_in,
    point_in_cell,
    post_form,
    token_of,
)
from sqlalchemy import func, select
from stdnum.cn import ric

from registry.address.models import Address, Road
from registry.audit.services import trail_of
from registry.dwelling.models import Dwelling
from registry.lease.models import LeaseFiling, RentalPledge
from registry.organisation.models import Organisation
from registry.person.models import Person, Residence
from registry.person.services import find_by_document

# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def worker(demo_app):
    """Here ``worker`` is grid0001's logged-in client (conftest's is the account)."""
    return log_in(demo_app, "grid0001")


# -- demo facts ----------------------------------------------------------------------------


def road_in_cell(session, cell_id: int) -> int:
    return session.scalar(
        select(Address.road_id).where(Address.grid_cell_id == cell_id).order_by(Address.id)
    )


def fresh_resident_id(session, cipher, seed: int) -> str:
    """A valid resident ID number that nobody in the demo carries."""
    for sequence in range(seed, seed + 200):
        body = f"110101199003{15 + sequence % 10:02d}{sequence % 1000:03d}"
        number = body + ric.calc_check_digit(body + "0")
        if find_by_document(session, cipher, "resident_id", number) is None:
            return number
    raise AssertionError("no free number")


def search(client, query: str):
    """The search as the page sends it (a POST); a door number or a road comes back by GET."""
    token = token_of(client, "/cells/search")
    return client.post(
        "/cells/search", data={"csrf_token": token, "q": query}, follow_redirects=True
    )


OCCUPANCY_NAMES = {
    "owner_occupied": "Owner-occupied",
    "rented": "Rented",
    "vacant": "Vacant",
    "other": "Other",
}
USE_NAMES = {"residential": "Residential", "commercial": "Commercial", "mixed": "Mixed use"}


def conflict_cells(html: str) -> dict[str, tuple[str, str]]:
    """The conflict page's rows: field label -> (your input, saved meanwhile), as shown."""
    rows = re.findall(r'<th scope="row">([^<]*)</th><td>([^<]*)</td><td>([^<]*)</td>', html)
    return {label: (mine, theirs) for label, mine, theirs in rows}


# -- the day -------------------------------------------------------------------------------


def test_a_grid_workers_whole_day(demo_app, worker, demo_db, cipher):
    # My cells: the cell with its figures and its buildings.
    page = worker.get("/cells/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "420199001001001" in body  # cell 1's code
    assert "Rented without current filing" in body
    assert body.count('class="gw-row"') <= 50

    # Search by door number and building, within the cell.
    building = building_of_cell(demo_db, 1)
    found = search(worker, f"{building.door_number}号{building.building}栋")
    assert found.status_code == 200
    assert f"/cells/addresses/{building.id}" in found.get_data(as_text=True)

    # A new standard address with the point in the cell.
    lon, lat = point_in_cell(demo_db, 1)
    road_id = road_in_cell(demo_db, 1)
    response = post_form(
        worker,
        "/cells/addresses/new",
        {
            "road_id": str(road_id),
            "door_number": "９９９号",  # full-width digits and the suffix people write
            "building": "1",
            "entrance": "",
            "floor": "3",
            "room": "301",
            "lon": f"{lon:.7f}",
            "lat": f"{lat:.7f}",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    address = demo_db.scalar(select(Address).where(Address.door_number == "999"))
    assert address is not None
    assert response.headers["Location"].endswith(f"/cells/addresses/{address.id}")
    assert address.grid_cell_id == 1  # derived by the trigger
    assert re.fullmatch(r"420199001001\d{8}", address.code)
    assert address.full_text.endswith("999号1栋301室")
    assert audit_count(demo_db, "address", address.id, "create") == 1

    # A dwelling at that address, owned by a person registered on the spot.
    owner_number = fresh_resident_id(demo_db, cipher, 11)
    response = post_form(
        worker,
        f"/cells/addresses/{address.id}/dwelling/new",
        {
            "use": "residential",
            "occupancy": "rented",
            "floor_area": "58.5",
            "rooms": "2",
            "owner_kind": "person",
            "owner_name": "房东甲",
            "owner_document_type": "resident_id",
            "owner_document_number": owner_number,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    dwelling = demo_db.scalar(select(Dwelling).where(Dwelling.address_id == address.id))
    assert dwelling.owner_person.name == "房东甲"
    assert audit_count(demo_db, "dwelling", dwelling.id, "create") == 1

    # Move a new person in; the page shows the document masked only.
    tenant_number = fresh_resident_id(demo_db, cipher, 300)
    response = post_form(
        worker,
        f"/cells/dwellings/{dwelling.id}/move-in",
        {
            "document_type": "resident_id",
            "document_number": tenant_number,
            "name": "租客乙",
            "phone": "138 1234 5678",
            "birth_date": "",
            "moved_in": (DEMO_TODAY - timedelta(days=30)).isoformat(),
            "kind": "transient",
            "relationship": "tenant",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    residence = demo_db.scalar(select(Residence).where(Residence.dwelling_id == dwelling.id))
    tenant = residence.person
    assert tenant.name == "租客乙" and tenant.phone == "13812345678"
    assert tenant.birth_date == date(1990, 3, int(tenant_number[12:14]))
    page = worker.get(f"/cells/dwellings/{dwelling.id}").get_data(as_text=True)
    assert "租客乙" in page
    assert tenant_number not in page
    assert tenant_number[:6] + "********" + tenant_number[-4:] in page
    assert audit_count(demo_db, "residence", residence.id, "create") == 1

    # Search the tenant by ID number: the blind index finds them.
    found = search(worker, tenant_number).get_data(as_text=True)
    assert f"/cells/people/{tenant.id}" in found and tenant_number not in found

    # Open the person's page: the view is audited.
    views = audit_count(demo_db, "person", tenant.id, "view")
    assert worker.get(f"/cells/people/{tenant.id}").status_code == 200
    assert audit_count(demo_db, "person", tenant.id, "view") == views + 1

    # Correct the residence: registered instead of transient.
    response = post_form(
        worker,
        f"/cells/residences/{residence.id}/edit",
        {
            "version": str(residence.version),
            "moved_in": residence.moved_in.isoformat(),
            "moved_out": "",
            "kind": "registered",
            "relationship": "tenant",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    demo_db.refresh(residence)
    assert residence.kind == "registered"

    # Move out: the stay is closed, not deleted, and stays in the history.
    response = post_form(
        worker,
        f"/cells/residences/{residence.id}/move-out",
        {"version": str(residence.version), "moved_out": DEMO_TODAY},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    demo_db.refresh(residence)
    assert residence.moved_out == DEMO_TODAY
    assert demo_db.get(Residence, residence.id) is not None
    page = worker.get(f"/cells/dwellings/{dwelling.id}").get_data(as_text=True)
    assert "History" in page and "租客乙" in page

    # Correct the dwelling (version-checked) and the address (code stays).
    response = post_form(
        worker,
        f"/cells/dwellings/{dwelling.id}/edit",
        {
            "version": str(dwelling.version),
            "use": "residential",
            "occupancy": "vacant",
            "floor_area": "60",
            "rooms": "2",
            "owner_kind": "keep",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    demo_db.refresh(dwelling)
    assert (dwelling.occupancy, str(dwelling.floor_area)) == ("vacant", "60.00")
    code = address.code
    response = post_form(
        worker,
        f"/cells/addresses/{address.id}/edit",
        {
            "version": str(address.version),
            "road_id": str(road_id),
            "door_number": "999",
            "building": "1",
            "entrance": "2",
            "floor": "3",
            "room": "302",
            "lon": f"{lon:.7f}",
            "lat": f"{lat:.7f}",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    demo_db.refresh(address)
    assert (address.code, address.room) == (code, "302")
    assert address.full_text.endswith("999号1栋2单元302室")

    # Every change is in the audit log, with before and after.
    updates = [e for e in trail_of(demo_db, "dwelling", dwelling.id) if e.action == "update"]
    assert updates[-1].changes["occupancy"] == ["rented", "vacant"]
    assert [e.action for e in trail_of(demo_db, "residence", residence.id)] == [
        "create",
        "update",
        "update",
    ]
    assert trail_of(demo_db, "address", address.id)[-1].changes["room"] == ["301", "302"]


def test_organisation_created_and_corrected(worker, demo_db):
    building = building_of_cell(demo_db, 1)
    token = token_of(worker, f"/cells/addresses/{building.id}/organisations/new")
    data = {
        "csrf_token": token,
        "credit_code": "91420100MA4K0X0X1Q",
        "name": "武汉测试便利店",
        "kind": "shop",
        "address_code": building.code,
        "legal_representative": "王五",
        "employee_count": "3",
    }
    response = worker.post(f"/cells/addresses/{building.id}/organisations/new", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Check digit is wrong" in body
    assert 'value="武汉测试便利店"' in body  # the input is kept
    data["credit_code"] = "91420100MA4K0X0X1" + _uscc_check("91420100MA4K0X0X1")
    response = worker.post(f"/cells/addresses/{building.id}/organisations/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    organisation = demo_db.scalar(select(Organisation).where(Organisation.name == "武汉测试便利店"))
    assert organisation.address_id == building.id
    token = token_of(worker, f"/cells/organisations/{organisation.id}/edit")
    data |= {"csrf_token": token, "version": str(organisation.version), "employee_count": "5"}
    response = worker.post(f"/cells/organisations/{organisation.id}/edit", data=data)
    assert response.status_code == 302
    demo_db.refresh(organisation)
    assert organisation.employee_count == 5
    assert [e.action for e in trail_of(demo_db, "organisation", organisation.id)] == [
        "create",
        "update",
    ]


def _uscc_check(body: str) -> str:
    from stdnum.cn import uscc

    return uscc.calc_check_digit(body)


# -- validation ----------------------------------------------------------------------------


def test_validation_errors_keep_the_input_and_name_the_field(worker, demo_db):
    before = demo_db.scalar(select(func.count()).select_from(Address))
    response = post_form(
        worker,
        "/cells/addresses/new",
        {
            "road_id": str(road_in_cell(demo_db, 1)),
            "door_number": "",
            "building": "B座",
            "entrance": "东",
            "floor": "三",
            "room": "301",
            "lon": "114.0x",
            "lat": "30.67",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    for kept in ('value="B座"', 'value="东"', 'value="三"', 'value="301"', 'value="114.0x"'):
        assert kept in body
    assert re.search(r'field has-error">\s*<label for="door_number"', body)
    assert re.search(r'field has-error">\s*<label for="floor"', body)
    assert "Enter a whole number" in body
    assert "Longitude and latitude must be numbers" in body
    assert demo_db.scalar(select(func.count()).select_from(Address)) == before


def test_move_in_errors_keep_the_input(worker, demo_db):
    dwelling = dwelling_of_cell(demo_db, 1)
    response = post_form(
        worker,
        f"/cells/dwellings/{dwelling.id}/move-in",
        {
            "document_type": "resident_id",
            "document_number": "110101199003151230",  # wrong check digit
            "name": "新人丙",
            "phone": "12345",
            "moved_in": (DEMO_TODAY + timedelta(days=3)).isoformat(),
            "kind": "transient",
            "relationship": "tenant",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="新人丙"' in body
    # The number is kept sealed, never echoed: shown masked, with the box left empty.
    assert "110101199003151230" not in body
    assert "Kept: 110101********1230" in body and 'name="document_number-sealed"' in body
    assert "Check digit is wrong" in body
    assert "The date is in the future" in body
    assert "Not a mainland mobile or landline number" in body


def test_a_point_outside_the_workers_cells_is_refused(worker, demo_db):
    lon, lat = point_in_cell(demo_db, 2)  # grid0002's cell
    before = demo_db.scalar(select(func.count()).select_from(Address))
    response = post_form(
        worker,
        "/cells/addresses/new",
        {
            "road_id": str(road_in_cell(demo_db, 1)),
            "door_number": "998",
            "lon": f"{lon:.7f}",
            "lat": f"{lat:.7f}",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The point lies outside your grid cells" in body
    assert f'value="{lon:.7f}"' in body
    assert demo_db.scalar(select(func.count()).select_from(Address)) == before


def test_moving_an_address_out_of_the_cell_is_refused(worker, demo_db):
    address = demo_db.scalar(select(Address).where(Address.grid_cell_id == 1).order_by(Address.id))
    version = address.version
    lon, lat = point_in_cell(demo_db, 2)
    response = post_form(
        worker,
        f"/cells/addresses/{address.id}/edit",
        {
            "version": str(version),
            "road_id": str(address.road_id),
            "door_number": address.door_number,
            "building": address.building or "",
            "lon": f"{lon:.7f}",
            "lat": f"{lat:.7f}",
        },
    )
    assert response.status_code == 422
    demo_db.refresh(address)
    assert (address.grid_cell_id, address.version) == (1, version)


def test_a_duplicate_address_is_refused_on_the_field(worker, demo_db):
    existing = building_of_cell(demo_db, 1)
    lon, lat = point_in_cell(demo_db, 1)
    response = post_form(
        worker,
        "/cells/addresses/new",
        {
            "road_id": str(existing.road_id),
            "door_number": existing.door_number,
            "building": existing.building,
            "lon": f"{lon:.7f}",
            "lat": f"{lat:.7f}",
        },
    )
    assert response.status_code == 422
    assert "This address is already registered" in response.get_data(as_text=True)


# -- scope ---------------------------------------------------------------------------------


def test_another_workers_records_are_not_found_and_not_changed(worker, demo_db):
    dwelling = dwelling_of_cell(demo_db, 2)
    address = dwelling.address
    resident = demo_db.scalar(
        select(Residence).where(Residence.dwelling_id == dwelling.id).order_by(Residence.id)
    )
    organisation = demo_db.scalar(
        select(Organisation)
        .join(Address, Address.id == Organisation.address_id)
        .where(Address.grid_cell_id == 2)
    )
    token = token_of(worker, "/cells/")
    versions = (dwelling.version, address.version, resident.version, resident.person.version)
    gets = [
        f"/cells/dwellings/{dwelling.id}",
        f"/cells/dwellings/{dwelling.id}/edit",
        f"/cells/dwellings/{dwelling.id}/move-in",
        f"/cells/addresses/{address.id}",
        f"/cells/addresses/{address.id}/edit",
        f"/cells/addresses/{address.id}/dwelling/new",
        f"/cells/addresses/new?parent={address.id}",
        f"/cells/residences/{resident.id}/move-out",
        f"/cells/residences/{resident.id}/edit",
        f"/cells/people/{resident.person_id}",
        f"/cells/people/{resident.person_id}/edit",
    ]
    if organisation is not None:
        gets += [f"/cells/organisations/{organisation.id}"]
    for url in gets:
        assert worker.get(url).status_code == 404, url
    posts = {
        f"/cells/dwellings/{dwelling.id}/edit": {
            "use": "residential",
            "occupancy": "vacant",
            "floor_area": "10",
            "rooms": "1",
            "owner_kind": "none",
        },
        f"/cells/addresses/{address.id}/edit": {"door_number": "1", "road_id": "1"},
        f"/cells/residences/{resident.id}/move-out": {"moved_out": DEMO_TODAY.isoformat()},
        f"/cells/residences/{resident.id}/edit": {"moved_in": "2020-01-01", "kind": "registered"},
        f"/cells/people/{resident.person_id}/edit": {"name": "改名"},
        f"/cells/dwellings/{dwelling.id}/move-in": {"document_type": "passport"},
    }
    for url, data in posts.items():
        data = data | {"csrf_token": token, "version": "1"}
        assert worker.post(url, data=data).status_code == 404, url
    for record in (dwelling, address, resident, resident.person):
        demo_db.refresh(record)
    assert (
        dwelling.version,
        address.version,
        resident.version,
        resident.person.version,
    ) == versions
    assert resident.moved_out is None or resident.moved_out < DEMO_TODAY
    assert audit_count(demo_db, "person", resident.person_id, "view") == 0


def test_search_stays_within_the_workers_cells(worker, demo_db, cipher):
    other = demo_db.scalar(
        select(Residence)
        .join(Dwelling, Dwelling.id == Residence.dwelling_id)
        .join(Address, Address.id == Dwelling.address_id)
        .join(Person, Person.id == Residence.person_id)
        .where(Address.grid_cell_id == 2, Person.document_type == "resident_id")
        .order_by(Residence.id)
    )
    number = cipher.decrypt(bytes(other.person.document_ciphertext))
    body = search(worker, number).get_data(as_text=True)
    assert f"/cells/people/{other.person_id}" not in body
    other_address = other.dwelling.address
    body = search(worker, other_address.full_text).get_data(as_text=True)
    assert f"/cells/addresses/{other_address.id}" not in body

    mine = demo_db.scalar(
        select(Residence)
        .join(Dwelling, Dwelling.id == Residence.dwelling_id)
        .join(Address, Address.id == Dwelling.address_id)
        .join(Person, Person.id == Residence.person_id)
        .where(Address.grid_cell_id == 1, Person.phone.is_not(None))
        .order_by(Residence.id)
    )
    body = search(worker, mine.person.phone).get_data(as_text=True)
    assert f"/cells/people/{mine.person_id}" in body
    body = search(worker, mine.person.name).get_data(as_text=True)
    assert f"/cells/people/{mine.person_id}" in body


def test_other_roles_do_not_reach_the_grid_pages(demo_app):
    officer = log_in(demo_app, "officer1")
    assert officer.get("/cells/").status_code == 404
    assert officer.get("/cells/search?q=1").status_code == 404


# -- concurrent edits ----------------------------------------------------------------------


def test_a_stale_version_shows_the_conflict_page_and_nothing_is_lost(worker, demo_db):
    dwelling = dwelling_of_cell(demo_db, 1)
    seen = dwelling.version
    token = token_of(worker, f"/cells/dwellings/{dwelling.id}/edit")
    # Someone else saves meanwhile.
    dwelling.rooms = dwelling.rooms + 1
    demo_db.flush()
    demo_db.commit()
    mine = {
        "csrf_token": token,
        "version": str(seen),
        "use": "residential",
        "occupancy": "vacant",
        "floor_area": "77.77",
        "rooms": "4",
        "owner_kind": "keep",
    }
    response = worker.post(f"/cells/dwellings/{dwelling.id}/edit", data=mine)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "77.77" in body and str(dwelling.floor_area) in body
    assert f'name="version" value="{seen + 1}"' in body
    # Both columns name the choices; the hidden inputs carry the raw values back.
    cells = conflict_cells(body)
    assert cells["Occupancy"][0] == "Vacant"
    assert cells["Occupancy"][1] == OCCUPANCY_NAMES[str(dwelling.occupancy)]
    assert cells["Use"] == ("Residential", USE_NAMES[str(dwelling.use)])
    assert "<td>vacant</td>" not in body and "<td>residential</td>" not in body
    assert '<input type="hidden" name="occupancy" value="vacant">' in body
    assert '<input type="hidden" name="use" value="residential">' in body
    demo_db.refresh(dwelling)
    assert str(dwelling.floor_area) != "77.77"
    # Saving again from the conflict page (with the current version) stores the input.
    response = worker.post(
        f"/cells/dwellings/{dwelling.id}/edit", data=mine | {"version": str(seen + 1)}
    )
    assert response.status_code == 302
    demo_db.refresh(dwelling)
    assert str(dwelling.floor_area) == "77.77"


def test_a_stale_address_edit_names_the_roads_not_their_ids(worker, demo_db):
    address = building_of_cell(demo_db, 1)
    seen = address.version
    token = token_of(worker, f"/cells/addresses/{address.id}/edit")
    lon, lat = point_in_cell(demo_db, 1)
    other_road = demo_db.scalar(
        select(Road).where(Road.district_id == address.road.district_id, Road.id != address.road_id)
    )
    address.door_number = address.door_number + "A"  # someone else corrects it meanwhile
    demo_db.flush()
    demo_db.commit()
    mine = {
        "csrf_token": token,
        "version": str(seen),
        "road_id": str(other_road.id),
        "door_number": "998",
        "building": address.building or "",
        "lon": f"{lon:.7f}",
        "lat": f"{lat:.7f}",
    }
    response = worker.post(f"/cells/addresses/{address.id}/edit", data=mine)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    road_label = "Road or lane"
    assert conflict_cells(body)[road_label] == (other_road.name, address.road.name)
    assert f'<input type="hidden" name="road_id" value="{other_road.id}">' in body
    # Saving again from the conflict page stores the input, the road included.
    resend = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body))
    assert resend["road_id"] == str(other_road.id) and resend["version"] == str(seen + 1)
    response = worker.post(f"/cells/addresses/{address.id}/edit", data=resend)
    assert response.status_code == 302, response.get_data(as_text=True)
    demo_db.refresh(address)
    assert (address.road_id, address.door_number) == (other_road.id, "998")


def test_a_stale_move_out_is_refused(worker, demo_db):
    residence = demo_db.scalar(
        select(Residence)
        .join(Dwelling, Dwelling.id == Residence.dwelling_id)
        .join(Address, Address.id == Dwelling.address_id)
        .where(Address.grid_cell_id == 1, Residence.moved_out.is_(None))
        .order_by(Residence.id)
    )
    response = post_form(
        worker,
        f"/cells/residences/{residence.id}/move-out",
        {
            "version": str(residence.version - 1),
            "moved_out": DEMO_TODAY.isoformat(),
        },
    )
    assert response.status_code == 409
    demo_db.refresh(residence)
    assert residence.moved_out is None


# -- pledges -------------------------------------------------------------------------------


def test_pledge_links_follow_the_leases_pages(demo_app, demo_db):
    dwelling_id = demo_db.scalar(
        select(LeaseFiling.dwelling_id)
        .join(Dwelling, Dwelling.id == LeaseFiling.dwelling_id)
        .join(Address, Address.id == Dwelling.address_id)
        .where(
            Address.grid_cell_id == 1,
            LeaseFiling.starts_on <= DEMO_TODAY,  # the pages' "today" (demo_app pins it)
            LeaseFiling.ends_on >= DEMO_TODAY,
            ~select(RentalPledge.id).where(RentalPledge.lease_filing_id == LeaseFiling.id).exists(),
        )
        .order_by(LeaseFiling.id)
    )
    assert dwelling_id is not None
    if "leases.sign_pledge" not in demo_app.view_functions:
        demo_app.add_url_rule(
            "/leases/filings/<int:filing_id>/pledges/<kind>/sign",
            endpoint="leases.sign_pledge",
            view_func=lambda filing_id, kind: "",
        )
    worker = log_in(demo_app, "grid0001")
    body = worker.get(f"/cells/dwellings/{dwelling_id}").get_data(as_text=True)
    assert re.search(r"/leases/filings/\d+/pledges/rental_pledge/sign", body)
    assert re.search(r"/leases/filings/\d+/pledges/security_guarantee/sign", body)


def test_pages_work_without_the_pledge_endpoint(demo_app, demo_db):
    demo_app.view_functions.pop("leases.sign_pledge", None)
    worker = log_in(demo_app, "grid0001")
    dwelling = dwelling_of_cell(demo_db, 1, occupancy="rented")
    response = worker.get(f"/cells/dwellings/{dwelling.id}")
    assert response.status_code == 200
    assert "/pledges/" not in response.get_data(as_text=True)


def test_a_save_racing_another_one_at_flush_time_shows_the_conflict_page(
    worker, demo_db, monkeypatch
):
    """Two saves that both passed the version check: the database's version column decides."""
    from sqlalchemy.orm.exc import StaleDataError

    from registry.dwelling import services

    def racing(*args, **kwargs):
        raise StaleDataError("UPDATE statement on table 'dwelling' expected to update 1 row")

    monkeypatch.setattr(services, "correct_dwelling", racing)
    dwelling = dwelling_of_cell(demo_db, 1)
    response = post_form(
        worker,
        f"/cells/dwellings/{dwelling.id}/edit",
        {
            "version": str(dwelling.version),
            "use": "residential",
            "occupancy": "vacant",
            "floor_area": "66.66",
            "rooms": "2",
            "owner_kind": "keep",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "66.66" in body and str(dwelling.floor_area) in body


# -- a building's rooms --------------------------------------------------------------------


def test_a_buildings_heading_and_pager_count_the_same_rooms(worker, demo_db):
    building_id, rooms = demo_db.execute(
        select(Address.parent_id, func.count())
        .where(Address.grid_cell_id == 1, Address.parent_id.is_not(None))
        .group_by(Address.parent_id)
        .order_by(func.count().desc())
        .limit(1)
    ).one()
    assert rooms > 50  # more than one page
    listed = 0
    for page_number in (1, 2):
        body = worker.get(f"/cells/addresses/{building_id}?page={page_number}").get_data(
            as_text=True
        )
        heading = re.search(r'Dwellings in this building <span class="muted">\((\d+)\)', body)
        pager = re.search(r"Page \d+ of \d+ \((\d+) in all\)", body)
        assert heading and pager
        assert int(heading.group(1)) == int(pager.group(1)) == rooms
        listed += body.count('class="gw-title">Room ')
    assert listed == min(rooms, 100)  # the pages list exactly the rooms counted


# -- occupancy that contradicts the residents ----------------------------------------------


def test_moving_into_a_vacant_dwelling_warns_and_offers_a_one_tap_correction(
    worker, demo_db, cipher
):
    dwelling = dwelling_of_cell(demo_db, 1, occupancy="vacant")
    response = post_form(
        worker,
        f"/cells/dwellings/{dwelling.id}/move-in",
        {
            "document_type": "resident_id",
            "document_number": fresh_resident_id(demo_db, cipher, 500),
            "name": "新租客丁",
            "moved_in": (DEMO_TODAY - timedelta(days=2)).isoformat(),
            "kind": "transient",
            "relationship": "tenant",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    demo_db.refresh(dwelling)
    assert dwelling.occupancy == "vacant"  # nothing changed silently

    body = worker.get(f"/cells/dwellings/{dwelling.id}").get_data(as_text=True)
    warning = re.search(
        r'<section class="flash error[^"]*" role="alert"[^>]*>(.*?)</section>', body, re.S
    )
    assert warning, "no warning on the dwelling page"
    assert "Recorded as vacant, but somebody lives here now." in warning.group(1)
    assert 'name="occupancy" value="rented"' in warning.group(1)
    assert f'href="/cells/dwellings/{dwelling.id}/edit#occupancy"' in warning.group(1)
    # The cell's "needs attention" list names it, with the flag of the mismatch.
    attention = worker.get("/cells/?cell=1&show=attention").get_data(as_text=True)
    assert f"/cells/dwellings/{dwelling.id}" in attention
    assert "Vacant on record, yet people live there" in attention

    # One tap on the suggested occupancy saves it through the ordinary, audited edit.
    fix = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', warning.group(1))
    )
    response = worker.post(f"/cells/dwellings/{dwelling.id}/edit", data=fix)
    assert response.status_code == 302, response.get_data(as_text=True)
    demo_db.refresh(dwelling)
    assert dwelling.occupancy == "rented"
    assert trail_of(demo_db, "dwelling", dwelling.id)[-1].changes == {
        "occupancy": ["vacant", "rented"]
    }
    body = worker.get(f"/cells/dwellings/{dwelling.id}").get_data(as_text=True)
    assert "Recorded as vacant" not in body
