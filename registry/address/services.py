"""Standard addresses: create and correct, inside the actor's scope, with a stable code.

The grid cell of an address is never written here: a database trigger derives it from the
point. The point must lie inside one of the actor's grid cells (grid workers) and inside
the address's community; the community follows from the cell the point falls in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import from_shape, to_shape
from shapely import Point
from sqlalchemy import Numeric, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo.checks import BOUNDARY_TOLERANCE_DEGREES, check_point_in_area
from registry.accounts.models import UserAccount
from registry.address.door import (
    door_condition,
    fuzzy_condition,
    parse_door_query,
    use_fuzzy_threshold,
)
from registry.address.models import Address, Road
from registry.address.text import address_full_text, like_pattern, normalise_address_text
from registry.area.models import Community, SubDistrict
from registry.audit.services import Action, changed, record
from registry.constraints import constraint_of
from registry.db import SRID
from registry.edits import load_for_correction
from registry.errors import InvalidInput
from registry.grid.models import GridCell
from registry.scope import address_filter, address_in_scope_set, grid_cell_filter
from registry.validators import FieldError, ValidationErrors

CODE_DIGITS = 8
CODE_ATTEMPTS = 5
NEARBY_ROAD_DEGREES = 0.005  # about 500 m: the roads a worker meets around their cells
FLOOR_RANGE = (-5, 200)
PART_LENGTHS = {"door_number": 20, "building": 20, "entrance": 10, "room": 20}
# What people append to each part when they write it; stored without it.
PART_SUFFIXES = {"door_number": "号", "building": "栋", "entrance": "单元", "room": "室"}
AUDITED_FIELDS = (
    "road_id",
    "door_number",
    "building",
    "entrance",
    "floor",
    "room",
    "lon",
    "lat",
)


@dataclass(frozen=True)
class AddressInput:
    """What a form, the importer or the API hands over; raw text, validated here."""

    road_id: Any
    door_number: Any
    building: Any = None
    entrance: Any = None
    floor: Any = None
    room: Any = None
    lon: Any = None
    lat: Any = None


@dataclass(frozen=True)
class CleanAddress:
    road_id: int
    door_number: str
    building: str | None
    entrance: str | None
    floor: int | None
    room: str | None
    lon: float
    lat: float


# -- pure validation -----------------------------------------------------------------------


# Door numbers, buildings, entrances and rooms as they are painted on walls: 17, 17-1, A座,
# 附3, 2号楼; never markup or punctuation.
ADDRESS_PART = re.compile(r"[0-9A-Za-z\u3400-\u9fff\-]+")


def _part(value: Any, field: str, required: bool = False) -> str | None:
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    text = "".join(text.split())
    suffix = PART_SUFFIXES[field]
    if text.endswith(suffix) and len(text) > len(suffix):
        text = text[: -len(suffix)]
    if not text:
        if required:
            raise FieldError(field, _l("This field is required"))
        return None
    if len(text) > PART_LENGTHS[field]:
        raise FieldError(field, _l("At most %(maximum)s characters", maximum=PART_LENGTHS[field]))
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise FieldError(field, _l("Contains control characters"))
    if not ADDRESS_PART.fullmatch(text):
        raise FieldError(field, _l("Use digits, letters, Chinese characters and dashes only"))
    return text


def _floor(value: Any) -> int | None:
    text = unicodedata.normalize("NFKC", str(value or "")).strip().removesuffix("层")
    if not text:
        return None
    try:
        floor = int(text)
    except ValueError:
        raise FieldError("floor", _l("Enter a whole number")) from None
    low, high = FLOOR_RANGE
    if not low <= floor <= high:
        raise FieldError("floor", _l("Must be between %(low)s and %(high)s", low=low, high=high))
    return floor


def _coordinate(value: Any, low: float, high: float) -> float:
    text = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip()
    if not text:
        raise FieldError("location", _l("Take the point from GPS or place it on the map"))
    try:
        number = float(text)
    except ValueError:
        raise FieldError("location", _l("Longitude and latitude must be numbers")) from None
    if not low <= number <= high:
        raise FieldError("location", _l("Longitude and latitude are out of range"))
    return number


def clean_address(data: AddressInput) -> CleanAddress:
    """Every field checked at once, so the form shows all its errors together."""
    errors = ValidationErrors()
    parts: dict[str, Any] = {}
    try:
        road_id = int(str(data.road_id or "").strip())
    except ValueError:
        road_id = 0
        errors.add("road_id", _l("Choose a road"))
    for field, required in (
        ("door_number", True),
        ("building", False),
        ("entrance", False),
        ("room", False),
    ):
        with errors.collect():
            parts[field] = _part(getattr(data, field), field, required)
    with errors.collect():
        parts["floor"] = _floor(data.floor)
    lon = lat = 0.0
    with errors.collect():
        lon = _coordinate(data.lon, -180, 180)
        lat = _coordinate(data.lat, -90, 90)
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    return CleanAddress(
        road_id,
        parts["door_number"],
        parts["building"],
        parts["entrance"],
        parts["floor"],
        parts["room"],
        lon,
        lat,
    )


# -- order ---------------------------------------------------------------------------------


def natural_order(column) -> tuple:
    """Sort keys for door numbers, buildings, entrances and rooms as people count them.

    "101" before "1001", "2" before "10", "17-2" before "17-10", "A3" before "A12": the text
    before the first digit, then the first run of digits as a number, then the length and
    the text itself. Plain SQL, so lists are ordered (and paged) by the database.
    """
    text = func.coalesce(column, "")
    digits = func.substring(text, "[0-9]+")
    return (
        func.substring(text, "^[^0-9]*"),
        cast(digits, Numeric).nulls_first(),
        func.length(text),
        text,
    )


# -- reading -------------------------------------------------------------------------------


def cells_of(session: Session, actor: UserAccount) -> list[GridCell]:
    """The grid cells the actor may see, in code order."""
    return list(
        session.scalars(select(GridCell).where(grid_cell_filter(actor)).order_by(GridCell.code))
    )


def nearby_roads(
    session: Session, actor: UserAccount, include_id: Any = None, include_ids: Iterable = ()
) -> list:
    """Roads of the district near the actor's cells (all district roads if none are near).

    ``include_id`` and ``include_ids`` (ids, or their text as a form posts them) are added
    when they are not among them: the road an address has now, the one a user chose.
    """
    cells = select(GridCell.geom).where(grid_cell_filter(actor)).subquery()
    districts = (
        select(SubDistrict.district_id)
        .join(Community, Community.sub_district_id == SubDistrict.id)
        .join(GridCell, GridCell.community_id == Community.id)
        .where(grid_cell_filter(actor))
    )
    near = select(Road.id).where(
        select(cells.c.geom)
        .where(func.ST_DWithin(Road.geom, cells.c.geom, NEARBY_ROAD_DEGREES))
        .exists()
    )
    roads = list(
        session.scalars(
            select(Road)
            .where(Road.district_id.in_(districts), Road.id.in_(near))
            .order_by(Road.name)
        )
    )
    if not roads:
        roads = list(
            session.scalars(select(Road).where(Road.district_id.in_(districts)).order_by(Road.name))
        )
    wanted = {int(i) for i in (include_id, *include_ids) if str(i or "").strip().isdigit()}
    for road_id in sorted(wanted - {road.id for road in roads}):
        extra = session.get(Road, road_id)
        if extra is not None:
            roads.append(extra)
    return roads


def address_point(address: Address) -> tuple[float, float]:
    point = to_shape(address.geom)
    return point.x, point.y


def address_values(address: Address) -> dict[str, Any]:
    """The address as its form fields hold it: for the conflict page and the audit log."""
    lon, lat = address_point(address)
    return {
        "road_id": address.road_id,
        "door_number": address.door_number,
        "building": address.building,
        "entrance": address.entrance,
        "floor": address.floor,
        "room": address.room,
        "lon": round(lon, 7),
        "lat": round(lat, 7),
    }


# -- rules ---------------------------------------------------------------------------------


def _community_of_point(session: Session, actor: UserAccount, point: Point) -> Community:
    """The community of the actor's grid cell that holds the point; a field error otherwise."""
    where = func.ST_SetSRID(func.ST_MakePoint(point.x, point.y), SRID)
    cell = session.scalar(
        select(GridCell)
        .where(grid_cell_filter(actor))
        .where(func.ST_DWithin(GridCell.geom, where, BOUNDARY_TOLERANCE_DEGREES))
        .order_by(func.ST_Distance(GridCell.geom, where), GridCell.id)
        .limit(1)
    )
    try:
        if cell is None:
            raise FieldError("location", "outside")
        check_point_in_area(point, to_shape(cell.geom), "location")
    except FieldError:
        raise FieldError("location", _l("The point lies outside your grid cells")) from None
    community = session.get(Community, cell.community_id)
    try:
        check_point_in_area(point, to_shape(community.geom), "location")
    except FieldError:
        raise FieldError("location", _l("The point lies outside the community")) from None
    return community


