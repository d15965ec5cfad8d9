"""Geometry checks: validity and containment in the parent area, with field-level errors."""

import pytest
from shapely.geometry import LineString, Point, Polygon, box

from geo.checks import check_point_in_area, check_valid_polygon, check_within_parent
from registry.validators import FieldError

COMMUNITY = box(114.10, 30.60, 114.11, 30.61)


def test_valid_polygon_passes_and_bow_tie_is_refused_with_reason():
    assert check_valid_polygon(COMMUNITY) is COMMUNITY
    bow_tie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    with pytest.raises(FieldError) as error:
        check_valid_polygon(bow_tie, "cell")
    assert error.value.field == "cell"
    assert "Self-intersection" in str(error.value.message)


def test_non_polygon_and_empty_are_refused():
    with pytest.raises(FieldError):
        check_valid_polygon(LineString([(0, 0), (1, 1)]))
    with pytest.raises(FieldError):
        check_valid_polygon(Polygon())


def test_cell_inside_community_passes_even_on_the_shared_edge():
    cell = box(114.10, 30.60, 114.105, 30.61)
    assert check_within_parent(cell, COMMUNITY) is cell


def test_cell_reaching_out_of_its_community_is_refused():
    with pytest.raises(FieldError):
        check_within_parent(box(114.105, 30.60, 114.12, 30.61), COMMUNITY)


def test_point_outside_area_is_refused():
    assert check_point_in_area(Point(114.105, 30.605), COMMUNITY)
    with pytest.raises(FieldError):
        check_point_in_area(Point(114.2, 30.605), COMMUNITY)
