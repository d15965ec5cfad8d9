"""Spreadsheets that cannot run anything: every text is a text cell, never a formula.

openpyxl stores any string that starts with ``=`` as a formula, so a grid cell named
``=HYPERLINK("http://x","y")`` would become a live link (or worse) in the officer's Excel.
Every export writes its rows through :func:`append_row`: strings become text cells
whatever they start with, numbers stay numbers, and characters that XML cannot hold
(control characters a user pasted) are dropped instead of failing the whole export.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, TYPE_STRING, Cell
from openpyxl.worksheet.worksheet import Worksheet


def text_value(value: str) -> str:
    """The text as a cell can hold it: without the control characters XML refuses."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def text_cell(sheet: Worksheet, value: str) -> Cell:
    """A cell holding ``value`` as text, whatever it starts with."""
    cell = Cell(sheet, value=text_value(value))
    cell.data_type = TYPE_STRING  # after the value: setting a value re-detects formulas
    return cell


def append_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    """Append one row; every ``str`` is stored as text, other values as they are."""
    sheet.append([text_cell(sheet, value) if isinstance(value, str) else value for value in values])
