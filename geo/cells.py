"""Grid-cell geometry: snapping a boundary to its neighbours, and splitting a cell.

Pure shapely on planar coordinates in metres (see :mod:`geo.local` for the trip from
longitude/latitude and back), so every rule here is tested on plain squares.

Why snap instead of judging an overlap by its area: a boundary drawn, exported and
re-imported carries digitising noise along the edge it shares with a neighbour, and a
long shared edge a few centimetres off overlaps by more square metres than a short one a
metre off. What matters is how far a corner lies from the neighbour's edge: a corner
within the tolerance is moved onto that edge, and whatever overlap remains must be no
wider than the tolerance, or it is a real overlap that the user must resolve.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import shapely
from shapely import LineString, Point, Polygon
from shapely.ops import nearest_points, split, unary_union

# How far (in metres) a corner may lie from a neighbour's edge and still be taken as on it.
SNAP_TOLERANCE_M = 0.5


def _move_vertices_onto(polygon: Polygon, edges, tolerance: float) -> Polygon:
    """Each vertex of the outer ring within ``tolerance`` of ``edges`` moved onto them."""
    if edges.is_empty:
        return polygon
    ring = []
    for x, y in polygon.exterior.coords:
        vertex = Point(x, y)
        if vertex.distance(edges) <= tolerance:
            nearest = nearest_points(vertex, edges)[1]
            ring.append((nearest.x, nearest.y))
        else:
            ring.append((x, y))
    ring[-1] = ring[0]
    return Polygon(ring, [interior.coords for interior in polygon.interiors])


def snap_to_neighbours(
    polygon: Polygon, neighbours: Iterable[Polygon], tolerance: float = SNAP_TOLERANCE_M
) -> Polygon:
    """The polygon with its corners near a neighbour's edge moved onto it, the neighbours'
    corners near its edges added to it, and any remaining sliver narrower than the
    tolerance cut away. Overlaps wider than the tolerance are left for the caller to
    refuse (see :func:`overlap_width_exceeds`)."""
    others = [shape for shape in neighbours if shape.distance(polygon) <= tolerance]
    if not others:
        return polygon
    union = unary_union(others)
    snapped = _move_vertices_onto(polygon, union.boundary, tolerance)
    snapped = shapely.snap(snapped, union, tolerance)
    if not snapped.is_valid:
        snapped = shapely.make_valid(snapped)
    overlap = snapped.intersection(union)
    if overlap.area > 0 and not overlap_width_exceeds(overlap, tolerance):
        snapped = snapped.difference(union)
    return _largest_polygon(snapped)


def overlap_width_exceeds(overlap, tolerance: float = SNAP_TOLERANCE_M) -> bool:
    """Whether an overlap is wider than the tolerance somewhere (a real overlap), rather
    than a sliver along a shared edge: shrinking it by half the tolerance leaves area."""
    if overlap.is_empty or overlap.area == 0:
        return False
    return not overlap.buffer(-tolerance / 2).is_empty


def _largest_polygon(geometry) -> Polygon:
    """A polygon from what snapping returns (cutting a sliver may leave crumbs)."""
    if geometry.geom_type == "Polygon":
        return geometry
    polygons = [g for g in getattr(geometry, "geoms", []) if g.geom_type == "Polygon"]
    if not polygons:
        return Polygon()
    return max(polygons, key=lambda g: g.area)


# -- splitting ---------------------------------------------------------------------------


class SplitError(ValueError):
    """Why a line does not split a cell in two; ``reason`` is one of the codes below."""

    NOT_A_LINE = "not_a_line"
    DOES_NOT_CROSS = "does_not_cross"
    MORE_THAN_TWO = "more_than_two"
    TOO_SMALL = "too_small"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Halves:
    first: Polygon
    second: Polygon


def _extended(line: LineString, by: float) -> LineString:
    """The line with both end segments drawn on by ``by``: an end placed on the cell's
    edge (or a hair inside it) still cuts through."""
    coords = list(line.coords)

    def beyond(tip, before):
        dx, dy = tip[0] - before[0], tip[1] - before[1]
        length = (dx * dx + dy * dy) ** 0.5 or 1.0
        return (tip[0] + dx / length * by, tip[1] + dy / length * by)

    return LineString([beyond(coords[0], coords[1]), *coords, beyond(coords[-1], coords[-2])])


def split_polygon(
    polygon: Polygon,
    line: LineString,
    tolerance: float = SNAP_TOLERANCE_M,
    min_area: float = 1.0,
) -> Halves:
    """The two parts of ``polygon`` on either side of ``line`` (shapely's split).

    The line must cross the polygon from edge to edge once, making exactly two parts, each
    at least ``min_area``; its ends are drawn on by the tolerance first.
    """
    if line is None or line.is_empty or line.geom_type != "LineString" or line.length == 0:
        raise SplitError(SplitError.NOT_A_LINE)
    if len(line.coords) < 2:
        raise SplitError(SplitError.NOT_A_LINE)
    parts = [
        part
        for part in split(polygon, _extended(line, 2 * tolerance)).geoms
        if part.geom_type == "Polygon"
    ]
    if len(parts) < 2:
        raise SplitError(SplitError.DOES_NOT_CROSS)
    if len(parts) > 2:
        raise SplitError(SplitError.MORE_THAN_TWO)
    if min(part.area for part in parts) < min_area:
        raise SplitError(SplitError.TOO_SMALL)
    return Halves(parts[0], parts[1])
