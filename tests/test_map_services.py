"""The map's services against the rest of the registry: the same counts as the /cells/ list."""

from __future__ import annotations

from helpers import DEMO_TODAY, account

from registry.dwelling.services import buildings_of_cell
from registry.map.services import cell_buildings


def test_building_counts_are_the_cell_lists_counts(demo_session):
    """The map counts a building's dwellings in one pass (LATERAL look-ups); the grid
    worker's list counts them with correlated subqueries: both must say the same."""
    worker = account(demo_session, "grid0001")
    cell = worker.grid_cells[0].id
    listed, total = buildings_of_cell(demo_session, worker, cell, DEMO_TODAY, 1, 1000)
    mapped, mapped_total = cell_buildings(demo_session, worker, cell, DEMO_TODAY, limit=1000)
    assert total == mapped_total and total > 0
    assert {a.id: c for a, c in listed} == {row.address.id: row.counts for row in mapped}
    assert any(c.attention for _a, c in listed)  # the demo has problems to count
