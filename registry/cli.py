"""The ``registry`` command: database, demo district, benchmark and the web server.

Every command parses its arguments and calls a service; none holds logic of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import click

from registry.clock import TimeZoneError, deployment_zone, today_in
from registry.cluster import EmbeddedCluster, embedded_cluster
from registry.config import Settings, SetupError, load_settings
from registry.figures.cli import figures as figures_commands
from registry.flags.cli import flags as flags_commands


def database_url(settings: Settings) -> str:
    """DATABASE_URL when set, otherwise the embedded cluster's address."""
    return settings.database_url or embedded_cluster(settings).url()


def command_today() -> date:
    """A CLI command's "today": read once, in the deployment's time zone (registry/clock.py)."""
    return today_in(deployment_zone())


class RegistryGroup(click.Group):
    """Turns the errors meant for people into one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (SetupError, TimeZoneError) as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=RegistryGroup)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Rental-housing and transient-population registry."""
    deployment_zone()  # a mistyped REGISTRY_TIMEZONE stops every command with one clear line
    ctx.obj = load_settings()


@main.group()
def db() -> None:
    """The database: the embedded cluster, or the server in DATABASE_URL."""


def _cluster_or_none(settings: Settings) -> EmbeddedCluster | None:
    if settings.database_url:
        click.echo("DATABASE_URL is set: using that server, not the embedded cluster.")
        return None
    return embedded_cluster(settings)


@db.command("init")
@click.pass_obj
def db_init(settings: Settings) -> None:
    """Create the embedded cluster (role, database, extensions) and migrate it."""
    cluster = _cluster_or_none(settings)
    if cluster is not None:
        created = cluster.init()
        click.echo(("created" if created else "already initialised") + f": {cluster.where()}")
        click.echo(cluster.start())
    _upgrade(settings)


@db.command("start")
@click.pass_obj
def db_start(settings: Settings) -> None:
    """Start the embedded cluster (does nothing when it runs already)."""
    cluster = _cluster_or_none(settings)
    if cluster is not None:
        click.echo(cluster.start())


@db.command("stop")
@click.pass_obj
def db_stop(settings: Settings) -> None:
    """Stop the embedded cluster (does nothing when it is stopped)."""
    cluster = _cluster_or_none(settings)
    if cluster is not None:
        click.echo(cluster.stop())


@db.command("status")
@click.pass_obj
def db_status(settings: Settings) -> None:
    """Say what runs where, and the schema revision."""
    cluster = _cluster_or_none(settings)
    if cluster is not None:
        click.echo(cluster.status())
        if not cluster.is_running():
            return
    from registry.database import describe

    click.echo(describe(database_url(settings)))


def _upgrade(settings: Settings) -> None:
    from registry import migrate
    from registry.db import make_engine

    engine = make_engine(database_url(settings))
    try:
        migrate.upgrade(engine)
    except migrate.MigrationRefused as refused:
        engine.dispose()
        raise click.ClickException(str(refused)) from refused
    click.echo(f"schema at revision {migrate.current_revision(engine)}")
    engine.dispose()


@db.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Apply every pending migration."""
    _upgrade(settings)


@db.command("psql", context_settings={"ignore_unknown_options": True})
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def db_psql(settings: Settings, psql_args: tuple[str, ...]) -> None:
    """Open psql on the registry's database."""
    if settings.database_url:
        from sqlalchemy.engine import make_url

        url = make_url(settings.database_url).set(drivername="postgresql")
        command = ["psql", url.render_as_string(hide_password=False), *psql_args]
        sys.exit(subprocess.call(command))
    cluster = embedded_cluster(settings)
    sys.exit(subprocess.call(["psql", *psql_args], env=cluster.libpq_environment()))


def confirm_replacing(url: str, what: str) -> bool:
    """Whether to go on replacing the registry's data: asks only when it holds some.

    The question names what would be lost; without an answer (no terminal) it is no.
    """
    from sqlalchemy.engine import make_url

    from registry.demo.loader import registry_holdings

    holdings = registry_holdings(url)
    if not holdings:
        return True
    shown = ", ".join(f"{count:,} {table}" for table, count in holdings.items())
    return click.confirm(
        f"Database {make_url(url).database!r} holds {shown}.\n"
        f"{what} deletes all of it (the audit log is kept). Go on?"
    )


SIZES = click.Choice(["small", "medium", "large"])
YES = click.option("--yes", is_flag=True, help="Replace the registry's data without asking.")