def _road_in_district(session: Session, road_id: int, community: Community) -> Road:
    road = session.get(Road, road_id)
    sub_district = session.get(SubDistrict, community.sub_district_id)
    if road is None or road.district_id != sub_district.district_id:
        raise FieldError("road_id", _l("Choose a road of this district"))
    return road


def _area_prefix(session: Session, community: Community) -> str:
    sub_district = session.get(SubDistrict, community.sub_district_id)
    return sub_district.district.name + sub_district.name + community.name


def _parent_of(session: Session, clean: CleanAddress) -> int | None:
    """The door-level address (road + door number + building) a room-level one belongs to."""
    if clean.entrance is None and clean.floor is None and clean.room is None:
        return None
    return session.scalar(
        select(Address.id).where(
            Address.road_id == clean.road_id,
            Address.door_number == clean.door_number,
            Address.building.is_not_distinct_from(clean.building),
            Address.entrance.is_(None),
            Address.floor.is_(None),
            Address.room.is_(None),
        )
    )


def next_address_code(session: Session, community_code: str) -> str:
    """Community code + 8 digits, one more than the highest code given in that community."""
    low = community_code + "0" * CODE_DIGITS
    high = community_code + "9" * CODE_DIGITS
    last = session.scalar(
        select(Address.code)
        .where(Address.code.between(low, high))
        .where(func.length(Address.code) == len(low))
        .order_by(Address.code.desc())
        .limit(1)
    )
    number = int(last[len(community_code) :]) + 1 if last else 1
    return f"{community_code}{number:0{CODE_DIGITS}d}"


