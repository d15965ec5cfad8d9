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
