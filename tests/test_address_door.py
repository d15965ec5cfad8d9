"""Reading a door number as people type it (registry/address/door.py), without a database."""

from __future__ import annotations

import pytest

from registry.address.door import Number, Part, parse_door_query


@pytest.mark.parametrize(
    ("typed", "place", "numbers"),
    [
        ("26栋601", "", [("26", Part.BUILDING), ("601", None)]),
        ("26栋 601", "", [("26", Part.BUILDING), ("601", None)]),
        ("26幢601室", "", [("26", Part.BUILDING), ("601", Part.ROOM)]),
        ("26号楼1单元601", "", [("26", Part.BUILDING), ("1", Part.ENTRANCE), ("601", None)]),
        ("26-1-601", "", [("26", None), ("1", None), ("601", None)]),
        ("２６－１－６０１", "", [("26", None), ("1", None), ("601", None)]),
        ("宝港路 601", "宝港路", [("601", None)]),
        (
            "宝港路2号26栋1单元601室",
            "宝港路",
            [("2", Part.DOOR), ("26", Part.BUILDING), ("1", Part.ENTRANCE), ("601", Part.ROOM)],
        ),
        ("17-1号", "", [("17", None), ("1", Part.DOOR)]),
        ("a1201", "", [("A1201", None)]),
        ("6楼", "", [("6", Part.FLOOR)]),
    ],
)
def test_the_parts_a_door_number_names(typed, place, numbers):
    parsed = parse_door_query(typed)
    assert parsed is not None
    assert parsed.place == place
    assert parsed.numbers == tuple(Number(value, part) for value, part in numbers)


@pytest.mark.parametrize("typed", ["", "张伟", "26栋601 张伟", "1-2-3-4-5-6", "解放路"])
def test_what_is_not_a_door_number(typed):
    assert parse_door_query(typed) is None


def test_bare_numbers_take_parts_in_the_order_addresses_are_written():
    readings = parse_door_query("26-1-601").readings()
    assert {Part.BUILDING: "26", Part.ENTRANCE: "1", Part.ROOM: "601"} in readings
    assert all(list(reading) == sorted(reading) for reading in readings)
    assert len([r for r in readings if len(r) == 3]) == 4  # door, building, entrance, room
    # A labelled part fixes its place; a bare number after a building is below it.
    assert parse_door_query("26栋601").readings() == [
        {Part.BUILDING: "26", Part.ENTRANCE: "601"},
        {Part.BUILDING: "26", Part.ROOM: "601"},
    ]
    assert parse_door_query("宝港路2号26栋1单元601室").names_a_room


def test_a_dashed_run_is_also_read_whole():
    door = parse_door_query("17-1号")
    assert {Part.DOOR: "17-1"} in door.readings()
    room = parse_door_query("26-1-601室")
    assert {Part.BUILDING: "26", Part.ENTRANCE: "1", Part.ROOM: "601"} in room.readings()
    assert {Part.ROOM: "26-1-601"} in room.readings()
    assert {Part.ROOM: "26-1-601"} in parse_door_query("26-1-601").readings()
