"""``registry figures``: compute the per-cell figures the dashboards and the map read."""

from __future__ import annotations

import click


@click.group()
def figures() -> None:
    """The precomputed per-cell figures."""


@figures.command("refresh")
@click.option(
    "--date",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day to compute them for (default: today in the registry's time zone).",
)
@click.pass_obj
def refresh(settings, as_of) -> None:
    """Recompute every grid cell's figures (waits for a refresh already running)."""
    from registry.cli import command_today, database_url
    from registry.db import make_engine, make_session_factory, transaction
    from registry.figures.services import refresh_figures

    today = as_of.date() if as_of else command_today()
    engine = make_engine(database_url(settings))
    try:
        with transaction(make_session_factory(engine)) as session:
            state = refresh_figures(session, today)
    finally:
        engine.dispose()
    click.echo(
        f"figures as of {state.as_of.isoformat()} computed in {state.seconds:.2f} s "
        f"({state.computed_at:%Y-%m-%d %H:%M:%S %Z})"
    )
