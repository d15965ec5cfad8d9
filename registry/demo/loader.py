"""`registry demo`: load the fictional demo district into the registry with COPY."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Index, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, DropIndex

import registry.models  # noqa: F401  (every table on the metadata)
from geo.demo_layout import SIZES, build_layout
from registry.db import Base, make_engine, make_session_factory, transaction
from registry.demo.copy import CopyPipeline, TableData
from registry.demo.generate import DemoCounts, DemoGenerator
from registry.person.identity import IdentityCipher

# The audit trail is never emptied, not even by a demo reload.
KEPT_TABLES = {"audit_log"}

# Look-up indexes that are cheaper built once over the loaded rows than kept up to date
# row by row during COPY (GIN trigram and pair indexes above all): dropped before the COPY
# and built after it, in the same transaction.
INDEXES_BUILT_AFTER_COPY = (
    "ix_person_phone",
    "ix_person_phone_trgm",
    "ix_person_name_trgm",
    "ix_person_name_bigrams",
    "ix_residence_current",
)


@dataclass
class LoadReport:
    size: str
    seed: int
    counts: DemoCounts
    seconds: float
    copy_seconds: float
    copied: list[TableData]
    index_seconds: float = 0.0
    figures_seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.counts.rows.values())

    def summary(self) -> str:
        lines = [
            f"Loaded the {self.size} demo district (seed {self.seed}) in {self.seconds:.1f} s:"
        ]
        lines += [f"  {table:<20} {rows:>10,}" for table, rows in self.counts.rows.items()]
        lines.append(f"  {'total rows':<20} {self.total_rows:>10,}")
        lines.append(
            f"Look-up indexes built after COPY in {self.index_seconds:.1f} s; "
            f"per-cell figures computed in {self.figures_seconds:.1f} s."
        )
        if self.counts.logins:
            lines.append("Demo logins (role, username, password):")
            lines += [f"  {role:<28} {user:<10} {pw}" for role, user, pw in self.counts.logins]
        return "\n".join(lines)


def registry_tables() -> list[str]:
    return [name for name in Base.metadata.tables if name not in KEPT_TABLES]


def registry_is_empty(url: str) -> bool:
    engine = make_engine(url)
    with engine.connect() as connection:
        empty = connection.execute(text("SELECT NOT EXISTS (SELECT 1 FROM district)")).scalar()
    engine.dispose()
    return bool(empty)


def load_demo(
    url: str,
    data_key: str,
    size: str,
    seed: int,
    *,
    today: date,
    dump_folder: Path | None = None,
) -> LoadReport:
    """Generate the district and COPY it in, all in one transaction; then its figures."""
    started = time.perf_counter()
    layout = build_layout(SIZES[size], seed)
    generator = DemoGenerator(layout, IdentityCipher(data_key), today, seed)
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(registry_tables())} RESTART IDENTITY")
            drop_late_indexes(cursor)
        pipeline = CopyPipeline(raw.driver_connection, dump_folder)
        try:
            for table in generator.tables():
                pipeline.send(table)
        finally:
            pipeline.close()
        with raw.cursor() as cursor:
            index_started = time.perf_counter()
            create_late_indexes(cursor)
            index_seconds = time.perf_counter() - index_started
            reset_sequences(cursor)
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
        engine.dispose()
    _analyze(url)
    figures_seconds = _refresh_figures(url, today)
    return LoadReport(
        size,
        seed,
        generator.counts,
        time.perf_counter() - started,
        sum(pipeline.timer.seconds.values()),
        pipeline.order,
        index_seconds,
        figures_seconds,
    )


def _late_indexes() -> list[Index]:
    indexes = {
        index.name: index for table in Base.metadata.tables.values() for index in table.indexes
    }
    return [indexes[name] for name in INDEXES_BUILT_AFTER_COPY]


def _ddl(element) -> str:
    return str(element.compile(dialect=postgresql.dialect()))


def drop_late_indexes(cursor) -> None:
    for index in _late_indexes():
        cursor.execute(_ddl(DropIndex(index, if_exists=True)))


def create_late_indexes(cursor) -> None:
    for index in _late_indexes():
        cursor.execute(_ddl(CreateIndex(index)))


def reset_sequences(cursor) -> None:
    for table in Base.metadata.sorted_tables:
        if "id" in table.c and table.name not in KEPT_TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'COALESCE((SELECT max(id) FROM "{table.name}"), 0) + 1, false)'
            )


def _refresh_figures(url: str, today: date) -> float:
    """The per-cell figures of the loaded district, so the dashboards open at once."""
    from registry.figures.services import refresh_figures

    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return refresh_figures(session, today).seconds
    finally:
        engine.dispose()


def _analyze(url: str) -> None:
    """Fresh statistics, so the first queries after a load get good plans."""
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()
