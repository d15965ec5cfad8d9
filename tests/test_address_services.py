"""Standard addresses: validation, stable codes, the point inside the worker's cells, search."""

from __future__ import annotations

import re

import pytest
from helpers import account, building_of_cell, point_in_cell
from sqlalchemy import func, select

from registry.address import services
from registry.address.models import Address
from registry.address.services import AddressInput, clean_address
from registry.audit.services import trail_of
from registry.errors import Conflict, InvalidInput, NotFound


@pytest.fixture
def neighbour(demo_session):
    return account(demo_session, "grid0002")


def test_clean_address_reports_every_field_at_once():
    with pytest.raises(InvalidInput) as caught:
        clean_address(AddressInput(road_id="x", door_number=" ", floor="三", lon="", lat="1"))
    fields = caught.value.details["fields"]
    assert set(fields) == {"road_id", "door_number", "floor", "location"}


def test_clean_address_normalises_what_people_type():
    clean = clean_address(
        AddressInput(
            road_id="7",
            door_number="１７号",
            building=" 3栋",
            entrance="2单元",
            floor="5层",
            room="５０２室",
            lon="114.1",
            lat="30.6",
        )
    )
    assert (clean.door_number, clean.building, clean.entrance, clean.floor, clean.room) == (
        "17",
        "3",
        "2",
        5,
        "502",
    )


@pytest.mark.parametrize("floor", ["-6", "201"])
def test_floor_out_of_range_is_refused(floor):
    with pytest.raises(InvalidInput) as caught:
        clean_address(AddressInput(road_id="1", door_number="1", floor=floor, lon="1", lat="1"))
    assert "floor" in caught.value.details["fields"]


def test_next_code_is_one_more_than_the_highest_of_the_community(demo_session):
    highest = demo_session.scalar(
        select(func.max(Address.code)).where(Address.code.like("420199001001%"))
    )
    code = services.next_address_code(demo_session, "420199001001")
    assert int(code) == int(highest) + 1 and len(code) == 20


def test_create_address_in_the_cell_gets_cell_community_code_and_parent(demo_session, worker):
    building = building_of_cell(demo_session, 1)
    lon, lat = point_in_cell(demo_session, 1)
    address = services.create_address(
        demo_session,
        worker,
        AddressInput(
            road_id=building.road_id,
            door_number=building.door_number,
            building=building.building,
            entrance="9",
            floor="1",
            room="101",
            lon=lon,
            lat=lat,
        ),
    )
    assert address.grid_cell_id == 1
    assert address.community_id == building.community_id
    assert address.parent_id == building.id
    assert re.fullmatch(r"420199001001\d{8}", address.code)
    assert address.full_text.endswith(f"{building.door_number}号{building.building}栋9单元101室")
    entry = trail_of(demo_session, "address", address.id)[-1]
    assert entry.action == "create" and entry.changes["code"] == [None, address.code]


def test_a_code_taken_meanwhile_is_retried(demo_session, worker, monkeypatch):
    taken = demo_session.scalar(select(Address.code).order_by(Address.id))
    real = services.next_address_code
    answers = iter([taken])

    def racing(session, community_code):
        return next(answers, None) or real(session, community_code)

    monkeypatch.setattr(services, "next_address_code", racing)
    lon, lat = point_in_cell(demo_session, 1)
    road = building_of_cell(demo_session, 1).road_id
    address = services.create_address(
        demo_session, worker, AddressInput(road_id=road, door_number="777", lon=lon, lat=lat)
    )
    assert address.code != taken
    assert demo_session.scalar(select(func.count()).where(Address.code == taken)) == 1


def test_a_point_in_another_cell_or_outside_everything_is_refused(demo_session, worker):
    road = building_of_cell(demo_session, 1).road_id
    for lon, lat in (point_in_cell(demo_session, 2), (100.0, 20.0)):
        with pytest.raises(InvalidInput) as caught:
            services.create_address(
                demo_session,
                worker,
                AddressInput(road_id=road, door_number="778", lon=lon, lat=lat),
            )
        assert "location" in caught.value.details["fields"]


def test_a_road_of_another_district_is_refused(demo_session, worker):
    lon, lat = point_in_cell(demo_session, 1)
    with pytest.raises(InvalidInput) as caught:
        services.create_address(
            demo_session, worker, AddressInput(road_id=999999, door_number="779", lon=lon, lat=lat)
        )
    assert set(caught.value.details["fields"]) == {"road_id"}


