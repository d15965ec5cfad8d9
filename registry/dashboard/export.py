"""The dashboard's figures as an XLSX workbook: one sheet per level, headers in the user's
language, counts and shares stored as numbers with number formats, names and codes as text
cells that can never be formulas (registry.spreadsheet).

Each sheet opens with a title row (the jurisdiction, the day the figures are for and when
they were computed), so a printed or forwarded sheet says what it is; the header row below
it carries an autofilter over the data rows (the total stays outside the filter).
"""

from __future__ import annotations

from io import BytesIO

from flask_babel import format_date, format_datetime
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
        (_("Rented without a current filing"), "rented_unfiled", COUNT_FORMAT),
        (_("Current filings missing a pledge"), "pledges_missing", COUNT_FORMAT),
        (_("Over capacity"), "over_capacity", COUNT_FORMAT),
        (_("Registered population"), "registered", COUNT_FORMAT),
        (_("Transient population"), "transient", COUNT_FORMAT),
        (_("Organisations"), "organisations", COUNT_FORMAT),
    ]


def _sheet_name(text: str) -> str:
    """Excel refuses sheet names over 31 characters or with []:*?/\\ in them."""
    for character in "[]:*?/\\":
        text = text.replace(character, " ")
    return text[:31]


HEADER_ROW = 2  # below the title row


def sheet_title(dashboard: Dashboard) -> str:
    """What the sheet is: the jurisdiction, and for which day the figures were computed."""
    where = dashboard.station.name if dashboard.station else _("The whole district")
    if dashboard.state is None:
        return f"{where} · {_('The figures have not been computed yet.')}"
    when = _("Figures as of %(date)s", date=format_date(dashboard.state.as_of, "long"))
    computed = _("computed at %(time)s", time=format_datetime(dashboard.state.computed_at, "short"))
    return f"{where} · {when} · {computed}"


def write_title(sheet, title: str, width: int) -> None:
    """Row 1: the title in bold, across the table's width."""
    append_row(sheet, [title])
    sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
    if width > 1:
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)


def _write_sheet(
    sheet, title: str, label_headers: list[str], rows, labels_of, total: Figures
) -> None:
    columns = figure_columns()
    headers = label_headers + [header for header, _attr, _fmt in columns]
    write_title(sheet, title, len(headers))
    append_row(sheet, headers)
    for cell in sheet[HEADER_ROW]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        append_row(sheet, labels_of(row) + [getattr(row.figures, attr) for _h, attr, _f in columns])
    last_data_row = sheet.max_row
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(headers))}{last_data_row}"
    total_labels = [_("Total")] + [""] * (len(label_headers) - 1)
    append_row(sheet, total_labels + [getattr(total, attr) for _h, attr, _f in columns])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    first_figure = len(label_headers) + 1
    for offset, (_header, _attr, number_format) in enumerate(columns):
        letter = get_column_letter(first_figure + offset)
        for cell in sheet[letter][HEADER_ROW:]:
            cell.number_format = number_format
        sheet.column_dimensions[letter].width = 14
    for index in range(1, first_figure):
        sheet.column_dimensions[get_column_letter(index)].width = 18
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=first_figure)


def _cell_labels(row: AreaRow) -> list[str]:
    if row.id is None:
        return ["", _("Not in a grid cell of this jurisdiction"), ""]
    return [row.code, row.name, row.community]


def dashboard_workbook(dashboard: Dashboard) -> bytes:
    """The workbook's bytes: a communities sheet and a grid-cells sheet, each with a total."""
    workbook = Workbook()
    communities = workbook.active
    communities.title = _sheet_name(_("Communities"))
    title = sheet_title(dashboard)
    _write_sheet(
        communities,
        title,
        [_("Community code"), _("Community")],
        dashboard.communities,
        lambda row: [row.code, row.name],
        dashboard.total,
    )
    cells = workbook.create_sheet(_sheet_name(_("Grid cells")))
    _write_sheet(
        cells,
        title,
        [_("Grid cell code"), _("Grid cell"), _("Community")],
        dashboard.cells,
        _cell_labels,
        dashboard.total,
    )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def list_workbook(title: str, people: bool, rows: list) -> bytes:
    """One list behind a figure as a sheet: a title row, headers with an autofilter, rows
    (text cells never formulas; counts numbers; dates dates)."""
    from registry.labels import OCCUPANCY_LABELS

    workbook = Workbook(write_only=False)
    sheet = workbook.active
    sheet.title = _sheet_name(_("List"))
    if people:
        headers = [_("Full name"), _("Address"), _("Moved in")]
        values = [[row.name, row.address, row.moved_in] for row in rows]
    else:
        headers = [
            _("Address"),
            _("Occupancy"),
            _("Occupants now"),
            _("Legal capacity"),
            _("Current filing"),
            _("Rental pledge"),
            _("Security guarantee"),
        ]

        def yes_no(value) -> str:
            return _("Yes") if value else _("No")

        values = [
            [
                row.address.full_text,
                str(OCCUPANCY_LABELS.get(str(row.dwelling.occupancy), row.dwelling.occupancy)),
                row.status.occupants_now,
                row.capacity,
                yes_no(row.status.current_filing_id),
                yes_no(row.status.current_filing_id and row.status.rental_pledge),
                yes_no(row.status.current_filing_id and row.status.security_guarantee),
            ]
            for row in rows
        ]
    write_title(sheet, title, len(headers))
    append_row(sheet, headers)
    for cell in sheet[HEADER_ROW]:
        cell.font = Font(bold=True)
    for value in values:
        append_row(sheet, value)
    last = get_column_letter(len(headers))
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{max(sheet.max_row, HEADER_ROW)}"
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=1)
    sheet.column_dimensions["A"].width = 48 if not people else 14
    if people:
        sheet.column_dimensions["B"].width = 48
        for cell in sheet["C"][HEADER_ROW:]:
            cell.number_format = "yyyy-mm-dd"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
