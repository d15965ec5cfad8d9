"""Checks on whatever PostgreSQL server the registry is pointed at."""

from __future__ import annotations

from sqlalchemy import text

from registry.db import make_engine


def describe(url: str) -> str:
    """Server version, PostGIS version and schema revision, in one line."""
    from registry import migrate

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            server = connection.execute(text("SHOW server_version")).scalar_one()
            postgis = connection.execute(
                text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            ).scalar()
        revision = migrate.current_revision(engine)
    finally:
        engine.dispose()
    return (
        f"PostgreSQL {server}, PostGIS {postgis or 'not installed'}, "
        f"schema revision {revision or 'none (run `registry db upgrade`)'}"
    )