def test_correcting_keeps_the_code_and_refuses_a_stale_version(demo_session, worker):
    building = building_of_cell(demo_session, 1)
    lon, lat = services.address_point(building)
    data = AddressInput(
        road_id=building.road_id,
        door_number=building.door_number + "A",
        building=building.building,
        lon=lon,
        lat=lat,
    )
    with pytest.raises(Conflict):
        services.correct_address(demo_session, worker, building.id, data, building.version - 1)
    code = building.code
    corrected = services.correct_address(demo_session, worker, building.id, data, building.version)
    assert corrected.code == code and corrected.door_number == building.door_number
    assert corrected.full_text.endswith(f"{building.door_number}号{building.building}栋")


def test_another_workers_address_cannot_be_corrected(demo_session, worker):
    theirs = building_of_cell(demo_session, 2)
    lon, lat = services.address_point(theirs)
    with pytest.raises(NotFound):
        services.correct_address(
            demo_session,
            worker,
            theirs.id,
            AddressInput(road_id=theirs.road_id, door_number="1", lon=lon, lat=lat),
            theirs.version,
        )


def test_search_by_number_finds_door_building_or_room_not_longer_numbers(demo_session, worker):
    building = building_of_cell(demo_session, 1)
    found, _more = services.search_addresses(demo_session, worker, building.door_number)
    assert found
    pattern = re.compile(rf"(^|[^0-9]){building.door_number}(号|栋|单元|室)")
    assert all(pattern.search(a.full_text) for a in found)
    assert found[0].parent_id is None  # buildings first


def test_search_stays_in_scope_and_treats_wildcards_as_text(demo_session, worker, neighbour):
    theirs = building_of_cell(demo_session, 2)
    # Nothing of the other cell; at most addresses of one's own cell that look alike.
    found, _more = services.search_addresses(demo_session, worker, theirs.full_text)
    assert all(address.grid_cell_id == 1 for address in found)
    assert services.search_addresses(demo_session, neighbour, theirs.full_text)[0]
    assert services.search_addresses(demo_session, worker, "%") == ([], False)
    assert services.search_addresses(demo_session, worker, "_") == ([], False)


def test_map_features_show_the_cells_roads_and_buildings(demo_session, worker):
    features = services.map_features(demo_session, worker)
    assert len(features["cells"]) == 1
    assert features["roads"] and features["buildings"]
    assert features["cells"][0]["geometry"]["type"] == "Polygon"


def test_natural_order_counts_numbers_as_numbers(demo_session):
    from sqlalchemy import String, column, values

    rooms = ["1001", "A12", "101", "17-10", None, "99", "B1", "17-2", "A3"]
    table = values(column("room", String), name="rooms").data([(room,) for room in rooms])
    ordered = demo_session.scalars(
        select(table.c.room).order_by(*services.natural_order(table.c.room))
    ).all()
    assert ordered == [None, "17-2", "17-10", "99", "101", "1001", "A3", "A12", "B1"]


def test_search_lists_rooms_in_numeric_order(demo_session, worker):
    building = building_of_cell(demo_session, 1)
    lon, lat = point_in_cell(demo_session, 1)
    for room in ("1001", "101", "99"):
        services.create_address(
            demo_session,
            worker,
            AddressInput(
                road_id=building.road_id,
                door_number=building.door_number,
                building=building.building,
                entrance="9",
                room=room,
                lon=lon,
                lat=lat,
            ),
        )
    found, _more = services.search_addresses(demo_session, worker, "9单元")
    rooms = [a.room for a in found if a.entrance == "9" and a.door_number == building.door_number]
    assert rooms == ["99", "101", "1001"]


def test_map_features_keep_six_decimals_a_tenth_of_a_metre(demo_session, worker):
    """They travel in every address form page, which is never compressed (BREACH)."""
    import json
    import re

    features = services.map_features(demo_session, worker)
    text = json.dumps(features)
    decimals = [len(d) for d in re.findall(r"\d+\.(\d+)", text)]
    assert decimals and max(decimals) <= 6
    building = features["buildings"][0]["geometry"]
    assert building["type"] == "Point" and len(building["coordinates"]) == 2
    assert 100 < building["coordinates"][0] < 120 and 20 < building["coordinates"][1] < 40
