"""Bulk loading with COPY: tables are built as columns and streamed to the server.

A background thread runs each COPY while the caller builds the next table, so Python's
work and the server's overlap on a two-core machine. Every table of one load goes through
one connection and one transaction: a failure leaves nothing behind.
"""

from __future__ import annotations

import io
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

NULL = "\\N"


def text_column(values: Sequence) -> list[str]:
    """Values as COPY text: None becomes NULL; tabs, newlines and backslashes are escaped."""
    out = []
    for value in values:
        if value is None:
            out.append(NULL)
        else:
            text = str(value)
            if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
                text = (
                    text.replace("\\", "\\\\")
                    .replace("\t", "\\t")
                    .replace("\n", "\\n")
                    .replace("\r", "\\r")
                )
            out.append(text)
    return out


def bytea_column(values: Sequence[bytes | None]) -> list[str]:
    """bytea in COPY text format: the hex form with its backslash escaped."""
    return [NULL if value is None else "\\\\x" + value.hex() for value in values]


@dataclass
class TableData:
    """One table's rows as COPY text, ready to send."""

    table: str
    columns: tuple[str, ...]
    text: str
    rows: int

    @classmethod
    def from_columns(cls, table: str, columns: dict[str, list[str]]) -> TableData:
        """Build from already-formatted string columns of equal length."""
        names = tuple(columns)
        values = list(columns.values())
        rows = len(values[0]) if values else 0
        if any(len(column) != rows for column in values):
            raise ValueError(f"{table}: columns differ in length")
        lines = map("\t".join, zip(*values))
        text = "\n".join(lines) + ("\n" if rows else "")
        return cls(table, names, text, rows)

    def copy_statement(self) -> str:
        return f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"


@dataclass
class CopyTimer:
    """Rows and seconds spent in COPY per table."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def copy_table(cursor, data: TableData) -> float:
    """COPY one table through ``cursor``; returns the seconds it took."""
    started = time.perf_counter()
    cursor.copy_expert(data.copy_statement(), io.StringIO(data.text))
    return time.perf_counter() - started


class CopyPipeline:
    """Sends tables to the server in order on a background thread while the caller builds more.

    With ``dump_folder`` set, every table's COPY text is also written there as a file, so a
    benchmark can COPY exactly the same rows again and compare.
    """

    def __init__(self, connection, dump_folder: Path | None = None) -> None:
        self._connection = connection
        self._queue: queue.Queue[TableData | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._dump_folder = dump_folder
        self.timer = CopyTimer()
        self.order: list[TableData] = []
        self._thread = threading.Thread(target=self._work, name="copy", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        cursor = self._connection.cursor()
        while (data := self._queue.get()) is not None:
            if self._error is not None:
                continue
            try:
                self.timer.seconds[data.table] = copy_table(cursor, data)
                self.timer.rows[data.table] = self.timer.rows.get(data.table, 0) + data.rows
            except BaseException as error:  # handed to the caller in close()
                self._error = error
        cursor.close()

    def send(self, data: TableData) -> None:
        if self._error is not None:
            raise self._error
        if self._dump_folder is not None:
            index = len(self.order)
            (self._dump_folder / f"{index:02d}_{data.table}.copy").write_text(
                data.text, encoding="utf-8"
            )
        self.order.append(TableData(data.table, data.columns, "", data.rows))
        self._queue.put(data)

    def close(self) -> None:
        """Wait for every COPY to finish; raise the first error any of them met."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
