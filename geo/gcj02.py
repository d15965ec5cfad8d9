"""GCJ-02, the offset that Chinese commercial basemaps draw in, and its inverse.

The registry stores WGS 84 / CGCS2000 longitude and latitude. A basemap in GCJ-02 (most
commercial Chinese tiles) is drawn with a published, deliberately nonlinear offset of a few
hundred metres; our geometry lines up with it only after the same offset is applied for
display. Points a user places on such a map, read back in GCJ-02, are shifted back before
they are stored.

The offset is written once, over a "math backend" ``m`` that provides ``sqrt``, ``abs``,
``sin`` and ``cos``: :data:`NUMBERS` for Python floats, or :data:`SQL` for a PostgreSQL
expression over geometry columns (the map's vector tiles shift their points in SQL).
The browser's copy (``registry/static/js/gcj02.js``) is tested against the same reference
values in tests/test_map_browser.py.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

from sqlalchemy import case, func, or_

# Krasovsky 1940, as the GCJ-02 algorithm uses it.
_A = 6378245.0
_EE = 0.00669342162296594323
_PI = math.pi
# Outside this box the offset is not applied (the published algorithm's own test).
CHINA_LON = (72.004, 137.8347)
CHINA_LAT = (0.8293, 55.8271)

NUMBERS = SimpleNamespace(sqrt=math.sqrt, abs=abs, sin=math.sin, cos=math.cos)
SQL = SimpleNamespace(sqrt=func.sqrt, abs=func.abs, sin=func.sin, cos=func.cos)


def _lat_term(x, y, m):
    value = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * m.sqrt(m.abs(x))
    value = value + (20.0 * m.sin(6.0 * x * _PI) + 20.0 * m.sin(2.0 * x * _PI)) * 2.0 / 3.0
    value = value + (20.0 * m.sin(y * _PI) + 40.0 * m.sin(y / 3.0 * _PI)) * 2.0 / 3.0
    return value + (160.0 * m.sin(y / 12.0 * _PI) + 320.0 * m.sin(y * _PI / 30.0)) * 2.0 / 3.0


def _lon_term(x, y, m):
    value = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * m.sqrt(m.abs(x))
    value = value + (20.0 * m.sin(6.0 * x * _PI) + 20.0 * m.sin(2.0 * x * _PI)) * 2.0 / 3.0
    value = value + (20.0 * m.sin(x * _PI) + 40.0 * m.sin(x / 3.0 * _PI)) * 2.0 / 3.0
    return value + (150.0 * m.sin(x / 12.0 * _PI) + 300.0 * m.sin(x / 30.0 * _PI)) * 2.0 / 3.0


def offset(lon, lat, m=NUMBERS):
    """(dlon, dlat) in degrees that GCJ-02 adds at a WGS 84 point inside China."""
    x, y = lon - 105.0, lat - 35.0
    rad_lat = lat / 180.0 * _PI
    magic = 1.0 - _EE * m.sin(rad_lat) * m.sin(rad_lat)
    sqrt_magic = m.sqrt(magic)
    dlat = _lat_term(x, y, m) * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * _PI)
    dlon = _lon_term(x, y, m) * 180.0 / (_A / sqrt_magic * m.cos(rad_lat) * _PI)
    return dlon, dlat


def in_china(lon: float, lat: float) -> bool:
    return CHINA_LON[0] <= lon <= CHINA_LON[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]


def to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """A WGS 84 point as a GCJ-02 basemap draws it."""
    if not in_china(lon, lat):
        return lon, lat
    dlon, dlat = offset(lon, lat)
    return lon + dlon, lat + dlat


def to_wgs84(lon: float, lat: float, steps: int = 4) -> tuple[float, float]:
    """The WGS 84 point that GCJ-02 draws at (lon, lat): the offset inverted by iteration.

    The offset changes by well under a metre per hundred metres, so each step gains
    about three decimal places; four steps are far below a centimetre.
    """
    if not in_china(lon, lat):
        return lon, lat
    wgs_lon, wgs_lat = lon, lat
    for _ in range(steps):
        dlon, dlat = offset(wgs_lon, wgs_lat)
        wgs_lon, wgs_lat = lon - dlon, lat - dlat
    return wgs_lon, wgs_lat


def shifted_point_sql(point):
    """A SQL expression: the WGS 84 ``point`` geometry shifted to GCJ-02 (outside China as is)."""
    lon, lat = func.ST_X(point), func.ST_Y(point)
    dlon, dlat = offset(lon, lat, SQL)
    outside = or_(lon < CHINA_LON[0], lon > CHINA_LON[1], lat < CHINA_LAT[0], lat > CHINA_LAT[1])
    return case(
        (outside, point),
        else_=func.ST_Translate(point, dlon, dlat),
    )


__all__ = ["in_china", "offset", "shifted_point_sql", "to_gcj02", "to_wgs84"]
