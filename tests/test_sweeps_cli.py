"""`registry sweeps`: plan each focus area's week, again with the recorded seed; close."""

from __future__ import annotations

import re
from datetime import date, timedelta

from click.testing import CliRunner
from helpers import AUDIT_KEY_VARIABLE
from sqlalchemy import text

from registry.cli import main
from registry.db import make_engine
from registry.sweeps.weeks import monday_of, week_label


def _run(args, race_database, monkeypatch, tmp_path):
    import os

    monkeypatch.setenv("DATABASE_URL", race_database)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("REGISTRY_AUDIT_KEY", os.environ[AUDIT_KEY_VARIABLE])
    return CliRunner().invoke(main, ["sweeps", *args])


def _stops(url: str) -> list:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT d.number, s.position, s.address_id FROM sweep_stop s "
                "JOIN sweep_day d ON d.id = s.day_id ORDER BY 1, 2"
            )
        ).all()
    engine.dispose()
    return rows


def test_plan_again_with_the_recorded_seed_gives_the_same_plan(
    race_database, monkeypatch, tmp_path
):
    week = week_label(monday_of(date.today()) + timedelta(days=21))
    first = _run(["plan", "--week", week], race_database, monkeypatch, tmp_path)
    assert first.exit_code == 0, first.output
    assert "planned" in first.output and "nearest neighbour" in first.output
    seed = re.search(r"seed (\d+)", first.output).group(1)
    shape = _stops(race_database)
    assert shape
    other = _run(
        ["plan", "--week", week, "--seed", str(int(seed) + 1)], race_database, monkeypatch, tmp_path
    )
    assert "replaced" in other.output
    again = _run(["plan", "--week", week, "--seed", seed], race_database, monkeypatch, tmp_path)
    assert again.exit_code == 0, again.output
    assert _stops(race_database) == shape


def test_a_mistyped_week_or_area_is_one_clear_line(race_database, monkeypatch, tmp_path):
    bad_week = _run(["plan", "--week", "48"], race_database, monkeypatch, tmp_path)
    assert bad_week.exit_code != 0 and "2026-W48" in bad_week.output
    assert "Traceback" not in bad_week.output
    bad_area = _run(
        ["plan", "--week", "2030-W01", "--focus-area", "nowhere"],
        race_database,
        monkeypatch,
        tmp_path,
    )
    assert bad_area.exit_code != 0 and "nowhere" in bad_area.output


def test_a_past_week_is_refused_and_the_command_fails(race_database, monkeypatch, tmp_path):
    result = _run(["plan", "--week", "2020-W01"], race_database, monkeypatch, tmp_path)
    assert result.exit_code == 1
    assert "refused" in result.output


def test_close_and_purge_report_what_they_did(race_database, monkeypatch, tmp_path):
    closed = _run(["close"], race_database, monkeypatch, tmp_path)
    assert closed.exit_code == 0 and "closed 0 sweeps" in closed.output
    purged = _run(["purge", "--days", "30"], race_database, monkeypatch, tmp_path)
    assert purged.exit_code == 0 and "deleted 0 sweep visits" in purged.output
