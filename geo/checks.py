"""Geometry checks shared by forms, imports and the admin pages: valid, and inside the parent."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from shapely import Geometry
from shapely.validation import explain_validity

from registry.validators import FieldError

# About 1 m in degrees at Wuhan's latitude: digitising noise along a shared boundary.
BOUNDARY_TOLERANCE_DEGREES = 1e-5


def check_valid_polygon(geometry: Geometry, field: str = "geometry") -> Geometry:
    """A non-empty, valid polygon or multipolygon, or a field error saying what is wrong."""
    if geometry is None or geometry.is_empty:
        raise FieldError(field, _l("The shape is empty"))
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise FieldError(field, _l("The shape must be a polygon"))
    if not geometry.is_valid:
        raise FieldError(
            field, _l("The shape is not valid: %(reason)s", reason=explain_validity(geometry))
        )
    return geometry


def check_point_in_area(point: Geometry, area: Geometry, field: str = "location") -> Geometry:
    """A point that lies inside (or on the edge of) its parent area."""
    if point is None or point.is_empty or point.geom_type != "Point":
        raise FieldError(field, _l("Place the point on the map"))
    if not area.buffer(BOUNDARY_TOLERANCE_DEGREES).covers(point):
        raise FieldError(field, _l("The point lies outside its area"))
    return point


def check_within_parent(child: Geometry, parent: Geometry, field: str = "geometry") -> Geometry:
    """A shape inside its parent area, allowing about a metre of noise along the edge."""
    check_valid_polygon(child, field)
    if not parent.buffer(BOUNDARY_TOLERANCE_DEGREES).covers(child):
        raise FieldError(field, _l("The shape extends beyond its parent area"))
    return child
