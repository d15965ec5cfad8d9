"""Alembic environment: migrates the database the registry is configured for.

The connection comes from ``registry.migrate`` (which reads DATABASE_URL or the embedded
cluster) through ``config.attributes``, so Alembic never needs an ini file of its own.
"""

from alembic import context
from geoalchemy2 import alembic_helpers

import registry.models  # noqa: F401  (registers every table on the metadata)
from registry.db import Base
from registry.migrate import include_object


def run_migrations() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
