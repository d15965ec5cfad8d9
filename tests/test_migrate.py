"""Migrations: empty → head, head → base → head, and no drift between models and migrations."""

from sqlalchemy import inspect, text

from registry import migrate
from registry.db import Base, make_engine


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}


def test_empty_database_upgrades_to_head_with_every_model_table(scratch_database):
    engine = make_engine(scratch_database)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) is not None
    assert _tables(engine) == set(Base.metadata.tables)
    engine.dispose()


def test_head_to_base_to_head_round_trip(scratch_database):
    engine = make_engine(scratch_database)
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert _tables(engine) == set()
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert _tables(engine) == set(Base.metadata.tables)
    with engine.connect() as connection:
        functions = connection.execute(
            text("SELECT count(*) FROM pg_proc WHERE proname = 'grid_cell_at'")
        ).scalar_one()
    assert functions == 1
    engine.dispose()


def test_autogenerate_finds_no_difference_between_models_and_head(engine):
    assert migrate.schema_differences(engine) == []


def test_exclusion_constraints_of_the_models_are_those_of_the_migrations(engine):
    """Autogenerate does not compare EXCLUDE constraints: build each model's on a copy of
    its table and compare PostgreSQL's own rendering of both."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.dialects.postgresql import ExcludeConstraint
    from sqlalchemy.schema import AddConstraint

    import registry.models  # noqa: F401

    declared = [
        constraint
        for table in Base.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, ExcludeConstraint)
    ]
    definition = text(
        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.conname = :name AND c.conrelid = CAST(:table AS regclass)"
    )
    with engine.connect() as connection, connection.begin() as transaction:
        for constraint in declared:
            table = constraint.table.name
            migrated = connection.execute(
                definition, {"name": constraint.name, "table": table}
            ).scalar_one_or_none()
            assert migrated is not None, f"{constraint.name} is missing from the migrations"
            connection.execute(text(f"CREATE TEMPORARY TABLE probe (LIKE {table})"))
            ddl = str(AddConstraint(constraint).compile(dialect=postgresql.dialect()))
            connection.execute(text(ddl.replace(f"ALTER TABLE {table} ", "ALTER TABLE probe ", 1)))
            modelled = connection.execute(
                definition, {"name": constraint.name, "table": "probe"}
            ).scalar_one()
            assert modelled == migrated, constraint.name
            connection.execute(text("DROP TABLE probe"))
        transaction.rollback()
