"""Where a sweep's route starts: the police station (the default) or a building of the
area that the team picks from a list or by searching its address.

A start is never coordinates typed by hand on the page. A point sent as ``start_lon`` /
``start_lat`` (a map's pick, a script) is still checked: a finite number inside the
district's extent, else a field error, never PostGIS's "invalid geometry".
"""

from __future__ import annotations

import math
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from registry.address.models import Address
from registry.address.text import like_pattern
from registry.area.models import District
from registry.errors import InvalidInput
from registry.grid.models import GridCell
from registry.scope import address_filter
from registry.sweeps.leads import in_focus_area

STATION = "station"
LISTED = 30  # buildings listed at most; a search narrows them down
OUTSIDE = _l("Choose a point inside the district")


def _buildings(actor, focus_area_id: int):
    """The area's buildings (top-level addresses with a location) the actor may see."""
    return select(Address).where(
        Address.parent_id.is_(None),
        Address.geom.is_not(None),
        in_focus_area(focus_area_id, Address.grid_cell_id),
        address_filter(actor),
    )


def start_choices(session: Session, actor, focus_area_id: int, search: str = "") -> list[Address]:
    """The buildings of the area to start from, matching ``search`` if given."""
    query = _buildings(actor, focus_area_id)
    text = (search or "").strip()
    if text:
        query = query.where(Address.full_text.ilike(like_pattern(text), escape="\\"))
    return list(session.scalars(query.order_by(Address.full_text, Address.id).limit(LISTED)))


def chosen_start(
    session: Session, actor, focus_area_id: int, start: Any, lon: Any, lat: Any
) -> tuple[float, float] | None:
    """The start the plan form asks for: None for the police station, or a point."""
    choice = str(start or "").strip()
    if choice and choice != STATION:
        return _building_point(session, actor, focus_area_id, choice)
    if str(lon or "").strip() or str(lat or "").strip():
        return _checked_point(session, lon, lat)
    return None


def _building_point(session: Session, actor, focus_area_id: int, choice: str):
    building = None
    if choice.isdigit() and len(choice) < 10:
        building = session.scalar(_buildings(actor, focus_area_id).where(Address.id == int(choice)))
    if building is None:
        raise InvalidInput(fields={"start": [_l("Choose a building of this area")]})
    lon, lat = session.execute(select(func.ST_X(building.geom), func.ST_Y(building.geom))).one()
    return float(lon), float(lat)


def _checked_point(session: Session, lon: Any, lat: Any) -> tuple[float, float]:
    try:
        point = (float(str(lon).strip()), float(str(lat).strip()))
    except ValueError:
        raise InvalidInput(fields={"start": [OUTSIDE]}) from None
    if not all(math.isfinite(value) for value in point) or not _in_district(session, point):
        raise InvalidInput(fields={"start": [OUTSIDE]})
    return point


def _in_district(session: Session, point: tuple[float, float]) -> bool:
    """Inside the bounding box of the district (its boundary, or else its grid cells)."""
    shapes = union_all(
        select(District.geom.label("geom")).where(District.geom.is_not(None)),
        select(GridCell.geom.label("geom")),
    ).subquery()
    box = session.execute(
        select(
            func.ST_XMin(func.ST_Extent(shapes.c.geom)),
            func.ST_YMin(func.ST_Extent(shapes.c.geom)),
            func.ST_XMax(func.ST_Extent(shapes.c.geom)),
            func.ST_YMax(func.ST_Extent(shapes.c.geom)),
        )
    ).one()
    if box[0] is None:
        return False
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]
