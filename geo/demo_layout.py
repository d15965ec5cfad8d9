"""Spatial layout of the fictional demo district near Wuhan, as plain dataclasses and arrays.

No database and no Flask: a loader turns a ``DistrictLayout`` into rows. Geometry is built
in a local metric frame (metres east/north of the centre) so Voronoi cells, road spacing
and setbacks are isotropic, then moved to EPSG:4326 lon/lat degrees by one affine map,
which keeps shared edges shared. Coordinates are not rounded: rounding each polygon on its
own would open gaps between neighbours. Everything is deterministic for a seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from geo.tiling import irregular_polygon, split_polygon

__all__ = [
    "CENTER",
    "DISTRICT_CODE",
    "DISTRICT_NAME",
    "SIZES",
    "Buildings",
    "Community",
    "DemoSize",
    "District",
    "DistrictLayout",
    "GridCell",
    "PoliceStation",
    "Road",
    "SubDistrict",
    "build_layout",
]

DISTRICT_CODE = "420199"
DISTRICT_NAME = "示范区"
CENTER = (114.10, 30.60)

ROAD_SUFFIX = {"road": "路", "street": "街", "lane": "巷"}
BUILDING_SETBACK_M = 6.0
ROAD_SETBACK_M = 10.0

# Benign characters for fictional place names; two distinct ones make a base name.
_NAME_CHARS = (
    "青荷安和兴华新民春秋松柏桂兰梅竹泉湖云霞明德仁义礼智信福寿康宁平顺丰盛长乐永昌泰嘉"
    "瑞祥鸿鹏锦绣翠碧银金玉宝光辉晨曦朝阳星月石桥柳杨桃李枫樟菱莲芳苑园庭林森山峰岭溪河"
    "洲滨港鹤凤麟雁燕鸣翔雅静怡悦欣荣茂育"
)


@dataclass(frozen=True)
class DemoSize:
    """Counts for one demo size, so the layout and the loader agree on scale."""

    name: str
    sub_districts: int
    communities: int
    cells: int
    dwellings: int
    people: int
    police_stations: int
    span_km: float
    road_spacing_m: float


SIZES: dict[str, DemoSize] = {
    "small": DemoSize("small", 1, 1, 8, 2_000, 5_000, 1, 1.5, 200.0),
    "medium": DemoSize("medium", 1, 6, 150, 40_000, 100_000, 2, 4.0, 300.0),
    "large": DemoSize("large", 10, 60, 2_000, 500_000, 1_200_000, 12, 25.0, 500.0),
}


@dataclass(frozen=True)
class District:
    """The district (区) outline."""

    code: str
    name: str
    polygon: Polygon


@dataclass(frozen=True)
class SubDistrict:
    """A sub-district (街道); sub-districts tile the district."""

    code: str
    name: str
    polygon: Polygon


@dataclass(frozen=True)
class Community:
    """A community (社区); communities tile their sub-district."""

    code: str
    name: str
    polygon: Polygon
    sub_district_idx: int
    police_station_idx: int


@dataclass(frozen=True)
class GridCell:
    """A grid cell (网格); cells tile their community."""

    code: str
    name: str
    polygon: Polygon
    community_idx: int


@dataclass(frozen=True)
class PoliceStation:
    """A police station (派出所) and the communities of its jurisdiction."""

    name: str
    lon: float
    lat: float
    community_idx: tuple[int, ...]


@dataclass(frozen=True)
class Road:
    """A named road, street or lane (街路巷); names are unique in the district."""

    name: str
    kind: str
    line: LineString


@dataclass(frozen=True, eq=False)
class Buildings:
    """Buildings as read-only columns, so half a million dwellings need no Python objects."""

    lon: np.ndarray
    lat: np.ndarray
    community_idx: np.ndarray
    cell_idx: np.ndarray
    road_idx: np.ndarray
    door_number: np.ndarray
    building_no: np.ndarray
    entrances: np.ndarray
    floors: np.ndarray
    rooms_per_floor: np.ndarray

    def __post_init__(self) -> None:
        for value in self.__dict__.values():
            value.flags.writeable = False

    def __len__(self) -> int:
        return len(self.lon)

    @property
    def rooms(self) -> np.ndarray:
        """Dwellings per building: entrances x floors x rooms per floor per entrance."""
        return self.entrances * self.floors * self.rooms_per_floor


@dataclass(frozen=True, eq=False)
class DistrictLayout:
    """Everything the loader needs, indexed by position in each tuple."""

    size: DemoSize
    seed: int
    district: District
    sub_districts: tuple[SubDistrict, ...]
    communities: tuple[Community, ...]
    police_stations: tuple[PoliceStation, ...]
    cells: tuple[GridCell, ...]
    roads: tuple[Road, ...]
    buildings: Buildings = field(repr=False)


def build_layout(size: DemoSize, seed: int) -> DistrictLayout:
    """Lay out the demo district for ``size``; the same seed always gives the same layout."""
    if not size.sub_districts <= size.communities <= size.cells:
        raise ValueError("need sub_districts <= communities <= cells")
    r_outline, r_tiles, r_roads, r_build, r_names = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)
    )
    names = _NamePool(r_names)
    radius = size.span_km * 500.0
    outline = irregular_polygon((0.0, 0.0), radius, radius * 0.85, r_outline)
    subs = split_polygon(outline, size.sub_districts, r_tiles)
    comms, comm_sub = _split_all(subs, size.communities, r_tiles)
    cells, cell_comm = _split_all(comms, size.cells, r_tiles)
    comm_station, seeds = _police_stations(comms, size.police_stations)
    roads, kinds = _road_network(outline, size.road_spacing_m, r_roads)
    columns = _buildings(cells, cell_comm, len(comms), roads, size.dwellings, r_build)
    frame = _Frame(*CENTER)
    return DistrictLayout(
        size=size,
        seed=seed,
        district=District(DISTRICT_CODE, DISTRICT_NAME, frame.geoms([outline])[0]),
        sub_districts=_sub_districts(frame.geoms(subs), names),
        communities=_communities(frame.geoms(comms), comm_sub, comm_station, names),
        police_stations=_stations(frame, comms, comm_station, seeds, names),
        cells=_cells(frame.geoms(cells), cell_comm, comm_sub),
        roads=tuple(
            Road(names.take() + ROAD_SUFFIX[k], k, g)
            for k, g in zip(kinds, frame.geoms(roads), strict=True)
        ),
        buildings=_to_buildings(frame, columns),
    )


class _NamePool:
    """Unique two-character base names drawn without replacement, so no name repeats."""

    def __init__(self, rng: np.random.Generator) -> None:
        chars = list(dict.fromkeys(_NAME_CHARS))
        pairs = [a + b for a in chars for b in chars if a != b]
        self._names = [pairs[k] for k in rng.permutation(len(pairs))]
        self._next = 0

    def take(self) -> str:
        """The next unused base name."""
        if self._next >= len(self._names):
            raise RuntimeError("demo name pool exhausted")
        self._next += 1
        return self._names[self._next - 1]


class _Frame:
    """Affine map from local metres to lon/lat degrees (WGS 84 radii of curvature)."""

    def __init__(self, lon0: float, lat0: float) -> None:
        a, e2 = 6378137.0, 6.69437999014e-3
        phi = math.radians(lat0)
        w = math.sqrt(1 - e2 * math.sin(phi) ** 2)
        per_x = math.radians(1) * a * math.cos(phi) / w
        per_y = math.radians(1) * a * (1 - e2) / w**3
        self.origin = np.array([lon0, lat0])
        self.per_degree = np.array([per_x, per_y])

    def coords(self, xy: np.ndarray) -> np.ndarray:
        """Degrees for an (n, 2) array of metres."""
        return xy / self.per_degree + self.origin

    def geoms(self, geoms: list) -> list:
        """Geometries moved from metres to degrees; vertices map one to one."""
        arr = np.empty(len(geoms), dtype=object)
        arr[:] = geoms
        return list(shapely.transform(arr, self.coords))


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` in proportion to ``weights``, at least 1 each (largest remainder)."""
    extra = total - len(weights)
    quota = extra * weights / weights.sum()
    counts = np.floor(quota).astype(int)
    left = extra - counts.sum()
    order = np.lexsort((np.arange(len(weights)), -(quota - counts)))
    counts[order[:left]] += 1
    return counts + 1


