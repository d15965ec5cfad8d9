"""Walking order on plain coordinates: geodesic distances, the week's buildings as one
path that OR-Tools keeps never longer than nearest neighbour's, and that path cut into
days of whole buildings, each walked from the start."""

from __future__ import annotations

import numpy as np
import pytest

from geo import route

START = (114.30, 30.60)
# A hundred metres along a meridian, in degrees of latitude (a meridian is a geodesic,
# so distances along it add up exactly).
STEP = 100 / 110_574


def _grid_points(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([114.29 + rng.random(n) * 0.03, 30.59 + rng.random(n) * 0.03])


def _on_the_meridian(offsets_m) -> np.ndarray:
    """Buildings due north (+) or south (-) of the start on the equator's meridian 114.3."""
    return np.array([[114.30, offset / 100 * STEP] for offset in offsets_m])


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


def test_a_small_path_is_solved_exactly():
    points = _grid_points(5)
    matrix = route.distance_matrix(START, points)
    solved = route.solve_path(matrix, 50)
    assert solved.solver == "exact"
    assert sorted(solved.order) == list(range(5))
    assert solved.length_m <= route.path_length(matrix, route.nearest_neighbour(matrix))


def test_or_tools_orders_every_building_once_and_beats_nearest_neighbour():
    points = _grid_points(120)
    matrix = route.distance_matrix(START, points)
    solved = route.solve_path(matrix, 500)
    assert sorted(solved.order) == list(range(120))
    assert solved.length_m == pytest.approx(route.path_length(matrix, solved.order))
    # On 120 random buildings guided local search finds a clearly shorter open path.
    assert solved.solver == "or-tools"
    greedy_m = route.path_length(matrix, route.nearest_neighbour(matrix))
    assert solved.length_m < 0.97 * greedy_m


def test_the_weeks_path_on_a_line_goes_to_the_nearer_end_first_then_to_the_far_end():
    # From the start between them, the shortest open path goes to the nearer end first
    # and then sweeps to the far end: 200 + 1,300 m.
    offsets = [-200, 1100, 300, 700, -100, 900, 500, 100, -150]
    plan = route.plan_week((114.30, 0.0), _on_the_meridian(offsets), [1] * 9, 3, 400)
    week = plan.path
    assert week.solver == "or-tools"
    assert week.length_m == pytest.approx(200 + 1300, abs=0.5)
    # (Several orders share that length: the first buildings south may be passed on the
    # way out and visited on the way back.)


def test_the_weeks_path_does_not_zigzag_where_nearest_neighbour_does():
    # Each next-nearest building lies on the other side of the start, so the greedy walk
    # crosses it again and again; sweeping north first, then all the way south, is
    # 6,500 + 19,500 m against the greedy 38,400 m.
    offsets = [100, -150, 400, -750, 1600, -3200, 6500, -13000]
    plan = route.plan_week((114.30, 0.0), _on_the_meridian(offsets), [1] * 8, 2, 400)
    greedy = plan.nearest_neighbour
    assert [offsets[k] for k in greedy.order] == offsets
    assert greedy.length_m == pytest.approx(38_400, abs=0.5)
    week = plan.path
    assert week.solver == "or-tools"
    assert week.length_m == pytest.approx(6_500 + 19_500, abs=0.5)


def test_the_weeks_path_walks_a_grid_in_grid_steps_only():
    # 5 x 5 buildings 0.001° apart on the equator (about 110.6 m north-south, 111.3 m
    # east-west), entered at a corner: the optimum is 24 single steps; any diagonal
    # (156 m) or longer jump makes the path longer than 24 of the longest single steps.
    lon, lat = np.meshgrid(114.30 + np.arange(5) * 0.001, np.arange(5) * 0.001)
    points = np.column_stack([lon.ravel(), lat.ravel()])
    start = (114.30 - 0.0005, -0.0005)
    matrix = route.distance_matrix(start, points)
    week = route.plan_week(start, points, [2] * 25, cap=10, budget_ms=400).path
    first_leg = matrix[0, week.order[0] + 1]
    assert week.order[0] == 0  # the corner next to the start
    walk = week.length_m - first_leg
    assert 24 * 110.5 < walk <= 24 * 111.33


def test_days_are_contiguous_stretches_of_whole_buildings_up_to_the_cap():
    order = [4, 0, 7, 2, 9, 1, 3, 8, 5, 6]
    stops = [3, 1, 4, 2, 2, 5, 1, 3, 2, 4]
    days = route.cut_into_days(order, stops, cap=6)
    assert [b for day in days for b in day] == order  # each building once, in order
    assert all(sum(stops[b] for b in day) <= 6 for day in days)
    # A day closes only when the next building would not fit.
    for day, after in zip(days, days[1:]):
        assert sum(stops[b] for b in day) + stops[after[0]] > 6


def test_a_building_bigger_than_a_day_fills_days_of_its_own():
    days = route.cut_into_days([0, 1, 2], [2, 25, 3], cap=10)
    # 2 | 10 | 10 | 5 + 3: the big building's remainder goes on with the next building.
    assert days == [[0], [1], [1], [1, 2]]


def test_the_week_is_one_path_and_each_day_a_stretch_of_it_walked_from_the_start():
    points = _grid_points(60, seed=8)
    stops = [1 + (i % 5) for i in range(60)]
    week = route.plan_week(START, points, stops, cap=12, budget_ms=600)
    matrix = route.distance_matrix(START, points)
    assert sorted(week.path.order) == list(range(60))
    assert week.path.length_m == pytest.approx(route.path_length(matrix, week.path.order))
    greedy = route.nearest_neighbour(matrix)
    assert week.nearest_neighbour.order == greedy
    assert week.path.length_m <= week.nearest_neighbour.length_m
    stretches = route.cut_into_days(week.path.order, stops, 12)
    assert len(week.days) == len(stretches) > 1
    for day, stretch in zip(week.days, stretches):
        assert sorted(day.buildings) == sorted(stretch)
        assert sum(stops[b] for b in day.buildings) <= 12
        assert day.length_m == pytest.approx(route.path_length(matrix, day.buildings))
        # From the start, no longer than its stretch either way round, nor than the greedy.
        assert day.length_m <= route.path_length(matrix, stretch) + 1e-6
        assert day.length_m <= route.path_length(matrix, stretch[::-1]) + 1e-6
        assert day.length_m <= day.nearest_neighbour_m + 1e-6
    assert week.days_m == pytest.approx(sum(day.length_m for day in week.days))
    # Each day walks out from the start again, so the days add up to more than the path.
    assert week.days_m > week.path.length_m


def test_a_day_is_walked_from_the_start_not_from_where_the_week_path_entered_it():
    # Two lines of four buildings 100 m apart, 500 m from each other: the week's path goes
    # up the west line and back down the east one, so day 2 (the east line) is entered
    # from its far end. Walked from the start, day 2 begins at its nearest building.
    east = 500 / 111_319
    west_line = [[114.30, k * STEP] for k in (1, 2, 3, 4)]
    east_line = [[114.30 + east, k * STEP] for k in (1, 2, 3, 4)]
    points = np.array(west_line + east_line)
    week = route.plan_week((114.30, 0.0), points, [1] * 8, cap=4, budget_ms=200)
    assert week.path.order == [0, 1, 2, 3, 7, 6, 5, 4]
    assert [day.buildings for day in week.days] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    matrix = route.distance_matrix((114.30, 0.0), points)
    assert week.days[1].length_m < route.path_length(matrix, [7, 6, 5, 4]) - 100


def test_the_nearest_neighbour_baseline_fills_its_days_the_same_way():
    points = _grid_points(40, seed=5)
    stops = [2] * 40
    week = route.plan_week(START, points, stops, cap=10, budget_ms=300)
    matrix = route.distance_matrix(START, points)
    expected = 0.0
    for stretch in route.cut_into_days(route.nearest_neighbour(matrix), stops, 10):
        nodes = [0, *(b + 1 for b in stretch)]
        local = matrix[np.ix_(nodes, nodes)]
        along = list(range(len(stretch)))
        expected += min(
            route.path_length(local, order)
            for order in (along, along[::-1], route.nearest_neighbour(local))
        )
    assert week.nearest_neighbour_days_m == pytest.approx(expected)


def test_no_buildings_make_no_days():
    week = route.plan_week(START, np.empty((0, 2)), [], cap=10, budget_ms=100)
    assert week.days == [] and week.path.length_m == 0 and week.days_m == 0
