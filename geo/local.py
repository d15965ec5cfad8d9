"""A local metric frame for longitude/latitude shapes: metres east and north of an origin.

An equirectangular projection around the shape's own latitude: over a few kilometres
(a community) its distances are within a fraction of a percent, which is all that a
0.5 m snapping tolerance needs, and it keeps geo/cells.py free of coordinate systems.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely

METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LON_AT_EQUATOR = 111_320.0


@dataclass(frozen=True)
class LocalFrame:
    lon0: float
    lat0: float

    @classmethod
    def around(cls, geometry) -> LocalFrame:
        centre = geometry.centroid if not geometry.is_empty else shapely.Point(0, 0)
        return cls(centre.x, centre.y)

    @property
    def _x_scale(self) -> float:
        return METRES_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(self.lat0))

    def to_metres(self, geometry):
        x_scale = self._x_scale
        return shapely.transform(
            geometry,
            lambda xy: (xy - (self.lon0, self.lat0)) * (x_scale, METRES_PER_DEGREE_LAT),
        )

    def to_degrees(self, geometry):
        x_scale = self._x_scale
        return shapely.transform(
            geometry,
            lambda xy: xy / (x_scale, METRES_PER_DEGREE_LAT) + (self.lon0, self.lat0),
        )