@main.command("demo")
@click.option("--size", type=SIZES, default="small")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when the registry holds data.")
@YES
@click.pass_obj
def demo(settings: Settings, size: str, seed: int, if_empty: bool, yes: bool) -> None:
    """Replace the registry's data with the fictional demo district; print the demo logins.

    The new district's ids start past every earlier id, so the audit log, which is kept,
    never names one of its records.
    """
    from registry.demo.loader import load_demo, registry_is_empty

    url = database_url(settings)
    if if_empty and not registry_is_empty(url):
        click.echo(
            "The registry holds data already: demo not loaded (drop --if-empty to replace it)."
        )
        return
    if not yes and not confirm_replacing(url, f"Loading the {size} demo district"):
        raise click.ClickException("nothing was changed")
    report = load_demo(url, settings.data_key, size, seed, today=command_today())
    click.echo(report.summary())


@main.group()
def user() -> None:
    """Accounts from the command line: the first administrator of a new deployment."""


@user.command("create-admin")
@click.argument("username")
@click.option("--display-name", default="系统管理员", show_default=True)
@click.password_option(help="Asked for twice when not given.")
@click.pass_obj
def user_create_admin(settings: Settings, username: str, display_name: str, password: str) -> None:
    """Create an administrator account; the other accounts are made on the admin pages.

    The administrators' own rules apply (registry.admin.services.create_administrator):
    the username's pattern and case-insensitive uniqueness, the password's rules.
    """
    from registry.admin.services import create_administrator
    from registry.db import make_engine, make_session_factory, transaction
    from registry.errors import InvalidInput
    from registry.validators import ValidationErrors

    engine = make_engine(database_url(settings))
    try:
        with transaction(make_session_factory(engine, audit_key=settings.audit_key)) as session:
            create_administrator(session, username, display_name, password)
    except InvalidInput as refused:
        # One line, field by field: "username: This username is taken; password: …"
        fields = refused.details.get("fields", {})
        raise click.ClickException(str(ValidationErrors(fields))) from None
    finally:
        engine.dispose()
    click.echo(f"administrator {username} created")


@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@click.pass_obj
def audit_verify(settings: Settings) -> None:
    """Check the audit log's chain, keyed and legacy entries; exit 1 at any broken entry."""
    from registry.audit.chain import KEYED_HMAC, LEGACY_SHA256, audit_key_bytes, verify_chain
    from registry.db import make_engine, make_session_factory, transaction

    engine = make_engine(database_url(settings))
    with transaction(make_session_factory(engine)) as session:
        report = verify_chain(session, audit_key_bytes(settings.audit_key))
    engine.dispose()
    click.echo(
        f"{report.entries[KEYED_HMAC]} keyed (HMAC-SHA256) entries, "
        f"{report.entries[LEGACY_SHA256]} legacy (SHA-256) entries"
    )
    if report.problems:
        for problem in report.problems:
            click.echo(f"entry {problem.entry_id}: {problem.problem}", err=True)
        broken = len({problem.entry_id for problem in report.problems})
        raise click.ClickException(f"the audit chain is broken at {broken} entries")
    click.echo("audit chain intact")


@main.group()
def bench() -> None:
    """Benchmarks that print figures and ratios."""


@bench.command("load")
@click.option("--size", type=SIZES, default="large")
@click.option("--seed", type=int, default=1, show_default=True)
@YES
@click.pass_obj
def bench_load(settings: Settings, size: str, seed: int, yes: bool) -> None:
    """Load the demo district and compare its rate with a plain COPY of the same rows."""
    from registry.demo.benchmark import run_load_benchmark

    url = database_url(settings)
    if not yes and not confirm_replacing(url, "The load benchmark"):
        raise click.ClickException("nothing was changed")
    click.echo(run_load_benchmark(url, settings.data_key, size, seed, command_today()))


@bench.command("search")
@click.option("--size", type=click.Choice(["small", "medium", "large"]), default="large")
@click.option("--port", default=5001, show_default=True, type=int, help="The app's HTTP port.")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers.")
@click.option("--samples", default=50, show_default=True, type=int, help="Values per kind.")
@click.option("--sessions", default=20, show_default=True, type=int, help="Concurrent sessions.")
@click.option("--seconds", default=60, show_default=True, type=float, help="Length of the mix.")
@click.pass_obj
def bench_search(
    settings: Settings,
    size: str,
    port: int,
    workers: int,
    samples: int,
    sessions: int,
    seconds: float,
) -> None:
    """Look-ups, dashboards and the export over HTTP on the loaded demo district."""
    from registry.bench.search import run_search_benchmark

    try:
        run_search_benchmark(
            database_url(settings),
            settings.data_key,
            size,
            command_today(),  # the web pages' today as well: the deployment's time zone
            audit_key=settings.audit_key,
            port=port,
            workers=workers,
            samples=samples,
            sessions=sessions,
            seconds=seconds,
            echo=click.echo,
        )
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error


