"""Walking order for a sweep: days of whole buildings, each day's path solved by OR-Tools.

Pure code on plain coordinates (no database, no Flask), tested on plain shapes.

- Distances are straight-line metres on the WGS 84 ellipsoid (pyproj's geodesic), between
  building points: the roads layer has no network yet.
- A route is an open path: it starts at the start point (the police station, or a point
  the team picked) and ends at the last building, wherever that is.
- :func:`split_into_days` cuts a plan's buildings into team-days of at most ``cap`` stops
  along a Hilbert curve, so each day covers a compact patch; a building is never split
  across days unless it alone holds more stops than a day may.
- :func:`solve_day` orders one day's buildings with OR-Tools' routing library (guided local
  search within a time limit) and reports the nearest-neighbour order from the same start
  beside it, the yardstick of the benchmark. The solver's path is kept only when it is
  not longer than nearest neighbour's, so a day's route is never worse than the greedy one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import permutations

import numpy as np
from pyproj import Geod

_GEOD = Geod(ellps="WGS84")
# Metres in the solver's integer costs are kept to the decimetre.
_SCALE = 10
# Up to this many buildings a day's best path is found by trying every order.
_EXACT_UP_TO = 6
_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class DayRoute:
    """One day's walking order, as indices into the day's buildings, and its lengths."""

    order: list[int]
    length_m: float
    nearest_neighbour_m: float
    solver: str  # "or-tools", "exact" or "nearest-neighbour" (the solver found no shorter)
    # The first leg (start to first building) of each: what is left is the walk itself.
    first_leg_m: float = 0.0
    nearest_neighbour_first_leg_m: float = 0.0


def distance_matrix(start: tuple[float, float], points: np.ndarray) -> np.ndarray:
    """Geodesic metres between the start (row/column 0) and every point, and among points.

    ``points`` is an (n, 2) array of longitude, latitude.
    """
    every = np.vstack([np.asarray(start, dtype=float)[None, :], np.asarray(points, dtype=float)])
    n = len(every)
    i, j = np.triu_indices(n, k=1)
    matrix = np.zeros((n, n))
    if len(i):
        _az, _back, metres = _GEOD.inv(every[i, 0], every[i, 1], every[j, 0], every[j, 1])
        matrix[i, j] = metres
        matrix[j, i] = metres
    return matrix


def path_length(matrix: np.ndarray, order: Sequence[int]) -> float:
    """Length of the open path from the start (node 0) through ``order`` (0-based points)."""
    nodes = [0, *(k + 1 for k in order)]
    return float(sum(matrix[a, b] for a, b in zip(nodes, nodes[1:])))


def nearest_neighbour(matrix: np.ndarray) -> list[int]:
    """From the start, always on to the closest building not yet visited."""
    n = len(matrix) - 1
    left = np.ones(n, dtype=bool)
    here, order = 0, []
    for _ in range(n):
        costs = np.where(left, matrix[here, 1:], np.inf)
        nxt = int(np.argmin(costs))
        order.append(nxt)
        left[nxt] = False
        here = nxt + 1
    return order


def _exact(matrix: np.ndarray) -> list[int]:
    n = len(matrix) - 1
    best = min(permutations(range(n)), key=lambda order: path_length(matrix, order))
    return list(best)


def _or_tools(matrix: np.ndarray, time_limit_ms: int) -> list[int] | None:
    """Guided local search over an open path: a dummy end node costs nothing to reach."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(matrix)
    costs = np.zeros((n + 1, n + 1), dtype=np.int64)
    costs[:n, :n] = np.rint(matrix * _SCALE).astype(np.int64)
    costs[n, :] = 0
    manager = pywrapcp.RoutingIndexManager(n + 1, 1, [0], [n])
    routing = pywrapcp.RoutingModel(manager)
    transit = routing.RegisterTransitMatrix(costs.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    # Christofides gives the search a start within 1.5x of the optimum tour.
    parameters.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.CHRISTOFIDES
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    parameters.time_limit.FromMilliseconds(max(1, int(time_limit_ms)))
    solution = routing.SolveWithParameters(parameters)
    if solution is None:
        return None
    order, index = [], routing.Start(0)
    while not routing.IsEnd(index):
        node = manager.IndexToNode(index)
        if node != 0:
            order.append(node - 1)
        index = solution.Value(routing.NextVar(index))
    return order


def solve_day(matrix: np.ndarray, time_limit_ms: int) -> DayRoute:
    """The day's walking order from the start (node 0) through every building."""
    greedy = nearest_neighbour(matrix)
    greedy_m = path_length(matrix, greedy)
    n = len(matrix) - 1
    if n <= _EXACT_UP_TO:
        order, solver = _exact(matrix), "exact"
    else:
        order, solver = _or_tools(matrix, time_limit_ms), "or-tools"
    if order is None or path_length(matrix, order) > greedy_m:
        order, solver = greedy, "nearest-neighbour"
    return DayRoute(
        order,
        path_length(matrix, order),
        greedy_m,
        solver,
        first_leg_m=float(matrix[0, order[0] + 1]) if order else 0.0,
        nearest_neighbour_first_leg_m=float(matrix[0, greedy[0] + 1]) if greedy else 0.0,
    )


def _local_metres(points: np.ndarray) -> np.ndarray:
    """Points in metres on a plane through their centre: enough to sort them spatially."""
    lon0, lat0 = points.mean(axis=0)
    x = np.radians(points[:, 0] - lon0) * np.cos(np.radians(lat0)) * _EARTH_RADIUS_M
    y = np.radians(points[:, 1] - lat0) * _EARTH_RADIUS_M
    return np.column_stack([x, y])


def hilbert_keys(points: np.ndarray, bits: int = 16) -> np.ndarray:
    """Each point's position along a Hilbert curve over the points' bounding square."""
    xy = _local_metres(np.asarray(points, dtype=float))
    low = xy.min(axis=0)
    span = float(max((xy.max(axis=0) - low).max(), 1e-9))
    side = (1 << bits) - 1
    x = np.rint((xy[:, 0] - low[0]) / span * side).astype(np.int64)
    y = np.rint((xy[:, 1] - low[1]) / span * side).astype(np.int64)
    keys = np.zeros(len(xy), dtype=np.int64)
    s = 1 << (bits - 1)
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        keys += s * s * ((3 * rx) ^ ry)
        # Rotate the quadrant so the curve stays continuous.
        flip = ~ry
        swap_x = np.where(flip & rx, side - x, x)
        swap_y = np.where(flip & rx, side - y, y)
        x, y = np.where(flip, swap_y, swap_x), np.where(flip, swap_x, swap_y)
        s >>= 1
    return keys


def split_into_days(points: np.ndarray, stops: Sequence[int], cap: int) -> list[list[int]]:
    """Buildings (indices) grouped into days of at most ``cap`` stops, compact in space.

    Buildings are taken along a Hilbert curve and a day closes when the next building
    would not fit. A building with more stops than ``cap`` fills days of its own (the
    caller splits its stops); it is listed once per day it needs.
    """
    if len(points) == 0:
        return []
    order = np.argsort(hilbert_keys(points), kind="stable")
    days: list[list[int]] = []
    current: list[int] = []
    load = 0
    for building in order.tolist():
        count = int(stops[building])
        if count > cap:
            if current:
                days.append(current)
                current, load = [], 0
            full, rest = divmod(count, cap)
            days.extend([[building]] * full)
            if rest:
                current, load = [building], rest
            continue
        if load + count > cap:
            days.append(current)
            current, load = [], 0
        current.append(building)
        load += count
    if current:
        days.append(current)
    return days