def _duplicate_error() -> InvalidInput:
    return InvalidInput(fields={"door_number": [_l("This address is already registered")]})


def _check_still_in_scope(session: Session, actor: UserAccount, address: Address) -> None:
    """The trigger derived the cell; a point on a shared edge may fall to a neighbour's."""
    session.refresh(address, ["grid_cell_id"])
    visible = session.scalar(
        select(Address.id).where(Address.id == address.id, address_filter(actor))
    )
    if visible is None:
        raise InvalidInput(fields={"location": [_l("The point lies outside your grid cells")]})


def _place(session: Session, actor: UserAccount, clean: CleanAddress):
    """Community, road, point and full text of a clean input; field errors collected."""
    errors = ValidationErrors()
    point = Point(clean.lon, clean.lat)
    community = road = None
    with errors.collect():
        community = _community_of_point(session, actor, point)
    if community is not None:
        with errors.collect():
            road = _road_in_district(session, clean.road_id, community)
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    full_text = address_full_text(
        _area_prefix(session, community),
        road.name,
        clean.door_number,
        clean.building,
        clean.entrance,
        clean.floor,
        clean.room,
    )
    return community, road, point, full_text


# -- writing -------------------------------------------------------------------------------


def create_address(session: Session, actor: UserAccount, data: AddressInput) -> Address:
    """A new standard address inside the actor's cells, with a fresh stable code; audited."""
    clean = clean_address(data)
    community, road, point, full_text = _place(session, actor, clean)
    parent_id = _parent_of(session, clean)
    for _attempt in range(CODE_ATTEMPTS):
        address = Address(
            code=next_address_code(session, community.code),
            community_id=community.id,
            road_id=road.id,
            parent_id=parent_id,
            door_number=clean.door_number,
            building=clean.building,
            entrance=clean.entrance,
            floor=clean.floor,
            room=clean.room,
            full_text=full_text,
            geom=from_shape(point, srid=SRID),
        )
        savepoint = session.begin_nested()
        try:
            session.add(address)
            session.flush()
            _check_still_in_scope(session, actor, address)
        except IntegrityError as error:
            savepoint.rollback()
            if constraint_of(error) == "uq_address_code":
                continue  # another worker took the number meanwhile: take the next one
            if constraint_of(error) == "uq_address_parts":
                raise _duplicate_error() from None
            raise
        except InvalidInput:
            savepoint.rollback()
            raise
        savepoint.commit()
        break
    else:
        raise InvalidInput(fields={"door_number": [_l("Please try again")]})
    record(
        session,
        actor,
        Action.CREATE,
        "address",
        address.id,
        {"code": [None, address.code], "full_text": [None, full_text]}
        | {field: [None, value] for field, value in address_values(address).items()},
    )
    return address


