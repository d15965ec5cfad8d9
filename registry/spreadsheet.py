"""Spreadsheets that cannot run anything: every text is a text cell, never a formula.

openpyxl stores any string that starts with ``=`` as a formula, so a grid cell named
``=HYPERLINK("http://x","y")`` would become a live link (or worse) in the officer's Excel.
Every export writes its rows through :func:`append_row`: strings become text cells
whatever they start with, numbers stay numbers, and characters that XML cannot hold
(control characters a user pasted) are dropped instead of failing the whole export.

Exports are written with :func:`streaming_workbook`, openpyxl's write-only mode: each row
is serialised as it is appended and no cell objects are kept, so memory and time grow
with the row only, not with the sheet. Such a sheet is written top to bottom: column
widths and frozen panes are set before the first row, a row's styles go with its cells
(``append_row``'s ``font`` and ``number_formats``), merged ranges and the autofilter may
come at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, TYPE_STRING, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet


def text_value(value: str) -> str:
    """The text as a cell can hold it: without the control characters XML refuses."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _new_cell(sheet: Worksheet, value: Any) -> Cell:
    # Placed at A1 as openpyxl's WriteOnlyCell is: appending moves it to its place, and a
    # write-only sheet needs a coordinate to tell a cell from a value.
    return Cell(sheet, row=1, column=1, value=value)


def text_cell(sheet: Worksheet, value: str) -> Cell:
    """A cell holding ``value`` as text, whatever it starts with."""
    cell = _new_cell(sheet, text_value(value))
    cell.data_type = TYPE_STRING  # after the value: setting a value re-detects formulas
    return cell


def streaming_workbook() -> Workbook:
    """An empty write-only workbook (no default sheet): add sheets with ``create_sheet``."""
    return Workbook(write_only=True)


def workbook_bytes(workbook: Workbook) -> bytes:
    """The saved workbook (a write-only one can be saved once)."""
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(sheet: Worksheet, value: Any, font, alignment, number_format) -> Any:
    if isinstance(value, str):
        cell = text_cell(sheet, value)
    elif value is None or not (font or alignment or number_format):
        return value  # a plain value: openpyxl writes it with no cell object of ours
    else:
        cell = _new_cell(sheet, value)
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    if number_format:
        cell.number_format = number_format
    return cell


def append_row(
    sheet: Worksheet,
    values: Iterable[Any],
    *,
    font: Font | None = None,
    alignment: Alignment | None = None,
    number_formats: Sequence[str | None] = (),
) -> None:
    """Append one row; every ``str`` is stored as text, other values as they are.

    ``font`` and ``alignment`` apply to the whole row, ``number_formats`` column by column
    (None: the default); a write-only sheet takes styles only with its cells.
    """
    row = []
    for index, value in enumerate(values):
        number_format = number_formats[index] if index < len(number_formats) else None
        row.append(_cell(sheet, value, font, alignment, number_format))
    sheet.append(row)
