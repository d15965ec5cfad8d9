"""Pure tests for geo.demo_layout: hierarchy, tiling, buildings and roads, no database."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Polygon

from geo.demo_layout import DISTRICT_CODE, SIZES, DistrictLayout, build_layout


@pytest.fixture(scope="module")
def small() -> DistrictLayout:
    return build_layout(SIZES["small"], seed=1)


@pytest.fixture(scope="module")
def medium() -> DistrictLayout:
    return build_layout(SIZES["medium"], seed=2)


def assert_tiles(parent: Polygon, parts: list[Polygon]) -> None:
    """Parts are valid Polygons with no overlap whose union is the parent (degrees^2)."""
    arr = np.array(parts, dtype=object)
    assert all(isinstance(p, Polygon) and p.is_valid and not p.is_empty for p in parts)
    assert abs(shapely.area(arr).sum() - parent.area) < 1e-12
    i, j = shapely.STRtree(arr).query(arr, predicate="intersects")
    pairs = i < j
    overlap = shapely.area(shapely.intersection(arr[i[pairs]], arr[j[pairs]]))
    assert overlap.max(initial=0.0) < 1e-14
    union = shapely.union_all(arr)
    assert shapely.area(shapely.symmetric_difference(union, parent)) < 1e-12


def assert_hierarchy(layout: DistrictLayout) -> None:
    """Each level tiles its parent and codes extend the parent code by 3 digits."""
    assert layout.district.code == DISTRICT_CODE
    assert_tiles(layout.district.polygon, [s.polygon for s in layout.sub_districts])
    for k, sub in enumerate(layout.sub_districts):
        assert sub.code[:6] == DISTRICT_CODE and len(sub.code) == 9
        assert sub.name.endswith("街道")
        members = [c for c in layout.communities if c.sub_district_idx == k]
        assert_tiles(sub.polygon, [c.polygon for c in members])
        assert all(c.code[:9] == sub.code and len(c.code) == 12 for c in members)
    for k, comm in enumerate(layout.communities):
        assert comm.name.endswith("社区")
        members = [c for c in layout.cells if c.community_idx == k]
        assert_tiles(comm.polygon, [c.polygon for c in members])
        assert all(c.code[:12] == comm.code and len(c.code) == 15 for c in members)
    codes = [layout.district.code]
    codes += [a.code for level in (layout.sub_districts, layout.communities) for a in level]
    codes += [c.code for c in layout.cells]
    assert len(codes) == len(set(codes))
    assert all(code.isdigit() for code in codes)


def assert_buildings(layout: DistrictLayout) -> None:
    """Every building lies in its cell and community; doors are unique and rise along roads."""
    b = layout.buildings
    cells = np.array([c.polygon for c in layout.cells], dtype=object)
    comms = np.array([c.polygon for c in layout.communities], dtype=object)
    assert shapely.contains_xy(cells[b.cell_idx], b.lon, b.lat).all()
    assert shapely.contains_xy(comms[b.community_idx], b.lon, b.lat).all()
    cell_comm = np.array([c.community_idx for c in layout.cells])
    assert np.array_equal(cell_comm[b.cell_idx], b.community_idx)
    assert np.bincount(b.cell_idx, minlength=len(cells)).min() >= 1
    pairs = b.road_idx.astype(np.int64) * 1_000_000 + b.door_number
    assert len(np.unique(pairs)) == len(b)
    assert (b.door_number >= 1).all()
    assert b.entrances.min() >= 1 and b.entrances.max() <= 4
    assert b.floors.min() >= 2 and b.floors.max() <= 33
    assert b.rooms_per_floor.min() >= 2 and b.rooms_per_floor.max() <= 4
    per_comm = b.community_idx.astype(np.int64) * 1_000_000 + b.building_no
    assert len(np.unique(per_comm)) == len(b)


def assert_roads(layout: DistrictLayout) -> None:
    """Roads are named LineStrings in the district with unique names."""
    names = [r.name for r in layout.roads]
    assert len(names) == len(set(names))
    assert all(r.name[-1] in "路街巷" and isinstance(r.line, LineString) for r in layout.roads)
    lines = np.array([r.line for r in layout.roads], dtype=object)
    district = layout.district.polygon.buffer(1e-9)
    assert shapely.within(lines, district).all()


def test_small_counts_and_sizes(small: DistrictLayout) -> None:
    size = SIZES["small"]
    assert (len(small.sub_districts), len(small.communities), len(small.cells)) == (1, 1, 8)
    assert abs(int(small.buildings.rooms.sum()) - size.dwellings) <= 0.03 * size.dwellings
    assert len(small.police_stations) == 1
    xmin, ymin, xmax, ymax = small.district.polygon.bounds
    assert 1.2 < (xmax - xmin) * 96.0 < 1.8  # km; ~96 km per degree of longitude at 30.6 N
    assert 114.0 < (xmin + xmax) / 2 < 114.2 and 30.5 < (ymin + ymax) / 2 < 30.7


def test_small_hierarchy_tiles_and_codes(small: DistrictLayout) -> None:
    assert_hierarchy(small)
    assert_tiles(small.communities[0].polygon, [c.polygon for c in small.cells])
    assert [c.name for c in small.cells] == [f"网格{k:02d}" for k in range(1, 9)]


def test_small_buildings(small: DistrictLayout) -> None:
    assert_buildings(small)


def test_small_roads(small: DistrictLayout) -> None:
    assert_roads(small)
    assert len(small.roads) >= 5


def test_doors_rise_along_each_side_of_a_road(small: DistrictLayout) -> None:
    b = small.buildings
    for road in np.unique(b.road_idx).tolist():
        line = small.roads[road].line
        mine = np.flatnonzero(b.road_idx == road)
        along = shapely.line_locate_point(line, shapely.points(b.lon[mine], b.lat[mine]))
        for parity in (0, 1):
            side = b.door_number[mine] % 2 == parity
            doors = b.door_number[mine][side][np.argsort(along[side], kind="stable")]
            assert (np.diff(doors) > 0).all()


def test_police_stations_partition_communities(medium: DistrictLayout) -> None:
    stations = medium.police_stations
    assert len(stations) == SIZES["medium"].police_stations
    covered = sorted(i for s in stations for i in s.community_idx)
    assert covered == list(range(len(medium.communities)))
    for k, station in enumerate(stations):
        assert station.name.endswith("派出所")
        assert all(medium.communities[i].police_station_idx == k for i in station.community_idx)
    district = medium.district.polygon
    assert all(district.contains(shapely.Point(s.lon, s.lat)) for s in stations)


def test_medium_layout(medium: DistrictLayout) -> None:
    size = SIZES["medium"]
    assert len(medium.cells) == 150
    assert len(medium.communities) == size.communities
    assert abs(int(medium.buildings.rooms.sum()) - size.dwellings) <= 0.03 * size.dwellings
    assert_hierarchy(medium)
    assert_buildings(medium)
    assert_roads(medium)


def test_names_unique_across_levels(medium: DistrictLayout) -> None:
    names = [s.name for s in medium.sub_districts] + [c.name for c in medium.communities]
    names += [s.name for s in medium.police_stations] + [r.name for r in medium.roads]
    assert len(names) == len(set(names))


def test_layout_is_deterministic_per_seed() -> None:
    first = build_layout(SIZES["small"], seed=11)
    again = build_layout(SIZES["small"], seed=11)
    other = build_layout(SIZES["small"], seed=12)
    assert [c.polygon.wkb for c in first.cells] == [c.polygon.wkb for c in again.cells]
    assert [r.name for r in first.roads] == [r.name for r in again.roads]
    for name in ("lon", "lat", "road_idx", "door_number", "floors"):
        assert np.array_equal(getattr(first.buildings, name), getattr(again.buildings, name))
    assert [c.polygon.wkb for c in first.cells] != [c.polygon.wkb for c in other.cells]


def test_building_columns_are_read_only(small: DistrictLayout) -> None:
    with pytest.raises(ValueError):
        small.buildings.floors[0] = 99


def test_bad_size_is_rejected() -> None:
    bad = SIZES["small"].__class__("bad", 3, 2, 8, 100, 100, 1, 1.0, 200.0)
    with pytest.raises(ValueError):
        build_layout(bad, seed=0)
