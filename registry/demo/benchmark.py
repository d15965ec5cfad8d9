"""`registry bench load`: the demo load's rate against a plain COPY of the same rows.

Both are measured in one run on the same server and schema (indexes and triggers in
place; the look-up indexes, which the loader builds after its COPY, are dropped for the
plain COPY too and rebuilt after it, outside its timing): first the whole demo load
(layout, generation, encryption, COPY, look-up indexes, sequences, ANALYZE, per-cell
figures), which also writes every table's COPY text to files; then the registry is emptied
and the same files are sent with plain COPY. The ratio says how much of the server's
COPY rate the loader keeps. The plain COPY puts back the very rows the load made, ids and
all, so no id of an earlier district is used again.
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path

from registry.db import make_engine
from registry.demo.copy import TableData
from registry.demo.loader import (
    advance_sequences,
    create_late_indexes,
    drop_late_indexes,
    load_demo,
    registry_tables,
)

TARGET_SECONDS = 180
TARGET_RATIO = 0.5


def plain_copy(url: str, folder: Path, tables: list[TableData]) -> float:
    """COPY the dumped files in order into an emptied registry; seconds spent in COPY."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(registry_tables())}")
            # The same schema the loader COPYs into: its late indexes come after the COPY.
            drop_late_indexes(cursor)
        raw.commit()
        started = time.perf_counter()
        with raw.cursor() as cursor:
            for index, table in enumerate(tables):
                path = folder / f"{index:02d}_{table.table}.copy"
                with path.open(encoding="utf-8") as handle:
                    cursor.copy_expert(table.copy_statement(), handle)
        raw.commit()
        seconds = time.perf_counter() - started
        with raw.cursor() as cursor:
            create_late_indexes(cursor)
            advance_sequences(cursor)
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return seconds


def run_load_benchmark(url: str, data_key: str, size: str, seed: int, today: date) -> str:
    """Run both loads and return the figures as text."""
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as folder:
        dump = Path(folder)
        report = load_demo(url, data_key, size, seed, today=today, dump_folder=dump)
        copy_seconds = plain_copy(url, dump, report.copied)
        dump_bytes = sum(path.stat().st_size for path in dump.iterdir())
    rows = report.total_rows
    load_rate = rows / report.seconds
    copy_rate = rows / copy_seconds
    ratio = load_rate / copy_rate
    lines = [
        f"demo district {size} (seed {seed}): {rows:,} rows in {len(report.copied)} COPY "
        f"streams, {dump_bytes / 1e6:,.0f} MB of COPY text",
        f"  demo load (generate + COPY + sequences + ANALYZE): {report.seconds:8.1f} s "
        f"{load_rate:12,.0f} rows/s",
        f"    of which look-up indexes built after COPY:     {report.index_seconds:8.1f} s",
        f"    and the per-cell figures:                      {report.figures_seconds:8.1f} s",
        f"  plain COPY of the same rows from files:            {copy_seconds:8.1f} s "
        f"{copy_rate:12,.0f} rows/s",
        f"  ratio demo load / plain COPY:                      {ratio:8.2f}"
        f"   (target >= {TARGET_RATIO})",
        f"  load time against the {TARGET_SECONDS} s target:               "
        f"{report.seconds / TARGET_SECONDS:8.2f} of the budget",
    ]
    return "\n".join(lines)