def correct_address(
    session: Session,
    actor: UserAccount,
    address_id: int,
    data: AddressInput,
    seen_version: Any,
) -> Address:
    """Correct an address's parts or point; its code never changes; stale versions refused."""
    address, before = load_for_correction(
        session, actor, Address, address_id, address_values, seen_version
    )
    clean = clean_address(data)
    community, road, point, full_text = _place(session, actor, clean)
    after = {
        "road_id": road.id,
        "door_number": clean.door_number,
        "building": clean.building,
        "entrance": clean.entrance,
        "floor": clean.floor,
        "room": clean.room,
        "lon": round(clean.lon, 7),
        "lat": round(clean.lat, 7),
    }
    changes = changed(before, after, AUDITED_FIELDS)
    if not changes:
        return address
    savepoint = session.begin_nested()
    try:
        address.community_id = community.id
        address.road_id = road.id
        address.door_number = clean.door_number
        address.building = clean.building
        address.entrance = clean.entrance
        address.floor = clean.floor
        address.room = clean.room
        parent = _parent_of(session, clean)
        address.parent_id = parent if parent != address.id else None
        if "lon" in changes or "lat" in changes:
            address.geom = from_shape(point, srid=SRID)
        if address.full_text != full_text:
            changes["full_text"] = [address.full_text, full_text]
            address.full_text = full_text
        session.flush()
        _check_still_in_scope(session, actor, address)
    except IntegrityError as error:
        savepoint.rollback()
        session.refresh(address)
        if constraint_of(error) == "uq_address_parts":
            raise _duplicate_error() from None
        raise
    except InvalidInput:
        savepoint.rollback()
        session.refresh(address)
        raise
    savepoint.commit()
    record(session, actor, Action.UPDATE, "address", address.id, changes)
    return address


# -- search --------------------------------------------------------------------------------


# Below three characters a "typo" is another word: two characters share too few trigrams
# to tell a near miss from chance, and every address holding either would be ranked.
FUZZY_MIN_LENGTH = 3