@bench.command("map")
@click.option("--size", type=click.Choice(["small", "medium", "large"]), default="large")
@click.option("--seed", type=int, default=1, show_default=True)
@click.pass_obj
def bench_map(settings: Settings, size: str, seed: int) -> None:
    """The grid map: page bytes against a naive folium page, aggregate time, tile p50/p95."""
    from registry.map.benchmark import run_map_benchmark

    click.echo(run_map_benchmark(settings, database_url(settings), size, seed, command_today()))


@bench.command("page")
@click.argument("url")
@click.option("--user", "username", default="grid0001", show_default=True)
@click.option("--password", default=None, help="the demo password when not given")
@click.option("--rate", type=float, default=50, show_default=True, help="KB/s")
@click.option("--latency", type=float, default=0, show_default=True, help="ms per request")
@click.option(
    "--until",
    type=click.Choice(["load", "networkidle"]),
    default="load",
    show_default=True,
    help="networkidle: also what the page's scripts fetch (a map's data and tiles)",
)
def bench_page(
    url: str, username: str, password: str | None, rate: float, latency: float, until: str
):
    """One page of a running server over a slow link: bytes and load time, first and later
    visit (Chromium; e.g. URL http://127.0.0.1:5000/cells/addresses/new)."""
    from urllib.parse import urlsplit

    from registry.bench.page import measure_page, report
    from registry.demo.generate import DEMO_PASSWORD

    parts = urlsplit(url)
    base, path = (
        f"{parts.scheme}://{parts.netloc}",
        parts.path + (f"?{parts.query}" if parts.query else ""),
    )
    first, later = measure_page(
        base, path, username, password or DEMO_PASSWORD, rate, latency, until
    )
    click.echo(report(path, rate, latency, until, first, later))


main.add_command(figures_commands)
main.add_command(flags_commands)


@bench.command("audit")
@click.option("--hold", type=float, default=0.5, show_default=True, help="seconds")
@click.pass_obj
def bench_audit(settings: Settings, hold: float) -> None:
    """What the audit log costs: a 50-person look-up, and a second writer beside a first.

    Needs the demo district (logs in as officer1, writes view entries).
    """
    from registry.app import create_app
    from registry.audit.bench import run_audit_benchmark
    from registry.demo.generate import DEMO_PASSWORD

    app = create_app(settings, WTF_CSRF_ENABLED=False)
    click.echo(run_audit_benchmark(app, DEMO_PASSWORD, hold))


@bench.command("flags")
@click.option("--size", type=click.Choice(["small", "medium", "large"]), default="large")
@click.pass_obj
def bench_flags(settings: Settings, size: str) -> None:
    """The full flag rule run over the loaded demo district, then sweep plans of 50-cell
    focus areas on it (each rolled back afterwards)."""
    from registry.bench.flags import run_flags_benchmark
    from registry.sweeps.bench import run_plan_benchmark

    try:
        run_flags_benchmark(database_url(settings), size, command_today(), click.echo)
        run_plan_benchmark(database_url(settings), settings.audit_key, command_today(), click.echo)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error


@bench.command("pdf")
@click.option("--rows", type=click.IntRange(1, 5000), default=300, show_default=True)
@click.option("--runs", type=click.IntRange(1, 20), default=3, show_default=True)
@click.pass_obj
def bench_pdf(settings: Settings, rows: int, runs: int) -> None:
    """The printed sweep list of N made-up stops: layout and writing time, pages, bytes,
    fonts (no database needed)."""
    from registry.app import create_app
    from registry.sweeps.print_bench import run_pdf_benchmark

    run_pdf_benchmark(create_app(settings), rows, runs, click.echo)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug/--no-debug", default=False)
def serve(host: str, port: int, debug: bool) -> None:
    """Serve the web app (development server; put a WSGI server in front in production)."""
    from registry.app import create_app
    from registry.web.accesslog import RedactedRequestHandler

    create_app().run(
        host=host,
        port=port,
        debug=debug,
        use_reloader=False,
        request_handler=RedactedRequestHandler,  # no query strings in the access log
    )


def _add_domain_commands() -> None:
    from registry.sweeps.cli import sweeps

    main.add_command(sweeps)


_add_domain_commands()


if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]))
