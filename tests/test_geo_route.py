"""Walking order on plain coordinates: geodesic distances, days of whole buildings, and
OR-Tools' path never longer than nearest neighbour's."""

from __future__ import annotations

import numpy as np
import pytest

from geo import route

START = (114.30, 30.60)


def _grid_points(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([114.29 + rng.random(n) * 0.03, 30.59 + rng.random(n) * 0.03])


def test_distances_are_geodesic_metres_and_symmetric():
    # One hundredth of a degree of latitude is about 1,109 m at 30° N (WGS 84).
    matrix = route.distance_matrix(START, np.array([[114.30, 30.61], [114.31, 30.60]]))
    assert matrix.shape == (3, 3)
    assert matrix[0, 1] == pytest.approx(1108.9, abs=1.0)
    assert matrix[0, 2] == pytest.approx(959.7, abs=2.0)  # cos(30.6°) shorter
    assert np.allclose(matrix, matrix.T)
    assert np.all(np.diag(matrix) == 0)


def test_nearest_neighbour_walks_a_line_in_order():
    points = np.array([[114.33, 30.60], [114.31, 30.60], [114.32, 30.60]])
    matrix = route.distance_matrix(START, points)
    assert route.nearest_neighbour(matrix) == [1, 2, 0]


def test_a_day_reports_each_routes_first_leg_from_the_start():
    points = np.array([[114.33, 30.60], [114.31, 30.60], [114.32, 30.60]])
    matrix = route.distance_matrix(START, points)
    solved = route.solve_day(matrix, 50)
    assert solved.first_leg_m == pytest.approx(matrix[0, solved.order[0] + 1])
    # Nearest neighbour goes first to the closest building, 114.31.
    assert solved.nearest_neighbour_first_leg_m == pytest.approx(matrix[0, 2])


def test_a_small_day_is_solved_exactly():
    points = _grid_points(5)
    solved = route.solve_day(route.distance_matrix(START, points), 50)
    assert solved.solver == "exact"
    assert sorted(solved.order) == list(range(5))
    assert solved.length_m <= solved.nearest_neighbour_m


def test_or_tools_orders_every_building_once_and_beats_nearest_neighbour():
    points = _grid_points(120)
    matrix = route.distance_matrix(START, points)
    solved = route.solve_day(matrix, 500)
    assert sorted(solved.order) == list(range(120))
    assert solved.length_m == pytest.approx(route.path_length(matrix, solved.order))
    # On 120 random buildings guided local search finds a clearly shorter open path.
    assert solved.solver == "or-tools"
    assert solved.length_m < 0.97 * solved.nearest_neighbour_m


def test_days_hold_whole_buildings_up_to_the_cap():
    points = _grid_points(30)
    stops = [1 + (i % 4) for i in range(30)]
    days = route.split_into_days(points, stops, cap=10)
    assert sorted(b for day in days for b in day) == list(range(30))
    assert all(sum(stops[b] for b in day) <= 10 for day in days)


def test_a_building_bigger_than_a_day_fills_days_of_its_own():
    points = _grid_points(3)
    days = route.split_into_days(points, [2, 25, 3], cap=10)
    big = [day for day in days if 1 in day]
    assert len(big) == 3  # 10 + 10 + 5 stops
    assert big[0] == [1] and big[1] == [1]


def test_hilbert_order_keeps_neighbours_together():
    # Two far-apart clusters: every day of four stops stays within one cluster.
    west = np.column_stack([np.full(8, 114.20), 30.60 + np.arange(8) * 1e-4])
    east = np.column_stack([np.full(8, 114.40), 30.60 + np.arange(8) * 1e-4])
    days = route.split_into_days(np.vstack([west, east]), [1] * 16, cap=4)
    assert all(len({b < 8 for b in day}) == 1 for day in days)
