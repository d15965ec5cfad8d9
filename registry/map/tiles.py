"""Vector tiles of buildings and organisations, made by PostGIS (``ST_AsMVT``), scoped.

A tile holds only what the actor may see: features outside the scope are not filtered out
afterwards but never selected, so a tile at or beyond the edge of one's scope is the same
bytes as a tile over empty land (an empty tile, never a 404). Tiles carry ids, the worst
status and the live flags counted in the actor's scope (registry/map/services.py) only;
names and addresses come from the popup, rendered and escaped by the server.

With a GCJ-02 basemap configured, points are shifted in SQL (geo/gcj02.py) so they line up
with it; the tile's envelope is then widened by the largest offset to find them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

from geo import gcj02
from geo.map import BUILDING_MIN_ZOOM, TILE_BUFFER, TILE_EXTENT
from registry.accounts.models import UserAccount
from registry.address.models import Address
from registry.map.services import (
    building_counts_query,
    building_flags_query,
    marked_state,
    worst_status,
)
from registry.organisation.models import Organisation
from registry.scope import address_filter, organisation_filter

MAX_TILE_ZOOM = 22
# GCJ-02 moves points by at most about 0.01 degrees inside China.
GCJ02_MARGIN = 0.012
EMPTY_TILE = b""
WEB_MERCATOR_WIDTH = 40075016.685578488  # metres, the width of zoom 0's one tile


def valid_tile(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_TILE_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def _envelope(z: int, x: int, y: int):
    return func.ST_TileEnvelope(z, x, y)


def _search_box(z: int, x: int, y: int, datum: str):
    """The tile in lon/lat, widened by the buffer (and the GCJ-02 offset): index-friendly.

    A point in the buffer is drawn by both tiles, each clipping it at its own edge, so a
    marker on the border between two tiles is whole.
    """
    buffer_metres = WEB_MERCATOR_WIDTH / 2**z * TILE_BUFFER / TILE_EXTENT
    box = func.ST_Transform(func.ST_Expand(_envelope(z, x, y), buffer_metres), 4326)
    if datum == "gcj02":
        box = func.ST_Expand(box, GCJ02_MARGIN)
    return box


def _display_point(point, datum: str):
    return gcj02.shifted_point_sql(point) if datum == "gcj02" else point


def _mvt_geom(point, z: int, x: int, y: int, datum: str):
    return func.ST_AsMVTGeom(
        func.ST_Transform(_display_point(point, datum), 3857),
        _envelope(z, x, y),
        TILE_EXTENT,
        TILE_BUFFER,
        True,
    ).label("geom")


def _as_mvt(session: Session, features: Select, layer: str) -> bytes:
    rows = features.subquery("features")
    statement = select(
        func.ST_AsMVT(literal_column(rows.name), layer, TILE_EXTENT, "geom")
    ).select_from(rows)
    tile = session.scalar(statement)
    return bytes(tile) if tile else EMPTY_TILE


def buildings_statement(actor: UserAccount, session: Session, z, x, y, today: date, datum: str):
    """The features of the buildings tile: id, worst status, dwellings, live flags and the
    state the marker shows (both left out without live flags); points in the tile."""
    box = _search_box(z, x, y, datum)
    in_tile = (
        Address.parent_id.is_(None),
        Address.geom.op("&&")(box),
        address_filter(actor),
    )
    ids = select(Address.id).where(*in_tile)
    counts = building_counts_query(session, actor, ids, today)
    flags = building_flags_query(actor, ids)
    geom = _mvt_geom(Address.geom, z, x, y, datum)
    features = (
        select(
            Address.id.label("id"),
            worst_status(counts.c).label("worst"),
            func.coalesce(counts.c.dwellings, 0).label("dwellings"),
            flags.c.flags,
            marked_state(flags).label("flag_state"),
            geom,
        )
        .outerjoin(counts, counts.c.building_id == Address.id)
        .outerjoin(flags, flags.c.building_id == Address.id)
        .where(*in_tile)
    )
    return select(features.subquery("buildings")).where(literal_column("geom").is_not(None))


def buildings_tile(
    session: Session, actor: UserAccount, z: int, x: int, y: int, today: date, datum: str
) -> bytes:
    """Buildings (door-level addresses) in scope with their worst status, from zoom 16."""
    if z < BUILDING_MIN_ZOOM:
        return EMPTY_TILE  # low zooms show cells, never raw points
    return _as_mvt(session, buildings_statement(actor, session, z, x, y, today, datum), "buildings")


def organisations_tile(
    session: Session, actor: UserAccount, z: int, x: int, y: int, datum: str
) -> bytes:
    """Organisations in scope at their address's point, from zoom 16."""
    if z < BUILDING_MIN_ZOOM:
        return EMPTY_TILE
    box = _search_box(z, x, y, datum)
    features = (
        select(Organisation.id.label("id"), _mvt_geom(Address.geom, z, x, y, datum))
        .join(Address, Address.id == Organisation.address_id)
        .where(Address.geom.op("&&")(box), organisation_filter(actor))
    )
    wrapped = select(features.subquery("organisations")).where(literal_column("geom").is_not(None))
    return _as_mvt(session, wrapped, "organisations")
