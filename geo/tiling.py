"""Generic grid maths: exact irregular tilings of polygons and uniform sampling inside them.

Pure shapely 2 + numpy, no database. Every function takes a ``numpy.random.Generator`` so
results are reproducible for a seed. Coordinates are whatever the caller passes (lon/lat
degrees in the product, local metres in the demo layout); nothing here assumes a CRS.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import Polygon

__all__ = ["irregular_polygon", "random_points_in", "split_polygon"]


def random_points_in(polygon: Polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform points inside ``polygon`` as an (n, 2) array, rejection-sampled in batches."""
    if n <= 0:
        return np.empty((0, 2), dtype=float)
    area = shapely.area(polygon)
    if not area > 0:
        raise ValueError("cannot sample points in an empty polygon")
    xmin, ymin, xmax, ymax = shapely.bounds(polygon)
    origin, extent = np.array([xmin, ymin]), np.array([xmax - xmin, ymax - ymin])
    fill = area / float(extent[0] * extent[1])
    shapely.prepare(polygon)
    chunks, have = [], 0
    while have < n:
        batch = int((n - have) / fill * 1.2) + 16
        xy = origin + rng.random((batch, 2)) * extent
        inside = xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]
        chunks.append(inside)
        have += len(inside)
    return np.concatenate(chunks)[:n]


def irregular_polygon(
    center: tuple[float, float],
    radius_x: float,
    radius_y: float,
    rng: np.random.Generator,
    vertices: int = 48,
) -> Polygon:
    """A wobbly, convex-ish, counter-clockwise outline, so a demo boundary looks hand-drawn."""
    if vertices < 3:
        raise ValueError("a polygon needs at least 3 vertices")
    step = 2 * math.pi / vertices
    theta = np.arange(vertices) * step + rng.uniform(-0.3, 0.3, vertices) * step
    wobble = np.ones(vertices)
    for k in (2, 3, 5):
        wobble += rng.uniform(0.015, 0.05) * np.sin(k * theta + rng.uniform(0, 2 * math.pi))
    wobble += rng.uniform(-0.015, 0.015, vertices)
    x = center[0] + radius_x * wobble * np.cos(theta)
    y = center[1] + radius_y * wobble * np.sin(theta)
    return Polygon(np.column_stack([x, y]))


def split_polygon(
    polygon: Polygon, n_parts: int, rng: np.random.Generator, lloyd_steps: int = 2
) -> list[Polygon]:
    """Tile ``polygon`` exactly with ``n_parts`` Voronoi-like Polygons, in reading order.

    Parts come from Voronoi cells of seeded points relaxed with Lloyd's step, clipped to the
    parent by polygonizing one noded arrangement, so neighbours share identical edges and
    the union is the parent. Detached pieces of a cell are merged into the neighbour they
    share the longest edge with, so every part is a single valid Polygon. Parts are
    ordered north to south in bands, west to east within a band; exteriors are CCW.
    """
    if n_parts < 1:
        raise ValueError("n_parts must be at least 1")
    if not isinstance(polygon, Polygon) or polygon.is_empty or not polygon.is_valid:
        raise ValueError("split_polygon needs a valid, non-empty Polygon")
    if n_parts == 1:
        return [shapely.orient_polygons(polygon)]
    seeds = _relaxed_seeds(polygon, n_parts, rng, lloyd_steps)
    faces = _faces(polygon, seeds)
    labels = _nearest(shapely.get_coordinates(shapely.point_on_surface(faces)), seeds)
    labels = _absorb_detached(faces, labels)
    parts = _merge_labelled(faces, labels, n_parts)
    return _reading_order(shapely.orient_polygons(parts), polygon)


def _relaxed_seeds(polygon: Polygon, n: int, rng: np.random.Generator, steps: int) -> np.ndarray:
    """Random seeds moved to their clipped cells' centroids, so parts get comparable sizes."""
    seeds = random_points_in(polygon, n, rng)
    for _ in range(steps):
        cells = shapely.get_parts(
            shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=polygon)
        )
        clipped = shapely.intersection(cells, polygon)
        clipped = clipped[~shapely.is_empty(clipped)]
        centres = shapely.centroid(clipped)
        outside = ~shapely.contains_xy(polygon, *shapely.get_coordinates(centres).T)
        centres[outside] = shapely.point_on_surface(clipped[outside])
        moved = shapely.get_coordinates(centres)
        if len(np.unique(moved, axis=0)) != n:
            break
        seeds = moved
    return seeds


