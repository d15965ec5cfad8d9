"""Snapping a cell to its neighbours and splitting it, on plain squares in metres."""

from __future__ import annotations

import pytest
from shapely import LineString, Polygon, box

from geo.cells import (
    SplitError,
    overlap_width_exceeds,
    snap_to_neighbours,
    split_polygon,
)
from geo.local import LocalFrame

LEFT = box(0, 0, 100, 100)
RIGHT = box(100, 0, 200, 100)


def test_an_unchanged_boundary_stays_as_it_is():
    assert snap_to_neighbours(LEFT, [RIGHT]).equals(LEFT)


def test_corners_a_few_decimetres_over_the_shared_edge_are_put_onto_it():
    drawn = Polygon([(0, 0), (100.4, 0), (100.3, 100), (0, 100)])  # 0.3-0.4 m into RIGHT
    snapped = snap_to_neighbours(drawn, [RIGHT])
    assert snapped.intersection(RIGHT).area == pytest.approx(0, abs=1e-9)
    assert snapped.equals_exact(LEFT.normalize(), 1e-9) or snapped.normalize().equals(LEFT)


def test_a_long_thin_sliver_is_cut_although_its_area_is_large():
    # 0.3 m wide along 2 km: 600 m², far above any area tolerance, and still noise.
    long_left, long_right = box(0, 0, 100, 2000), box(100, 0, 200, 2000)
    drawn = Polygon([(0, 0), (100.3, 0), (100.3, 2000), (0, 2000)])
    assert drawn.intersection(long_right).area == pytest.approx(600)
    snapped = snap_to_neighbours(drawn, [long_right])
    assert snapped.intersection(long_right).area == pytest.approx(0, abs=1e-6)
    assert snapped.area == pytest.approx(long_left.area, rel=1e-6)


def test_a_real_overlap_is_left_for_the_caller_to_refuse():
    drawn = box(0, 0, 103, 100)  # 3 m into the neighbour
    snapped = snap_to_neighbours(drawn, [RIGHT])
    overlap = snapped.intersection(RIGHT)
    assert overlap.area == pytest.approx(300)
    assert overlap_width_exceeds(overlap)
    assert not overlap_width_exceeds(box(100, 0, 100.3, 100))


def test_a_neighbour_far_away_changes_nothing():
    assert snap_to_neighbours(LEFT, [box(300, 0, 400, 100)]).equals(LEFT)


def test_a_line_across_splits_a_square_into_two():
    halves = split_polygon(LEFT, LineString([(30, -5), (30, 105)]))
    areas = sorted([halves.first.area, halves.second.area])
    assert areas == pytest.approx([3000, 7000])
    assert halves.first.union(halves.second).equals(LEFT)


def test_a_line_ending_on_the_edge_still_splits():
    halves = split_polygon(LEFT, LineString([(0, 50), (60, 50), (100, 50)]))
    assert sorted([halves.first.area, halves.second.area]) == pytest.approx([5000, 5000])


@pytest.mark.parametrize(
    "line,reason",
    [
        (LineString([(10, 10), (50, 50)]), SplitError.DOES_NOT_CROSS),  # inside only
        (LineString([(150, -5), (150, 105)]), SplitError.DOES_NOT_CROSS),  # outside
        (
            LineString([(30, -5), (30, 105), (70, 105), (70, -5)]),
            SplitError.MORE_THAN_TWO,
        ),
        (LineString([(0.5, -5), (0.5, 105)]), SplitError.TOO_SMALL),
    ],
)
def test_lines_that_do_not_split_in_two_say_why(line, reason):
    with pytest.raises(SplitError) as refused:
        split_polygon(LEFT, line, min_area=100)
    assert refused.value.reason == reason


def test_the_local_frame_measures_metres_and_goes_back_exactly():
    frame = LocalFrame(114.1, 30.6)
    square = box(114.1, 30.6, 114.101, 30.601)
    metres = frame.to_metres(square)
    width = metres.bounds[2] - metres.bounds[0]
    assert width == pytest.approx(95.8, abs=0.2)  # 0.001° of longitude at 30.6° N
    assert metres.bounds[3] - metres.bounds[1] == pytest.approx(110.6, abs=0.1)
    assert frame.to_degrees(metres).equals_exact(square, 1e-12)
