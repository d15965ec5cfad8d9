"""Run Alembic from Python, against a given engine: used by the CLI and the tests."""

from __future__ import annotations

from collections.abc import Sequence

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.config import PROJECT_ROOT

MIGRATIONS_FOLDER = PROJECT_ROOT / "migrations"


# How many offending groups a refused migration lists per rule (the count says the rest).
OFFENDING_ROWS_SHOWN = 50

# Tables that PostGIS and its optional extensions own; never ours to drop.
FOREIGN_TABLES = {"spatial_ref_sys", "layer", "topology"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave PostGIS's own tables out of autogenerate; let GeoAlchemy2 handle its indexes."""
    if type_ == "table" and name in FOREIGN_TABLES:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def alembic_config() -> Config:
    """Alembic settings without an ini file; the caller hands over the connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    return config


def _run(engine: Engine, action, *args) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, *args)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create the extensions the schema needs, then bring the schema up to ``revision``.

    The extensions come first and on their own, so a role that may not create them gets
    the list for its database administrator before any migration starts.
    """
    from registry.extensions import create_extensions

    with engine.begin() as connection:
        create_extensions(connection.connection.cursor())
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the schema down to ``revision``."""
    _run(engine, command.downgrade, revision)


def head_revision() -> str:
    """The newest revision the migrations folder holds."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_differences(engine: Engine) -> list:
    """What autogenerate would change to make the database match the models (empty = none)."""
    import registry.models  # noqa: F401
    from registry.db import Base

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        return compare_metadata(context, Base.metadata)


class MigrationRefused(RuntimeError):
    """A migration found rows that its new constraints would refuse, and changed nothing."""


def stop_if_rows_break(connection, revision: str, checks: Sequence[tuple[str, str]]) -> None:
    """Before adding constraints: list the existing rows that break them, and stop.

    ``checks`` are (what the rule is, a query returning one line of text per offending
    group, naming the rows' ids). The error names every group (up to a limit per rule), so
    whoever runs the upgrade can fix the data and run it again; the migration's
    transaction is rolled back, so nothing is half-applied.
    """
    found: list[str] = []
    for rule, query in checks:
        lines = connection.execute(text(query)).scalars().all()
        if lines:
            shown = [f"    {line}" for line in lines[:OFFENDING_ROWS_SHOWN]]
            if len(lines) > OFFENDING_ROWS_SHOWN:
                shown.append(f"    … and {len(lines) - OFFENDING_ROWS_SHOWN} more")
            found.append(f"  {rule} ({len(lines)}):\n" + "\n".join(shown))
    if found:
        raise MigrationRefused(
            f"migration {revision} stopped before changing anything: existing rows break "
            "the constraints it adds. Correct or remove them, then run the upgrade again.\n"
            + "\n".join(found)
        )
