"""Vector tiles of buildings and organisations, made by PostGIS (``ST_AsMVT``), scoped.

A tile holds only what the actor may see: features outside the scope are not filtered out
afterwards but never selected, so a tile at or beyond the edge of one's scope is the same
bytes as a tile over empty land (an empty tile, never a 404). Tiles carry ids, the worst
status and the live flags counted in the actor's scope (registry/map/services.py) only;
names and addresses come from the popup, rendered and escaped by the server.

With a GCJ-02 basemap configured, points are shifted in SQL (geo/gcj02.py) so they line up
with it; the tile's envelope is then widened by the largest offset to find them.

A tile's statement is built once per role, datum and capacity thresholds and kept
(:func:`_buildings_template`): the tile, the day and the actor's ids are bound parameters
(registry/scope.py ``BoundActor``), so SQLAlchemy also compiles it once. Building and
compiling the scoped statement anew took about 30 ms of Python per tile on the large demo,
more than PostgreSQL took to run it (`registry bench map`).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Float, Integer, Select, bindparam, func, literal_column, select
from sqlalchemy.orm import Session

from geo import gcj02
from geo.map import BUILDING_MIN_ZOOM, TILE_BUFFER, TILE_EXTENT
from registry.accounts.models import Role, UserAccount
from registry.address.models import Address
from registry.dwelling.status import CapacityThresholds, current_rule
from registry.map.services import (
    building_counts_for,
    building_flags_query,
    marked_state,
    worst_status,
)
from registry.organisation.models import Organisation
from registry.scope import BoundActor, actor_parameters, address_filter, organisation_filter

MAX_TILE_ZOOM = 22
# GCJ-02 moves points by at most about 0.01 degrees inside China.
GCJ02_MARGIN = 0.012
EMPTY_TILE = b""
WEB_MERCATOR_WIDTH = 40075016.685578488  # metres, the width of zoom 0's one tile
# Statements kept: one per role, datum and capacity thresholds in use (a handful).
KEPT_STATEMENTS = 64

# What changes from one tile request to the next, as bound parameters.
Z = bindparam("tile_z", type_=Integer)
X = bindparam("tile_x", type_=Integer)
Y = bindparam("tile_y", type_=Integer)
BUFFER = bindparam("tile_buffer_metres", type_=Float)
TODAY = bindparam("today", type_=Date)


def valid_tile(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_TILE_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def _tile_parameters(z: int, x: int, y: int) -> dict[str, Any]:
    """The values of :data:`Z`, :data:`X`, :data:`Y` and :data:`BUFFER` for one tile.

    A point in the buffer is drawn by both tiles, each clipping it at its own edge, so a
    marker on the border between two tiles is whole.
    """
    buffer_metres = WEB_MERCATOR_WIDTH / 2**z * TILE_BUFFER / TILE_EXTENT
    return {Z.key: z, X.key: x, Y.key: y, BUFFER.key: buffer_metres}


def _envelope():
    return func.ST_TileEnvelope(Z, X, Y)


def _search_box(datum: str):
    """The tile in lon/lat, widened by the buffer (and the GCJ-02 offset): index-friendly."""
    box = func.ST_Transform(func.ST_Expand(_envelope(), BUFFER), 4326)
    if datum == "gcj02":
        box = func.ST_Expand(box, GCJ02_MARGIN)
    return box


def _display_point(point, datum: str):
    return gcj02.shifted_point_sql(point) if datum == "gcj02" else point


def _mvt_geom(point, datum: str):
    return func.ST_AsMVTGeom(
        func.ST_Transform(_display_point(point, datum), 3857),
        _envelope(),
        TILE_EXTENT,
        TILE_BUFFER,
        True,
    ).label("geom")


def _mvt_statement(features: Select, layer: str) -> Select:
    """One tile's bytes: the features with a geometry in the tile, as one MVT layer."""
    in_tile = select(features.subquery(layer)).where(literal_column("geom").is_not(None))
    rows = in_tile.subquery("features")
    return select(func.ST_AsMVT(literal_column(rows.name), layer, TILE_EXTENT, "geom")).select_from(
        rows
    )


def _run(session: Session, statement: Select, parameters: dict[str, Any]) -> bytes:
    tile = session.scalar(statement, parameters)
    return bytes(tile) if tile else EMPTY_TILE


def buildings_features(
    actor: UserAccount | BoundActor, today, datum: str, rule: CapacityThresholds | None
) -> Select:
    """The features of the buildings tile: id, worst status, dwellings, live flags and the
    state the marker shows (both left out without live flags)."""
    # Once, as a CTE: the counts and the flags start from the same buildings, and the
    # scope's subplans are planned once instead of in every copy (planning was most of
    # PostgreSQL's time for a tile).
    buildings = (
        select(Address.id, Address.geom)
        .where(
            Address.parent_id.is_(None),
            Address.geom.op("&&")(_search_box(datum)),
            address_filter(actor),
        )
        .cte("tile_buildings")
    )
    ids = select(buildings.c.id)
    counts = building_counts_for(actor, ids, today, rule)
    flags = building_flags_query(actor, ids)
    return (
        select(
            buildings.c.id.label("id"),
            worst_status(counts.c).label("worst"),
            func.coalesce(counts.c.dwellings, 0).label("dwellings"),
            flags.c.flags,
            marked_state(flags).label("flag_state"),
            _mvt_geom(buildings.c.geom, datum),
        )
        .select_from(buildings)
        .outerjoin(counts, counts.c.building_id == buildings.c.id)
        .outerjoin(flags, flags.c.building_id == buildings.c.id)
    )


@lru_cache(maxsize=KEPT_STATEMENTS)
def _buildings_template(role: Role, datum: str, rule: CapacityThresholds | None) -> Select:
    return _mvt_statement(buildings_features(BoundActor(role), TODAY, datum, rule), "buildings")


def buildings_tile_statement(
    session: Session, actor: UserAccount, z: int, x: int, y: int, today: date, datum: str
) -> tuple[Select, dict[str, Any]]:
    """The kept statement that makes a buildings tile for ``actor``, and its parameters."""
    statement = _buildings_template(actor.role, datum, current_rule(session, today))
    return statement, {**actor_parameters(actor), **_tile_parameters(z, x, y), TODAY.key: today}


def buildings_tile(
    session: Session, actor: UserAccount, z: int, x: int, y: int, today: date, datum: str
) -> bytes:
    """Buildings (door-level addresses) in scope with their worst status, from zoom 16."""
    if z < BUILDING_MIN_ZOOM:
        return EMPTY_TILE  # low zooms show cells, never raw points
    return _run(session, *buildings_tile_statement(session, actor, z, x, y, today, datum))


@lru_cache(maxsize=KEPT_STATEMENTS)
def _organisations_template(role: Role, datum: str) -> Select:
    features = (
        select(Organisation.id.label("id"), _mvt_geom(Address.geom, datum))
        .join(Address, Address.id == Organisation.address_id)
        .where(Address.geom.op("&&")(_search_box(datum)), organisation_filter(BoundActor(role)))
    )
    return _mvt_statement(features, "organisations")


def organisations_tile(
    session: Session, actor: UserAccount, z: int, x: int, y: int, datum: str
) -> bytes:
    """Organisations in scope at their address's point, from zoom 16."""
    if z < BUILDING_MIN_ZOOM:
        return EMPTY_TILE
    parameters = {**actor_parameters(actor), **_tile_parameters(z, x, y)}
    return _run(session, _organisations_template(actor.role, datum), parameters)
