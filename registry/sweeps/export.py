"""The sweep list on paper and in spreadsheets: PDF (WeasyPrint, CJK font), XLSX and CSV.

One stop per row in walking order: the address, what to check (the flags' reasons), the
occupants' names with masked ID numbers (never phones), and room for notes and a
signature. Spreadsheets hold every user string as text, never as a formula: XLSX rows go
through registry/spreadsheet.py, and a CSV cell that a spreadsheet would read as a formula
is prefixed with an apostrophe. The CSV is UTF-8 with a BOM, so Chinese Excel opens it
right. The caller writes the one audit entry of the export (the people it shows).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from flask import render_template
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from registry.labels import OUTCOME_LABELS
from registry.spreadsheet import append_row
from registry.sweeps.models import Sweep
from registry.sweeps.services import StopRow
from registry.sweeps.weeks import week_end

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",  # Werkzeug adds "; charset=utf-8" to a text/* type itself
}


def headers() -> list[str]:
    return [
        _("Team-day"),
        _("Stop no."),
        _("Address"),
        _("What to check"),
        _("Occupants (ID numbers masked)"),
        _("Outcome of the visit"),
        _("Notes at the door"),
        _("Signature"),
    ]


def _checks_text(row: StopRow) -> str:
    return "\n".join(f"{label}: {what}" if what else str(label) for label, what in row.checks)


def _occupants_text(row: StopRow) -> str:
    return "\n".join(f"{o.name} {o.document}".strip() for o in row.occupants)


def outcome_text(row: StopRow) -> str:
    """The visit's outcome as the checklist shows it: with the count of people found."""
    if not row.visit:
        return ""
    label = str(OUTCOME_LABELS[row.visit.outcome])
    return f"{label} ({row.visit.people})" if row.visit.people else label


def row_values(row: StopRow) -> list[Any]:
    return [
        row.day,
        row.stop.position,
        row.address.full_text,
        _checks_text(row),
        _occupants_text(row),
        outcome_text(row),
        row.visit.note if row.visit else "",
        "",
    ]


def csv_cell(value: Any) -> str:
    """A CSV field no spreadsheet runs: text that starts like a formula gets a ``'``."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return str(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def sweep_csv(rows: Iterable[StopRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers())
    for row in rows:
        writer.writerow([csv_cell(value) for value in row_values(row)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def sweep_workbook(title: str, rows: Iterable[StopRow]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("Sweep list")[:31]
    append_row(sheet, [title])
    sheet["A1"].font = Font(bold=True, size=13)
    append_row(sheet, headers())
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        append_row(sheet, row_values(row))
    for column, width in zip("ABCDEFGH", (6, 6, 40, 40, 30, 16, 30, 14)):
        sheet.column_dimensions[column].width = width
    for line in sheet.iter_rows(min_row=3):
        for cell in line:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sweep_print_html(sweep: Sweep, title: str, rows: list[StopRow], **context: Any) -> str:
    """The printable list as HTML, what WeasyPrint lays out."""
    return render_template(
        "sweeps/print.html",
        sweep=sweep,
        title=title,
        rows=rows,
        outcome_text=outcome_text,
        week_end=week_end,
        **context,
    )


def sweep_pdf(sweep: Sweep, title: str, rows: list[StopRow], **context: Any) -> bytes:
    """The printable list: A4 landscape, one stop per row, CJK text in Noto Sans CJK."""
    from weasyprint import HTML

    return HTML(string=sweep_print_html(sweep, title, rows, **context)).write_pdf()
