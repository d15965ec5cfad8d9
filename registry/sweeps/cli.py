"""``registry sweeps``: plan the week's sweeps (weekly, by cron or by hand) and close the
sweeps whose week has ended (nightly)."""

from __future__ import annotations

from decimal import Decimal

import click


def _session_factory(settings):
    import registry.models  # noqa: F401  (every mapper configured)
    from registry.cli import database_url
    from registry.db import make_engine, make_session_factory

    engine = make_engine(database_url(settings))
    return engine, make_session_factory(engine, audit_key=settings.audit_key)


def _areas(session, wanted: tuple[str, ...]):
    """The focus areas named (by id or name), or every focus area."""
    from sqlalchemy import select

    from registry.grid.models import FocusArea

    areas = list(session.scalars(select(FocusArea).order_by(FocusArea.id)))
    if not wanted:
        return areas
    chosen = []
    for name in wanted:
        match = [a for a in areas if a.name == name or str(a.id) == name]
        if not match:
            raise click.ClickException(f"no focus area named {name!r}")
        chosen.extend(match)
    return chosen


@click.group()
def sweeps() -> None:
    """Weekly sweeps of the focus areas."""


@sweeps.command("plan")
@click.option("--week", required=True, help="ISO week, e.g. 2026-W48.")
@click.option("--focus-area", "focus_areas", multiple=True, help="Name or id (repeatable).")
@click.option("--seed", type=int, help="Reproduce a plan: the seed it recorded.")
@click.option("--stops-per-day", type=click.IntRange(1, 500))
@click.option(
    "--sample-percent", type=click.FloatRange(1, 100), help="At least 1 %: no watch lists."
)
@click.pass_obj
def plan(settings, week, focus_areas, seed, stops_per_day, sample_percent) -> None:
    """Plan each focus area's sweep for the week (again, if it has not started)."""
    from registry.cli import command_today
    from registry.db import transaction
    from registry.errors import DomainError
    from registry.sweeps.planning import PlanRequest, plan_sweep
    from registry.sweeps.weeks import parse_week, week_label
    from registry.validators import FieldError

    try:
        monday = parse_week(week)
    except FieldError as error:
        raise click.BadParameter(str(error.message), param_hint="--week") from None
    today = command_today()
    engine, factory = _session_factory(settings)
    refused = 0
    try:
        with transaction(factory) as session:
            for area in _areas(session, focus_areas):
                request = PlanRequest(
                    area.id,
                    monday,
                    seed=seed,
                    stops_per_day=stops_per_day,
                    sample_percent=None if sample_percent is None else Decimal(str(sample_percent)),
                )
                try:
                    with session.begin_nested():
                        summary = plan_sweep(session, None, request, today)
                except DomainError as error:
                    refused += 1
                    reasons = "; ".join(
                        str(m) for ms in error.details.get("fields", {}).values() for m in ms
                    )
                    click.echo(f"{area.name} {week_label(monday)}: refused: {reasons or error}")
                    continue
                ratio = f"{summary.ratio:.2f}" if summary.ratio else "-"
                click.echo(
                    f"{area.name} {week_label(monday)}: "
                    f"{'replaced' if summary.replaced else 'planned'}, "
                    f"{summary.stops} stops "
                    f"({summary.flagged} flagged, {summary.sampled} sampled), "
                    f"{summary.days} days, route {summary.route_m / 1000:.1f} km "
                    f"({ratio}x nearest neighbour), seed {summary.sweep.seed}"
                )
    finally:
        engine.dispose()
    if refused:
        raise SystemExit(1)


@sweeps.command("close")
@click.pass_obj
def close(settings) -> None:
    """Close every open sweep whose week has ended: its team no longer sees its stops."""
    from registry.cli import command_today
    from registry.db import transaction
    from registry.sweeps.progress import close_ended_sweeps

    engine, factory = _session_factory(settings)
    try:
        with transaction(factory) as session:
            closed = close_ended_sweeps(session, None, command_today())
    finally:
        engine.dispose()
    click.echo(f"closed {closed} sweeps whose week has ended")


@sweeps.command("purge")
@click.option(
    "--days",
    type=click.IntRange(1, 36500),
    envvar="REGISTRY_VISIT_RETENTION_DAYS",
    default=730,
    show_default=True,
    help="Keep the visits of this many days (REGISTRY_VISIT_RETENTION_DAYS).",
)
@click.pass_obj
def purge(settings, days) -> None:
    """Delete the sweep visits older than the retention period, their photos with them."""
    from registry.cli import command_today
    from registry.db import transaction
    from registry.sweeps.visits import purge_visits

    engine, factory = _session_factory(settings)
    try:
        with transaction(factory) as session:
            deleted = purge_visits(session, command_today(), days)
    finally:
        engine.dispose()
    click.echo(f"deleted {deleted} sweep visits recorded more than {days} days ago")
