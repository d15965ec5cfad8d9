"""GCJ-02 shift and its inverse against reference values published by other projects.

The reference pairs are not produced by our code:
- googollee/eviltransform (MIT), python/test.py, ``TESTS``: (wgsLat, wgsLng, gcjLat, gcjLng)
  for Shanghai, Shenzhen and Beijing, checked there to 6 decimal places;
- wandergis/coordtransform's documented example, ``wgs84togcj02(116.404, 39.915)`` =
  ``[116.41024449916938, 39.91640428150164]`` (the value its ports, e.g. coordtransform-rs,
  assert in their tests).
"""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from geo import gcj02

# (WGS 84 lon, lat) -> (GCJ-02 lon, lat)
REFERENCE = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # eviltransform: Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # eviltransform: Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # eviltransform: Beijing
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),  # coordtransform's example
]


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance on a sphere of the Earth's mean radius."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_shift_matches_the_published_values(wgs, gcj):
    shifted = gcj02.to_gcj02(*wgs)
    assert shifted == pytest.approx(gcj, abs=1e-7)
    assert metres_between(wgs, gcj) > 100  # the offset is real: hundreds of metres


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_shifting_back_returns_within_a_metre(wgs, gcj):
    assert metres_between(gcj02.to_wgs84(*gcj), wgs) < 1.0
    assert metres_between(gcj02.to_wgs84(*gcj02.to_gcj02(*wgs)), wgs) < 1.0


def test_outside_china_nothing_moves():
    assert gcj02.to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert gcj02.to_wgs84(-74.0, 40.7) == (-74.0, 40.7)


def test_sql_shift_is_the_same_formula(session):
    """The vector tiles shift points in PostgreSQL with the very same expression."""
    for wgs, gcj in REFERENCE + [((2.35, 48.85), (2.35, 48.85))]:
        point = func.ST_SetSRID(func.ST_MakePoint(*wgs), 4326)
        shifted = gcj02.shifted_point_sql(point)
        lon, lat = session.execute(select(func.ST_X(shifted), func.ST_Y(shifted))).one()
        assert (lon, lat) == pytest.approx(gcj, abs=1e-7)
