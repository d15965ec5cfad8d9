"""The dashboard's figures as an XLSX workbook: one sheet per level, headers in the user's
language, counts and shares stored as numbers with number formats, names and codes as text
cells that can never be formulas (registry.spreadsheet)."""

from __future__ import annotations

from io import BytesIO

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from registry.dashboard.services import AreaRow, Dashboard, Figures
from registry.spreadsheet import append_row

COUNT_FORMAT = "#,##0"
SHARE_FORMAT = "0.0%"


def figure_columns() -> list[tuple[str, str, str]]:
    """(header, Figures attribute, number format) of the figure columns, in page order."""
    return [
        (_("Dwellings"), "dwellings", COUNT_FORMAT),
        (_("Rented"), "rented", COUNT_FORMAT),
        (_("Rented with a current filing"), "rented_filed", COUNT_FORMAT),
        (_("Share of rented with a current filing"), "filed_share", SHARE_FORMAT),
        (_("Rented with both pledges"), "rented_pledged", COUNT_FORMAT),
        (
            _("Share of rented with a current filing that have both pledges"),
            "pledged_share",
            SHARE_FORMAT,
        ),
        (_("Registered population"), "registered", COUNT_FORMAT),
        (_("Transient population"), "transient", COUNT_FORMAT),
        (_("Organisations"), "organisations", COUNT_FORMAT),
    ]


def _sheet_name(text: str) -> str:
    """Excel refuses sheet names over 31 characters or with []:*?/\\ in them."""
    for character in "[]:*?/\\":
        text = text.replace(character, " ")
    return text[:31]


def _write_sheet(sheet, label_headers: list[str], rows, labels_of, total: Figures) -> None:
    columns = figure_columns()
    append_row(sheet, label_headers + [header for header, _attr, _fmt in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        append_row(sheet, labels_of(row) + [getattr(row.figures, attr) for _h, attr, _f in columns])
    total_labels = [_("Total")] + [""] * (len(label_headers) - 1)
    append_row(sheet, total_labels + [getattr(total, attr) for _h, attr, _f in columns])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    first_figure = len(label_headers) + 1
    for offset, (_header, _attr, number_format) in enumerate(columns):
        letter = get_column_letter(first_figure + offset)
        for cell in sheet[letter][1:]:
            cell.number_format = number_format
        sheet.column_dimensions[letter].width = 14
    for index in range(1, first_figure):
        sheet.column_dimensions[get_column_letter(index)].width = 18
    sheet.freeze_panes = sheet.cell(row=2, column=first_figure)


def _cell_labels(row: AreaRow) -> list[str]:
    if row.id is None:
        return ["", _("Not in a grid cell of this jurisdiction"), ""]
    return [row.code, row.name, row.community]


def dashboard_workbook(dashboard: Dashboard) -> bytes:
    """The workbook's bytes: a communities sheet and a grid-cells sheet, each with a total."""
    workbook = Workbook()
    communities = workbook.active
    communities.title = _sheet_name(_("Communities"))
    _write_sheet(
        communities,
        [_("Community code"), _("Community")],
        dashboard.communities,
        lambda row: [row.code, row.name],
        dashboard.total,
    )
    cells = workbook.create_sheet(_sheet_name(_("Grid cells")))
    _write_sheet(
        cells,
        [_("Grid cell code"), _("Grid cell"), _("Community")],
        dashboard.cells,
        _cell_labels,
        dashboard.total,
    )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
