"""The plan half of `registry bench flags`, shrunk to the small demo: it makes its areas,
plans them, prints the figures and leaves nothing behind."""

from __future__ import annotations

from helpers import DEMO_TODAY
from sqlalchemy import func, select

from registry.grid.models import FocusArea, GridCell
from registry.sweeps import bench
from registry.sweeps.models import Sweep


def test_the_benchmark_plans_its_own_areas_and_prints_medians(demo_session, monkeypatch):
    monkeypatch.setattr(bench, "AREAS", 2)
    monkeypatch.setattr(bench, "CELLS_PER_AREA", 4)
    lines: list[str] = []
    figures = bench.plan_benchmark(demo_session, DEMO_TODAY, lines.append)
    assert demo_session.scalar(select(func.count()).select_from(Sweep)) == 2
    made = demo_session.scalars(select(FocusArea).where(FocusArea.description == "bench")).all()
    assert [len(area.cells) for area in made] == [4, 4]
    assert figures["stops"] > 0 and 0 < figures["ratio"] <= 1.0
    assert any("median of 2" in line for line in lines)
    assert any("one plan under 2 s" in line for line in lines)


def test_a_district_smaller_than_an_area_gets_areas_of_all_its_cells(demo_session, monkeypatch):
    monkeypatch.setattr(bench, "AREAS", 1)
    cells = demo_session.scalar(select(func.count()).select_from(GridCell))
    assert cells < bench.CELLS_PER_AREA  # the small demo
    lines: list[str] = []
    bench.plan_benchmark(demo_session, DEMO_TODAY, lines.append)
    made = demo_session.scalars(select(FocusArea).where(FocusArea.description == "bench")).all()
    assert [len(area.cells) for area in made] == [cells]
    assert f"the district has only {cells} grid cells" in lines[0]


def test_the_benchmark_leaves_the_registry_as_it_was(race_database, monkeypatch):
    import os

    from helpers import AUDIT_KEY_VARIABLE

    monkeypatch.setattr(bench, "AREAS", 1)
    monkeypatch.setattr(bench, "CELLS_PER_AREA", 3)
    bench.run_plan_benchmark(
        race_database, os.environ[AUDIT_KEY_VARIABLE], DEMO_TODAY, lambda line: None
    )
    from registry.db import make_engine

    engine = make_engine(race_database)
    with engine.connect() as connection:
        from sqlalchemy import text

        assert connection.execute(text("SELECT count(*) FROM sweep")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM focus_area")).scalar() == 1
    engine.dispose()
