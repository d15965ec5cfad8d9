"""The plan half of ``registry bench flags``: one week's sweep plan of a 50-cell focus area.

The demo's focus areas have 3 cells, so the benchmark makes its own: 10 areas of 50
neighbouring cells each (the 50 cells nearest to a seed cell, seeds spread over the
district), inside a transaction that is rolled back at the end. For each it plans next
week's sweep as the officer's button does (flags, the seeded sample, the week's path,
days, the inserts) and prints the time, stops, buildings and days, and two views of the
route (geo/route.py):

- the week's buildings as one path from the start against the nearest-neighbour path from
  the same start over the same buildings: the target's ratio (like with like);
- the days each walked from the start, added up, against a nearest-neighbour baseline that
  fills its days the same way (the greedy path cut at the same cap): what the team walks.

Then the medians over the 10 areas against the targets.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import func, insert, literal, select
from sqlalchemy.orm import Session, aliased

from registry.area.models import District
from registry.grid.models import FocusArea, GridCell, focus_area_cell
from registry.sweeps.planning import PlanRequest, plan_sweep
from registry.sweeps.weeks import monday_of, week_label

AREAS = 10
CELLS_PER_AREA = 50
PLAN_TARGET_SECONDS = 2.0
RATIO_TARGET = 0.9


def _make_areas(session: Session, district_id: int, size: int) -> list[int]:
    """Ten focus areas of ``size`` neighbouring cells, seeds spread evenly over the cells."""
    cell_ids = session.scalars(select(GridCell.id).order_by(GridCell.id)).all()
    seeds = cell_ids[:: max(1, len(cell_ids) // AREAS)][:AREAS]
    area_ids = []
    for number, seed in enumerate(seeds, start=1):
        area = FocusArea(district_id=district_id, name=f"基准测试区域{number}", description="bench")
        session.add(area)
        session.flush()
        centre = aliased(GridCell)
        nearest = (
            select(literal(area.id).label("focus_area_id"), GridCell.id.label("grid_cell_id"))
            .select_from(GridCell)
            .join(centre, centre.id == seed)
            .order_by(
                func.ST_Distance(func.ST_Centroid(GridCell.geom), func.ST_Centroid(centre.geom))
            )
            .limit(size)
        )
        session.execute(
            insert(focus_area_cell).from_select(["focus_area_id", "grid_cell_id"], nearest)
        )
        area_ids.append(area.id)
    return area_ids


def plan_benchmark(session: Session, today: date, echo: Callable[[str], None]) -> dict:
    """Plan next week's sweep of 10 new 50-cell areas in ``session`` (the caller rolls it
    back); print each plan and the medians; return the figures."""
    district_id = session.scalar(select(func.min(District.id)))
    monday = monday_of(today) + timedelta(days=7)
    cells = session.scalar(select(func.count()).select_from(GridCell)) or 0
    # A small district (the small demo) gets areas of all its cells: fewer than asked.
    size = min(CELLS_PER_AREA, cells)
    echo(
        f"sweep plans for {week_label(monday)}: {AREAS} focus areas of {size} cells "
        "made for the benchmark"
        + ("" if size == CELLS_PER_AREA else f" (the district has only {cells} grid cells)")
    )
    areas = _make_areas(session, district_id, size)
    times, routing, ratios, day_ratios, stops, days = [], [], [], [], [], []
    for number, area_id in enumerate(areas, start=1):
        started = time.perf_counter()
        summary = plan_sweep(session, None, PlanRequest(area_id, monday, seed=number), today)
        seconds = time.perf_counter() - started
        times.append(seconds)
        routing.append(summary.route_seconds)
        ratios.append(summary.ratio or 1.0)
        day_ratios.append(summary.days_ratio or 1.0)
        stops.append(summary.stops)
        days.append(summary.days)
        echo(
            f"  area {number:>2}: {seconds:5.2f} s (routing {summary.route_seconds:.2f} s), "
            f"{summary.stops:>5} stops "
            f"({summary.flagged} flagged, {summary.sampled} sampled) "
            f"in {summary.buildings} buildings, {summary.days:>3} days; "
            f"week path {summary.route_m / 1000:6.1f} km = {summary.ratio or 1.0:.3f}× "
            f"nearest neighbour ({summary.nearest_neighbour_m / 1000:.1f} km); "
            f"days from the start {summary.days_m / 1000:6.1f} km = "
            f"{summary.days_ratio or 1.0:.3f}× nearest neighbour's days "
            f"({summary.nearest_neighbour_days_m / 1000:.1f} km)"
        )
    figures = {
        "seconds": statistics.median(times),
        "slowest": max(times),
        "routing": statistics.median(routing),
        "ratio": statistics.median(ratios),
        "days_ratio": statistics.median(day_ratios),
        "stops": statistics.median(stops),
        "days": statistics.median(days),
    }
    echo(
        f"  median of {AREAS}: {figures['seconds']:.2f} s a plan "
        f"(slowest {figures['slowest']:.2f} s; routing {figures['routing']:.2f} s), "
        f"{figures['stops']:.0f} stops, "
        f"{figures['days']:.0f} days; week path {figures['ratio']:.3f}× nearest neighbour; "
        f"days from the start {figures['days_ratio']:.3f}× nearest neighbour's days"
    )
    plan_ok = figures["seconds"] < PLAN_TARGET_SECONDS
    ratio_ok = figures["ratio"] <= RATIO_TARGET
    echo(f"  target: one plan under {PLAN_TARGET_SECONDS:.0f} s: {'met' if plan_ok else 'NOT met'}")
    echo(
        f"  target: week path no more than {RATIO_TARGET}× nearest neighbour: "
        f"{'met' if ratio_ok else 'NOT met'}"
    )
    return figures


def run_plan_benchmark(url: str, audit_key, today: date, echo: Callable[[str], None]) -> dict:
    """The plan half on its own session, rolled back: the registry is left as it was."""
    import registry.models  # noqa: F401  (every mapper configured)
    from registry.db import make_engine, make_session_factory

    engine = make_engine(url)
    try:
        with make_session_factory(engine, audit_key=audit_key)() as session:
            try:
                return plan_benchmark(session, today, echo)
            finally:
                session.rollback()
    finally:
        engine.dispose()
