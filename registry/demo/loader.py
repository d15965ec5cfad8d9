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
from registry.demo.generate import DEMO_PASSWORD, DemoCounts, DemoGenerator
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
            lines.append(f"Demo logins (password {DEMO_PASSWORD}):")
            lines += [f"  {kind:<18} {users}" for kind, users in self.counts.logins]
        return "\n".join(lines)


def registry_tables() -> list[str]:
    """Every table a demo load empties and fills: all but the audit log."""
    return [name for name in Base.metadata.tables if name not in KEPT_TABLES]


def registry_holdings(url: str) -> dict[str, int]:
    """How many rows each table a demo load would replace holds (only the non-empty ones)."""
    counts = " UNION ALL ".join(
        f"SELECT '{table}', count(*) FROM \"{table}\"" for table in registry_tables()
    )
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text(counts)).all()
    engine.dispose()
    return {table: count for table, count in rows if count}


def registry_is_empty(url: str) -> bool:
    """True when a demo load would replace nothing (the audit log does not count)."""
    anything = " OR ".join(f'EXISTS (SELECT 1 FROM "{table}")' for table in registry_tables())
    engine = make_engine(url)
    with engine.connect() as connection:
        empty = not connection.execute(text(f"SELECT {anything}")).scalar_one()
    engine.dispose()
    return empty


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
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            # No RESTART IDENTITY: the new district's ids start past every earlier one.
            cursor.execute(f"TRUNCATE {', '.join(registry_tables())}")
            drop_late_indexes(cursor)
            first_ids = first_unused_ids(cursor)
        cipher = IdentityCipher(data_key)
        generator = DemoGenerator(layout, cipher, today, seed, first_ids)
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
            advance_sequences(cursor)
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
        engine.dispose()
    _analyze(url)
    figures_seconds = _refresh_figures(url, today)
    _raise_flags(url, today)
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


def id_sequences(cursor) -> dict[str, str]:
    """The sequence behind each replaced table's ``id``, by table."""
    tables = [t.name for t in Base.metadata.sorted_tables if "id" in t.c]
    cursor.execute(
        "SELECT name, pg_get_serial_sequence(name, 'id') FROM unnest(%s::text[]) AS t(name)",
        ([name for name in tables if name not in KEPT_TABLES],),
    )
    return {table: sequence for table, sequence in cursor.fetchall() if sequence}


def _next_value(sequence: str) -> str:
    """SQL for the value ``sequence`` hands out next, without taking it."""
    return f"(SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {sequence})"


def first_unused_ids(cursor) -> dict[str, int]:
    """Per table, an id above every id it ever had: its sequence's next value, or past the
    highest id the audit log names for it (a district loaded by an older version, which
    restarted the sequences), whichever is higher."""
    sequences = id_sequences(cursor)
    cursor.execute(
        " UNION ALL ".join(
            f"SELECT '{table}', {_next_value(sequence)}" for table, sequence in sequences.items()
        )
    )
    first = dict(cursor.fetchall())
    cursor.execute(
        "SELECT object_type, max(object_id::bigint) + 1 FROM audit_log "
        "WHERE object_type = ANY(%s) AND object_id ~ '^[0-9]{1,18}$' GROUP BY object_type",
        (list(sequences),),
    )
    for table, past_audited in cursor.fetchall():
        first[table] = max(first[table], past_audited)
    return first


def advance_sequences(cursor) -> None:
    """Move each sequence past the highest id loaded; never back, so no id is used twice."""
    for table, sequence in id_sequences(cursor).items():
        cursor.execute(
            f"SELECT setval('{sequence}', highest) "
            f'FROM (SELECT max(id) AS highest FROM "{table}") AS loaded '
            f"WHERE highest >= {_next_value(sequence)}"
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


def _raise_flags(url: str, today: date) -> None:
    """The flags of the loaded district, as the nightly run would raise them."""
    from registry.flags.run import run_rules

    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            run_rules(session, today)
    finally:
        engine.dispose()


def _analyze(url: str) -> None:
    """Fresh statistics, so the first queries after a load get good plans."""
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()
