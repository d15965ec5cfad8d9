"""Colour classes of the map's measures: quantile breaks rounded for people, on plain lists."""

from __future__ import annotations

from geo.classes import (
    BLUES,
    YL_OR_RD,
    ZERO_COLOUR,
    class_breaks,
    class_of,
    colour_classes,
    nice_ceiling,
)


def test_breaks_are_rounded_increasing_and_cover_every_value():
    values = [1, 2, 2, 3, 5, 8, 13, 21, 34, 55]
    breaks = class_breaks(values, step=1)
    assert breaks == sorted(set(breaks))
    assert breaks[-1] == 55
    assert len(breaks) <= 5


def test_few_distinct_values_give_few_classes():
    assert class_breaks([4, 4, 4, 4], step=1) == [4]
    assert class_breaks([], step=1) == []


def test_shares_round_up_to_the_hundredth():
    assert nice_ceiling(0.8234, 0.01) == 0.83
    assert nice_ceiling(0.8, 0.01) == 0.8


def test_zero_has_a_pale_class_of_its_own():
    classes = colour_classes([0, 0, 1, 2, 3, 10], 1, YL_OR_RD, zero_class=True)
    assert classes[0].colour == ZERO_COLOUR and classes[0].high == 0
    assert class_of(0, classes) == 0
    assert class_of(10, classes) == len(classes) - 1
    assert classes[-1].colour == YL_OR_RD[-1]  # the most to do is the darkest


def test_a_share_in_order_runs_the_palette_the_other_way():
    classes = colour_classes(
        [0.2, 0.5, 0.7, 0.9, 1.0], 0.01, YL_OR_RD, zero_class=False, higher_is_worse=False
    )
    assert class_of(0.2, classes) == 0
    assert classes[0].colour == YL_OR_RD[-1]  # lowest share: darkest
    assert classes[-1].colour == YL_OR_RD[0]


def test_no_data_has_no_class_and_single_value_takes_the_darkest():
    classes = colour_classes([None, 7, None], 1, BLUES, zero_class=True)
    assert [c.colour for c in classes] == [BLUES[-1]]
    assert class_of(None, classes) is None