def _faces(polygon: Polygon, seeds: np.ndarray) -> np.ndarray:
    """Faces of the parent cut by the Voronoi edges, from one noded arrangement of lines."""
    edges = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=polygon, only_edges=True)
    noded = shapely.union_all([edges, shapely.boundary(polygon)])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    areas = shapely.area(faces)
    shapely.prepare(polygon)
    inside = shapely.area(shapely.intersection(faces, polygon)) > 0.5 * areas
    return faces[inside & (areas > 0)]


def _nearest(xy: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Index of the nearest seed for each point: the Voronoi cell the point lies in."""
    d2 = ((xy[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
    return d2.argmin(axis=1)


def _shared_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of faces sharing a boundary of positive length, with that length."""
    i, j = shapely.STRtree(faces).query(faces, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    common = shapely.intersection(shapely.boundary(faces[i]), shapely.boundary(faces[j]))
    shared = shapely.length(common)
    keep = shared > 0
    return i[keep], j[keep], shared[keep]


def _components(n: int, i: np.ndarray, j: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Connected components of same-label faces joined by shared edges (union-find)."""
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        if labels[a] == labels[b]:
            ra, rb = find(a), find(b)
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(a) for a in range(n)])


def _absorb_detached(faces: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Relabel detached pieces of a cell to the neighbour sharing the longest edge."""
    labels = labels.copy()
    if len(np.unique(labels)) == len(labels):
        return labels
    areas = shapely.area(faces)
    i, j, shared = _shared_edges(faces)
    while True:
        comp = _components(len(faces), i, j, labels)
        main = _main_components(comp, labels, areas)
        detached = ~np.isin(comp, main)
        if not detached.any():
            return labels
        if not _relabel_round(comp, detached, labels, i, j, shared):
            raise RuntimeError("a detached piece touches no other part")


def _main_components(comp: np.ndarray, labels: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """The largest-area component of each label."""
    comp_ids, inverse = np.unique(comp, return_inverse=True)
    comp_area = np.bincount(inverse, weights=areas)
    comp_label = np.zeros(len(comp_ids), dtype=int)
    comp_label[inverse] = labels
    order = np.lexsort((-comp_area, comp_label))
    first = np.r_[True, np.diff(comp_label[order]) != 0]
    return comp_ids[order[first]]


def _relabel_round(
    comp: np.ndarray,
    detached: np.ndarray,
    labels: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    shared: np.ndarray,
) -> bool:
    """Move each detached component to the attached neighbour label with most shared edge."""
    start = labels.copy()
    changed = False
    for c in np.unique(comp[detached]).tolist():
        member = comp == c
        votes: dict[int, float] = {}
        for a, b, length in zip(i.tolist(), j.tolist(), shared.tolist(), strict=True):
            for inner, outer in ((a, b), (b, a)):
                if member[inner] and not detached[outer] and start[outer] != start[inner]:
                    votes[int(start[outer])] = votes.get(int(start[outer]), 0.0) + length
        if votes:
            labels[member] = max(sorted(votes), key=lambda lab: votes[lab])
            changed = True
    return changed


def _merge_labelled(faces: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """One Polygon per label, dissolving its edge-matched faces."""
    parts = np.empty(n, dtype=object)
    for lab in range(n):
        group = faces[labels == lab]
        if len(group) == 0:
            raise RuntimeError("a Voronoi cell produced no part")
        part = group[0] if len(group) == 1 else shapely.coverage_union_all(group)
        if not isinstance(part, Polygon):
            part = shapely.union_all(group)
        if not isinstance(part, Polygon) or not part.is_valid:
            raise RuntimeError("a merged part is not a single valid Polygon")
        parts[lab] = part
    return parts


def _reading_order(parts: np.ndarray, parent: Polygon) -> list[Polygon]:
    """Sort parts north to south in bands, west to east within a band, for stable codes."""
    cx, cy = shapely.get_coordinates(shapely.centroid(parts)).T
    _, ymin, _, ymax = parent.bounds
    bands = max(1, round(math.sqrt(len(parts))))
    band = np.minimum(bands - 1, ((ymax - cy) / ((ymax - ymin) / bands)).astype(int))
    return [parts[k] for k in np.lexsort((cx, band))]