def search_addresses(
    session: Session, actor: UserAccount, query: str, limit: int = 30
) -> tuple[list[Address], bool]:
    """Addresses in scope for a door number, a building, a road or a place; (found, more).

    A door number is read into its parts however it was typed (registry/address/door.py:
    "26栋601", "26-1-601", "宝港路 601"), and each part must equal the address's own; a bare
    "17" finds 17号, 17栋 and 17室, not 117号. Other text must be contained in the address's
    normalised text. When neither finds anything, addresses whose text holds something
    close to the query (a typo in a road's name, three characters or more) are offered,
    by trigram similarity.
    Door-level addresses come first among equals, then the order a worker walks.
    """
    text = normalise_address_text(query or "")
    if not text:
        return [], False
    similar = func.word_similarity(text, Address.full_text).desc()
    parsed = parse_door_query(query)
    if parsed is not None:
        rows = _ranked_addresses(session, actor, door_condition(parsed), similar, limit)
    else:
        contained = Address.full_text.like(like_pattern(text), escape="\\")
        rows = _ranked_addresses(session, actor, contained, similar, limit)
    if not rows and len(text) >= FUZZY_MIN_LENGTH:
        use_fuzzy_threshold(session)
        rows = _ranked_addresses(session, actor, fuzzy_condition(text), similar, limit)
    return rows[:limit], len(rows) > limit


def _ranked_addresses(session: Session, actor: UserAccount, matches, rank, limit: int):
    # Driven from the actor's scope (a grid worker's few hundred addresses), not tested
    # address by address: a door number or a two-character text has no index of its own.
    return list(
        session.scalars(
            select(Address)
            .join(Road, Road.id == Address.road_id)
            .where(matches, address_in_scope_set(actor))
            .order_by(
                rank,
                Address.parent_id.is_not(None),
                *address_order(),
            )
            .limit(limit + 1)
        )
    )


def address_order() -> tuple:
    """Road, door number, building, entrance, floor, room: the order a worker walks.

    Numbers count as numbers ("101" before "1001"), see ``natural_order``.
    """
    return (
        Road.name,
        *natural_order(Address.door_number),
        *natural_order(Address.building),
        *natural_order(Address.entrance),
        Address.floor.nulls_first(),
        *natural_order(Address.room),
        Address.id,
    )


MAP_BUILDINGS_LIMIT = 1000
# Six decimals of a degree are about 0.1 m: finer than a tablet's GPS, and the features
# travel inside every address form page (uncompressed HTML), so every digit counts.
MAP_DECIMALS = 6


def map_features(session: Session, actor: UserAccount) -> dict[str, list[dict]]:
    """What the small map draws instead of a basemap: the actor's cells, nearby roads and
    the door-level addresses in the cells, as GeoJSON-ready dicts (lon/lat, WGS 84)."""
    from shapely.geometry import mapping

    cells = cells_of(session, actor)
    roads = [road for road in nearby_roads(session, actor) if road.geom is not None]
    buildings = session.execute(
        select(Address.door_number, Address.building, Address.geom)
        .where(Address.parent_id.is_(None), address_filter(actor))
        .order_by(Address.id)
        .limit(MAP_BUILDINGS_LIMIT)
    ).all()

    def geometry(geom) -> dict:
        shape = mapping(to_shape(geom))
        return {"type": shape["type"], "coordinates": _rounded(shape["coordinates"])}

    return {
        "cells": [{"name": cell.name, "geometry": geometry(cell.geom)} for cell in cells],
        "roads": [{"name": road.name, "geometry": geometry(road.geom)} for road in roads],
        "buildings": [
            {
                "label": f"{door}号" + (f"{building}栋" if building else ""),
                "geometry": geometry(geom),
            }
            for door, building, geom in buildings
        ],
    }


def _rounded(coordinates):
    """GeoJSON coordinates (nested tuples of floats) to :data:`MAP_DECIMALS` decimals."""
    if isinstance(coordinates, float | int):
        return round(coordinates, MAP_DECIMALS)
    return [_rounded(part) for part in coordinates]
