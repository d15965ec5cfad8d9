"""The PostgreSQL extensions the schema needs: one list, created in one place.

The embedded cluster, every schema upgrade (also against DATABASE_URL), the migrations and
the README's section on an existing server all name this list. On a managed server the
registry's role usually may not create PostGIS; then a database administrator creates the
extensions once, and the registry says exactly which ones instead of failing in a
migration's traceback.
"""

from __future__ import annotations

from registry.config import SetupError

# postgis: every geometry; pg_trgm: address and name search; btree_gist: the EXCLUDE
# constraints that keep lease terms and residences of one dwelling or person apart.
REQUIRED_EXTENSIONS = ("postgis", "pg_trgm", "btree_gist")

POSTGIS_HINT = (
    "PostGIS is not installed for PostgreSQL {major}. Install it with: "
    "apt-get install postgresql-{major}-postgis-3"
)
CONTRIB_HINT = (
    "The database server lacks the extensions {names}, which PostgreSQL ships in its "
    "contrib modules: install them on the server (Debian: apt-get install postgresql-contrib)."
)


class MissingExtensions(SetupError):
    """The role may not create extensions the schema needs."""


def administrator_statements(names: tuple[str, ...] | list[str] = REQUIRED_EXTENSIONS) -> str:
    """The SQL a database administrator runs to create ``names``, one statement a line."""
    return "\n".join(f"    CREATE EXTENSION IF NOT EXISTS {name};" for name in names)


def missing_extensions_message(role: str, database: str, names: list[str]) -> str:
    return (
        f'The database role "{role}" may not create the extensions the registry needs in '
        f'database "{database}". A database administrator must create them once, in that '
        "database (or in template1, so that every new database has them):\n"
        f"{administrator_statements(names)}\n"
        "Then run the command again."
    )


def create_extensions(cursor, major: str = "") -> None:
    """Create the missing ones of REQUIRED_EXTENSIONS through a DB-API ``cursor``.

    Raises SetupError naming the package when the server lacks one, and
    MissingExtensions with the statements for an administrator when the role may not
    create one. Present extensions are left alone, so a role without the right works
    once an administrator has created them.
    """
    from psycopg2.errors import InsufficientPrivilege

    cursor.execute(
        "SELECT current_user, current_database(), "
        "ARRAY(SELECT extname FROM pg_extension WHERE extname = ANY(%(names)s)), "
        "ARRAY(SELECT name FROM pg_available_extensions WHERE name = ANY(%(names)s)), "
        "current_setting('server_version_num')",
        {"names": list(REQUIRED_EXTENSIONS)},
    )
    role, database, present, available, version = cursor.fetchone()
    missing = [name for name in REQUIRED_EXTENSIONS if name not in present]
    if not missing:
        return
    if "postgis" in missing and "postgis" not in available:
        raise SetupError(POSTGIS_HINT.format(major=major or str(int(version) // 10000)))
    unavailable = [name for name in missing if name not in available]
    if unavailable:
        raise SetupError(CONTRIB_HINT.format(names=", ".join(unavailable)))
    for name in missing:
        try:
            cursor.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
        except InsufficientPrivilege as error:
            # Inside a transaction the ones created before are rolled back: name them all.
            raise MissingExtensions(missing_extensions_message(role, database, missing)) from error