def _split_all(
    parents: list[Polygon], total: int, rng: np.random.Generator
) -> tuple[list[Polygon], np.ndarray]:
    """Split each parent into area-proportional counts; return children and parent index."""
    counts = _apportion(total, shapely.area(np.array(parents, dtype=object)))
    children: list[Polygon] = []
    for parent, k in zip(parents, counts.tolist(), strict=True):
        children.extend(split_polygon(parent, k, rng))
    return children, np.repeat(np.arange(len(parents)), counts)


def _police_stations(comms: list[Polygon], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Jurisdictions: spread station seeds (farthest-point) and give each community the nearest."""
    xy = shapely.get_coordinates(shapely.point_on_surface(np.array(comms, dtype=object)))
    n = min(n, len(comms))
    seeds = [int(np.argmin(np.hypot(*(xy - xy.mean(axis=0)).T)))]
    dist = np.hypot(*(xy - xy[seeds[0]]).T)
    while len(seeds) < n:
        seeds.append(int(np.argmax(dist)))
        dist = np.minimum(dist, np.hypot(*(xy - xy[seeds[-1]]).T))
    seeds_arr = np.sort(np.array(seeds))
    d2 = ((xy[:, None, :] - xy[seeds_arr][None, :, :]) ** 2).sum(axis=2)
    return d2.argmin(axis=1), seeds_arr


def _road_network(
    outline: Polygon, spacing: float, rng: np.random.Generator
) -> tuple[list[LineString], list[str]]:
    """A jittered, slightly rotated street lattice plus lanes, clipped to the district."""
    nodes = _lattice(outline, spacing, rng)
    lines, kinds = _streets(nodes, rng)
    lane_lines = _lanes(nodes, rng)
    lines += lane_lines
    kinds += ["lane"] * len(lane_lines)
    shapely.prepare(outline)
    clipped = shapely.line_merge(shapely.intersection(np.array(lines, dtype=object), outline))
    parts, index = shapely.get_parts(clipped, return_index=True)
    keep = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) >= 0.25 * spacing)
    return list(parts[keep]), [kinds[k] for k in index[keep]]


def _lattice(outline: Polygon, spacing: float, rng: np.random.Generator) -> np.ndarray:
    """Street crossings as an (nx, ny, 2) array covering the outline after rotation."""
    reach = float(np.abs(shapely.bounds(outline)).max()) * math.sqrt(2) + spacing
    ticks = np.arange(-reach, reach + spacing, spacing)
    gx, gy = np.meshgrid(ticks, ticks, indexing="ij")
    gx = gx + rng.uniform(-0.18, 0.18, gx.shape) * spacing
    gy = gy + rng.uniform(-0.18, 0.18, gy.shape) * spacing
    angle = rng.uniform(-0.25, 0.25)
    cos, sin = math.cos(angle), math.sin(angle)
    return np.stack([gx * cos - gy * sin, gx * sin + gy * cos], axis=2)


def _streets(nodes: np.ndarray, rng: np.random.Generator) -> tuple[list[LineString], list[str]]:
    """Roads (every 4th line, long) and streets (short runs) along lattice rows and columns."""
    lines: list[LineString] = []
    kinds: list[str] = []
    for run in (nodes, nodes.transpose(1, 0, 2)):
        offset = int(rng.integers(4))
        for i in range(run.shape[0]):
            kind = "road" if i % 4 == offset else "street"
            low, high = (10, 21) if kind == "road" else (3, 9)
            start = 0
            while start < run.shape[1] - 1:
                stop = min(start + int(rng.integers(low, high)), run.shape[1] - 1)
                lines.append(LineString(run[i, start : stop + 1]))
                kinds.append(kind)
                start = stop
    return lines, kinds


def _lanes(nodes: np.ndarray, rng: np.random.Generator, share: float = 0.3) -> list[LineString]:
    """Short lanes into some blocks, dead-ends or through, across either direction."""
    sw, se, nw, ne = nodes[:-1, :-1], nodes[1:, :-1], nodes[:-1, 1:], nodes[1:, 1:]
    shape = sw.shape[:2]
    pick = rng.random(shape) < share
    t = rng.uniform(0.35, 0.65, shape)[..., None]
    reach = np.where(rng.random(shape) < 0.3, 1.0, rng.uniform(0.4, 0.75, shape))[..., None]
    north = rng.random(shape) < 0.5
    start = np.where(north[..., None], sw + t * (se - sw), sw + t * (nw - sw))
    end_full = np.where(north[..., None], nw + t * (ne - nw), se + t * (ne - se))
    end = start + reach * (end_full - start)
    segments = np.stack([start[pick], end[pick]], axis=1)
    return list(shapely.linestrings(segments))


def _buildings(
    cells: list[Polygon],
    cell_comm: np.ndarray,
    n_comms: int,
    roads: list[LineString],
    dwellings: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Building columns in metres: places, sizes, nearest road and door numbers."""
    attrs = _building_sizes(dwellings, rng)
    n = len(attrs["floors"])
    cell_arr = np.array(cells, dtype=object)
    counts = _cell_counts(n, shapely.area(cell_arr), rng)
    road_arr = np.array(roads, dtype=object)
    tree = shapely.STRtree(road_arr)
    xy, cell_idx = _sample_in_cells(cell_arr, counts, tree, rng)
    comm_idx = cell_comm[cell_idx]
    attrs = _match_towers(attrs, comm_idx, n_comms, rng)
    road_idx, door = _door_numbers(xy, road_arr, tree, rng)
    order = np.lexsort((door, road_idx, comm_idx))
    building_no = np.empty(n, dtype=np.int32)
    building_no[order] = _rank_in_groups(comm_idx[order]) + 1
    return {
        "xy": xy,
        "community_idx": comm_idx,
        "cell_idx": cell_idx,
        "road_idx": road_idx,
        "door_number": door,
        "building_no": building_no,
        **attrs,
    }


# (share, floor range, entrance weights for 1-4, rooms-per-floor weights for 2-4)
_BUILDING_TYPES = (
    (0.55, (6, 7), (0.15, 0.35, 0.35, 0.15), (0.6, 0.3, 0.1)),  # old walk-ups
    (0.12, (2, 5), (0.5, 0.3, 0.15, 0.05), (0.6, 0.3, 0.1)),  # low-rise
    (0.13, (8, 17), (0.3, 0.4, 0.2, 0.1), (0.3, 0.4, 0.3)),  # mid-rise
    (0.20, (18, 33), (0.5, 0.35, 0.1, 0.05), (0.2, 0.3, 0.5)),  # towers
)


def _building_sizes(dwellings: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random building sizes whose room total hits ``dwellings`` (last one fitted to fit)."""
    batch = int(dwellings / 40) + 16
    while True:
        attrs = _random_sizes(batch, rng)
        total = np.cumsum(attrs["entrances"] * attrs["floors"] * attrs["rooms_per_floor"])
        if total[-1] >= dwellings:
            break
        batch *= 2
    k = int(np.searchsorted(total, dwellings, side="right"))
    attrs = {name: col[:k] for name, col in attrs.items()}
    rest = dwellings - (int(total[k - 1]) if k else 0)
    if rest >= 4:
        fitted = _fit_building(rest)
        attrs = {name: np.append(col, fitted[name]) for name, col in attrs.items()}
    return {name: col.astype(np.int32) for name, col in attrs.items()}


def _random_sizes(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n`` buildings drawn from the type mix, vectorised per type."""
    kind = rng.choice(len(_BUILDING_TYPES), size=n, p=[t[0] for t in _BUILDING_TYPES])
    floors = np.empty(n, dtype=int)
    entrances = np.empty(n, dtype=int)
    rooms = np.empty(n, dtype=int)
    for k, (_, (low, high), ent_w, room_w) in enumerate(_BUILDING_TYPES):
        mask = kind == k
        m = int(mask.sum())
        floors[mask] = rng.integers(low, high + 1, m)
        entrances[mask] = rng.choice(4, size=m, p=ent_w) + 1
        rooms[mask] = rng.choice(3, size=m, p=room_w) + 2
    return {"entrances": entrances, "floors": floors, "rooms_per_floor": rooms}


def _fit_building(rooms: int) -> dict[str, int]:
    """The building closest to ``rooms`` dwellings, preferring a 6-7 floor walk-up."""
    best: tuple[tuple[int, float], dict[str, int]] | None = None
    for floors in range(2, 34):
        for entrances in range(1, 5):
            for per_floor in range(2, 5):
                key = (abs(entrances * floors * per_floor - rooms), abs(floors - 6.5))
                if best is None or key < best[0]:
                    cand = {"entrances": entrances, "floors": floors, "rooms_per_floor": per_floor}
                    best = (key, cand)
    assert best is not None
    return best[1]


def _cell_counts(n: int, areas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Buildings per cell: at least one where possible, the rest in proportion to area."""
    floor = 1 if n >= len(areas) else 0
    return floor + rng.multinomial(n - floor * len(areas), areas / areas.sum())


def _sample_in_cells(
    cells: np.ndarray, counts: np.ndarray, tree: shapely.STRtree, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Points inside each cell, off its edge and off road centrelines, sorted by cell."""
    inner = shapely.buffer(cells, -BUILDING_SETBACK_M)
    thin = shapely.is_empty(inner) | (shapely.area(inner) < 0.05 * shapely.area(cells))
    inner = np.where(thin, cells, inner)
    shapely.prepare(inner)
    bounds = shapely.bounds(inner)
    low, extent = bounds[:, :2], bounds[:, 2:] - bounds[:, :2]
    fill = shapely.area(inner) / (extent[:, 0] * extent[:, 1])
    need = counts.copy()
    got_xy, got_cell = [], []
    for attempt in range(16):
        if not need.any():
            break
        draws = np.where(need > 0, np.ceil(need / fill * 1.5).astype(int) + 4, 0)
        cid = np.repeat(np.arange(len(cells)), draws)
        xy = low[cid] + rng.random((len(cid), 2)) * extent[cid]
        ok = shapely.contains_xy(inner[cid], xy[:, 0], xy[:, 1])
        if attempt < 12:
            near, _ = tree.query(shapely.points(xy), predicate="dwithin", distance=ROAD_SETBACK_M)
            ok[near] = False
        cid, xy = cid[ok], xy[ok]
        take = _rank_in_groups(cid) < need[cid]
        got_xy.append(xy[take])
        got_cell.append(cid[take])
        need -= np.bincount(cid[take], minlength=len(cells))
    if need.any():
        raise RuntimeError("could not place every building")
    cell_idx = np.concatenate(got_cell)
    order = np.argsort(cell_idx, kind="stable")
    return np.concatenate(got_xy)[order], cell_idx[order].astype(np.int32)


def _rank_in_groups(keys: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values in a sorted key array."""
    return np.arange(len(keys)) - np.searchsorted(keys, keys, side="left")


def _match_towers(
    attrs: dict[str, np.ndarray], comm_idx: np.ndarray, n_comms: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Give tall buildings mostly to a few 'new-build' communities, walk-ups to the rest."""
    newness = rng.random(n_comms) ** 2
    place_key = newness[comm_idx] + rng.normal(0.0, 0.25, len(comm_idx))
    size_key = attrs["floors"] + rng.normal(0.0, 2.0, len(comm_idx))
    places = np.argsort(place_key, kind="stable")
    sizes = np.argsort(size_key, kind="stable")
    out = {}
    for name, col in attrs.items():
        matched = np.empty_like(col)
        matched[places] = col[sizes]
        out[name] = matched
    return out


def _door_numbers(
    xy: np.ndarray, roads: np.ndarray, tree: shapely.STRtree, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest road per building and 门牌号: odd on the left, even on the right, rising."""
    pts = shapely.points(xy)
    hit = tree.query_nearest(pts, all_matches=False)
    road_idx = np.empty(len(xy), dtype=np.int32)
    road_idx[hit[0]] = hit[1]
    lines = roads[road_idx]
    along = shapely.line_locate_point(lines, pts)
    length = shapely.length(lines)
    ahead = shapely.line_interpolate_point(lines, np.minimum(along + 1.0, length))
    behind = shapely.line_interpolate_point(lines, np.maximum(along - 1.0, 0.0))
    foot = shapely.get_coordinates(shapely.line_interpolate_point(lines, along))
    tangent = shapely.get_coordinates(ahead) - shapely.get_coordinates(behind)
    offset = xy - foot
    right = (tangent[:, 0] * offset[:, 1] - tangent[:, 1] * offset[:, 0]) < 0
    order = np.lexsort((along, right, road_idx))
    steps = rng.choice([1, 1, 1, 2], size=len(xy))[order]
    group = road_idx[order].astype(np.int64) * 2 + right[order]
    starts = np.searchsorted(group, group, side="left")
    total = np.cumsum(steps)
    k = total - total[starts] + steps[starts]
    door = np.empty(len(xy), dtype=np.int32)
    door[order] = 2 * k - 1 + right[order]
    return road_idx, door


def _sub_districts(polys: list[Polygon], names: _NamePool) -> tuple[SubDistrict, ...]:
    """Sub-districts coded district code + 3 digits."""
    return tuple(
        SubDistrict(f"{DISTRICT_CODE}{k + 1:03d}", names.take() + "街道", p)
        for k, p in enumerate(polys)
    )


def _communities(
    polys: list[Polygon], comm_sub: np.ndarray, comm_station: np.ndarray, names: _NamePool
) -> tuple[Community, ...]:
    """Communities coded sub-district code + 3 digits, numbered within their sub-district."""
    within = _rank_in_groups(comm_sub) + 1
    return tuple(
        Community(
            f"{DISTRICT_CODE}{int(s) + 1:03d}{int(w):03d}",
            names.take() + "社区",
            p,
            int(s),
            int(st),
        )
        for p, s, w, st in zip(polys, comm_sub, within, comm_station, strict=True)
    )


def _cells(
    polys: list[Polygon], cell_comm: np.ndarray, comm_sub: np.ndarray
) -> tuple[GridCell, ...]:
    """Grid cells coded community code + 3 digits, named 网格01, 网格02, ... per community."""
    comm_within = _rank_in_groups(comm_sub) + 1
    within = _rank_in_groups(cell_comm) + 1
    cells = []
    for p, c, w in zip(polys, cell_comm.tolist(), within.tolist(), strict=True):
        prefix = f"{DISTRICT_CODE}{int(comm_sub[c]) + 1:03d}{int(comm_within[c]):03d}"
        cells.append(GridCell(f"{prefix}{w:03d}", f"网格{w:02d}", p, c))
    return tuple(cells)


def _stations(
    frame: _Frame,
    comms: list[Polygon],
    comm_station: np.ndarray,
    seeds: np.ndarray,
    names: _NamePool,
) -> tuple[PoliceStation, ...]:
    """Stations sited inside their seed community, each listing its communities."""
    sites = frame.coords(
        shapely.get_coordinates(shapely.point_on_surface(np.array(comms, dtype=object)[seeds]))
    )
    return tuple(
        PoliceStation(
            names.take() + "派出所",
            float(sites[k, 0]),
            float(sites[k, 1]),
            tuple(np.flatnonzero(comm_station == k).tolist()),
        )
        for k in range(len(seeds))
    )


def _to_buildings(frame: _Frame, cols: dict[str, np.ndarray]) -> Buildings:
    """Columns in degrees, with compact integer types."""
    lonlat = frame.coords(cols["xy"])
    ints = {k: np.ascontiguousarray(v, dtype=np.int32) for k, v in cols.items() if k != "xy"}
    return Buildings(
        lon=np.ascontiguousarray(lonlat[:, 0]),
        lat=np.ascontiguousarray(lonlat[:, 1]),
        community_idx=ints["community_idx"],
        cell_idx=ints["cell_idx"],
        road_idx=ints["road_idx"],
        door_number=ints["door_number"],
        building_no=ints["building_no"],
        entrances=ints["entrances"],
        floors=ints["floors"],
        rooms_per_floor=ints["rooms_per_floor"],
    )
