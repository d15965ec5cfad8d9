"""Pure geometry tests for geo.tiling: exact tilings on plain shapes, no database."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from geo.tiling import irregular_polygon, random_points_in, split_polygon

SQUARE = box(0.0, 0.0, 1.0, 1.0)
U_SHAPE = Polygon([(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)])
COMB = Polygon(
    [(0, 0), (10, 0), (10, 3)]
    + [pt for k in range(1, 10) for pt in ((10 - k + 0.5, 3), (10 - k + 0.5, 1), (10 - k, 1))][:-1]
    + [(1, 3), (0.5, 3), (0.5, 1), (0, 1)]
)
HOLED = box(0, 0, 4, 4).difference(box(1.5, 1.5, 2.5, 2.5))
DISTRICT = irregular_polygon((114.1, 30.6), 0.12, 0.1, np.random.default_rng(5))


def assert_tiles(parent: Polygon, parts: list[Polygon], n: int) -> None:
    """Parts are n valid Polygons whose areas add up, that do not overlap, union = parent."""
    arr = np.array(parts, dtype=object)
    assert len(parts) == n
    assert all(isinstance(p, Polygon) and p.is_valid and not p.is_empty for p in parts)
    assert all(shapely.is_ccw(p.exterior) for p in parts)
    assert abs(shapely.area(arr).sum() - parent.area) < 1e-9
    i, j = shapely.STRtree(arr).query(arr, predicate="intersects")
    pairs = i < j
    overlap = shapely.area(shapely.intersection(arr[i[pairs]], arr[j[pairs]]))
    assert overlap.max(initial=0.0) < 1e-12
    union = shapely.union_all(arr)
    assert shapely.area(shapely.symmetric_difference(union, parent)) < 1e-9


@pytest.mark.parametrize(
    ("parent", "n"), [(SQUARE, 2), (SQUARE, 10), (U_SHAPE, 7), (HOLED, 9), (DISTRICT, 33)]
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_polygon_tiles_exactly(parent: Polygon, n: int, seed: int) -> None:
    assert_tiles(parent, split_polygon(parent, n, np.random.default_rng(seed)), n)


def test_comb_is_a_valid_parent() -> None:
    assert COMB.is_valid and COMB.area > 0


@pytest.mark.parametrize("seed", range(8))
def test_split_concave_comb_merges_detached_pieces(seed: int) -> None:
    """Voronoi cells cut by the comb's teeth fall apart; every part must still be one Polygon."""
    assert_tiles(COMB, split_polygon(COMB, 12, np.random.default_rng(seed)), 12)


def test_split_into_one_part_is_the_parent() -> None:
    (part,) = split_polygon(U_SHAPE, 1, np.random.default_rng(0))
    assert part.equals(U_SHAPE)


def test_split_is_deterministic_per_seed() -> None:
    first = split_polygon(DISTRICT, 12, np.random.default_rng(42))
    again = split_polygon(DISTRICT, 12, np.random.default_rng(42))
    other = split_polygon(DISTRICT, 12, np.random.default_rng(43))
    assert [p.wkb for p in first] == [p.wkb for p in again]
    assert [p.wkb for p in first] != [p.wkb for p in other]


def test_lloyd_relaxation_gives_comparable_sizes() -> None:
    areas = shapely.area(split_polygon(SQUARE, 20, np.random.default_rng(3)))
    assert areas.min() > 0.2 * areas.max()


def test_split_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        split_polygon(SQUARE, 0, np.random.default_rng(0))
    with pytest.raises(ValueError):
        split_polygon(Polygon(), 3, np.random.default_rng(0))


def test_irregular_polygon_is_valid_ccw_and_near_its_radii() -> None:
    poly = irregular_polygon((10.0, 20.0), 3.0, 2.0, np.random.default_rng(1), vertices=40)
    assert poly.is_valid and shapely.is_ccw(poly.exterior)
    assert len(poly.exterior.coords) == 41
    xmin, ymin, xmax, ymax = poly.bounds
    assert 5.0 < xmax - xmin < 7.0 and 3.4 < ymax - ymin < 4.6
    assert poly.contains(shapely.Point(10.0, 20.0))


def test_random_points_in_are_inside_and_deterministic() -> None:
    pts = random_points_in(U_SHAPE, 500, np.random.default_rng(9))
    assert pts.shape == (500, 2)
    assert shapely.contains_xy(U_SHAPE, pts[:, 0], pts[:, 1]).all()
    assert np.array_equal(pts, random_points_in(U_SHAPE, 500, np.random.default_rng(9)))
    assert random_points_in(U_SHAPE, 0, np.random.default_rng(9)).shape == (0, 2)


def test_random_points_cover_the_polygon_roughly_uniformly() -> None:
    pts = random_points_in(SQUARE, 4000, np.random.default_rng(4))
    left = (pts[:, 0] < 0.5).mean()
    assert 0.45 < left < 0.55
