"""`registry bench flags`: the full rule run over the loaded demo district.

In one transaction that is rolled back at the end (the registry is left as it was):

- every flag is removed, and the full run raises them all again: its time and the flags
  raised per rule;
- a single ``SELECT count(*)`` over the same joins (every rule's rows, the statement's
  ``evaluated`` part) in the same transaction: the time the database needs only to find
  the rows, against which the run's own work (inserting flags and their events) is judged;
- the run once more, with nothing to change: what the nightly run costs on a quiet night.

The weekly sweeps add the second half (one week's plan of a 50-cell focus area).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

from sqlalchemy import delete, func, select

import registry.models  # noqa: F401  (every mapper configured)
from registry.db import make_engine, make_session_factory
from registry.dwelling.models import Dwelling
from registry.flags.models import Flag, FlagEvent
from registry.flags.rules import RunContext, rules_in_force
from registry.flags.run import evaluated_select, run_rules

EXPECTED_DWELLINGS = {"small": 2_000, "medium": 40_000, "large": 500_000}
RUN_TARGET_SECONDS = 60


def _timed(action: Callable):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def run_flags_benchmark(url: str, size: str, today: date, echo: Callable[[str], None]) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            dwellings = session.scalar(select(func.count()).select_from(Dwelling))
            if dwellings < EXPECTED_DWELLINGS[size] * 0.9:
                raise RuntimeError(
                    f"the registry holds {dwellings:,} dwellings, not the {size} demo district: "
                    f"load it first with `registry demo --size {size}`"
                )
            echo(f"flag rules over {dwellings:,} dwellings, as of {today.isoformat()}")
            session.execute(delete(FlagEvent))
            session.execute(delete(Flag))
            result, run_seconds = _timed(lambda: run_rules(session, today))
            per_rule = session.execute(
                select(Flag.rule, func.count()).group_by(Flag.rule).order_by(Flag.rule)
            ).all()
            echo(f"  full run: {run_seconds:.1f} s, {result.raised:,} flags raised")
            for rule, count in per_rule:
                echo(f"    {rule:<24} {count:>9,}")
            configs = rules_in_force(session, today)
            rows = evaluated_select(RunContext(today, configs), configs).subquery()
            count, count_seconds = _timed(
                lambda: session.scalar(select(func.count()).select_from(rows))
            )
            echo(
                f"  SELECT count(*) of the same joins: {count_seconds:.1f} s ({count:,} rows); "
                f"the run takes {run_seconds / count_seconds:.2f}× that"
            )
            again, again_seconds = _timed(lambda: run_rules(session, today))
            echo(
                f"  run again, nothing to change: {again_seconds:.1f} s "
                f"({again.raised} raised, {again.resolved} resolved)"
            )
            verdict = "met" if run_seconds < RUN_TARGET_SECONDS else "NOT met"
            echo(f"  target: full run under {RUN_TARGET_SECONDS} s: {verdict}")
            session.rollback()
    finally:
        engine.dispose()
