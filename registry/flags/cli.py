"""``registry flags``: run every rule over the whole district (nightly, or by hand)."""

from __future__ import annotations

import time

import click


@click.group()
def flags() -> None:
    """Flags: the rules that raise leads on dwellings."""


@flags.command("run")
@click.option(
    "--date",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day to run the rules for (default: today in the registry's time zone).",
)
@click.pass_obj
def run(settings, as_of) -> None:
    """Raise, update and resolve every flag of the district in one transaction."""
    import registry.models  # noqa: F401  (every mapper configured)
    from registry.cli import command_today, database_url
    from registry.db import make_engine, make_session_factory, transaction
    from registry.flags.run import run_rules

    today = as_of.date() if as_of else command_today()
    engine = make_engine(database_url(settings))
    started = time.perf_counter()
    try:
        with transaction(make_session_factory(engine)) as session:
            result = run_rules(session, today)
    finally:
        engine.dispose()
    click.echo(
        f"flags for {today.isoformat()}: {result.raised} raised, {result.updated} updated, "
        f"{result.resolved} resolved, {result.withdrawn} withdrawn (rule switched off) "
        f"in {time.perf_counter() - started:.1f} s"
    )
