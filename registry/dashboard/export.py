"""The dashboard's figures as an XLSX workbook: one sheet per level, headers in the user's
language, counts and shares stored as numbers with number formats, names and codes as text
cells that can never be formulas (registry.spreadsheet).

Each sheet opens with a title row (the jurisdiction, the day the figures are for and when
they were computed), so a printed or forwarded sheet says what it is; the header row below
it carries an autofilter over the data rows (the total stays outside the filter).
Workbooks are written row by row in openpyxl's write-only mode (registry.spreadsheet), so
a district-wide list costs time and memory per row, not per sheet.
"""

from __future__ import annotations

from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from registry.dashboard.services import AreaRow, Dashboard, Figures
from registry.spreadsheet import append_row, streaming_workbook, workbook_bytes

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


BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=13)
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")


def write_title(sheet, title: str, width: int) -> None:
    """Row 1: the title in bold, across the table's width."""
    append_row(sheet, [title], font=TITLE_FONT)
    if width > 1:
        sheet.merged_cells.add(f"A1:{get_column_letter(width)}1")


def set_widths(sheet, widths: dict[int, float]) -> None:
    """Column widths by column number: before the first row of a write-only sheet."""
    for index, width in widths.items():
        sheet.column_dimensions[get_column_letter(index)].width = width


def filter_header(sheet, width: int, last_row: int) -> None:
    """The autofilter on the header row, over the data rows down to ``last_row``."""
    last = get_column_letter(width)
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{max(last_row, HEADER_ROW)}"


def _write_sheet(
    sheet, title: str, label_headers: list[str], rows, labels_of, total: Figures
) -> None:
    columns = figure_columns()
    headers = label_headers + [header for header, _attr, _fmt in columns]
    first_figure = len(label_headers) + 1
    set_widths(
        sheet,
        {index: 18 for index in range(1, first_figure)}
        | {first_figure + offset: 14 for offset in range(len(columns))},
    )
    sheet.freeze_panes = f"{get_column_letter(first_figure)}{HEADER_ROW + 1}"
    write_title(sheet, title, len(headers))
    append_row(sheet, headers, font=BOLD, alignment=HEADER_ALIGNMENT)
    formats = [None] * len(label_headers) + [number_format for _h, _a, number_format in columns]
    last_data_row = HEADER_ROW
    for row in rows:
        figures = [getattr(row.figures, attr) for _h, attr, _f in columns]
        append_row(sheet, labels_of(row) + figures, number_formats=formats)
        last_data_row += 1
    filter_header(sheet, len(headers), last_data_row)
    total_labels = [_("Total")] + [""] * (len(label_headers) - 1)
    totals = [getattr(total, attr) for _h, attr, _f in columns]
    append_row(sheet, total_labels + totals, font=BOLD, number_formats=formats)


def _cell_labels(row: AreaRow) -> list[str]:
    if row.id is None:
        return ["", _("Not in a grid cell of this jurisdiction"), ""]
    return [row.code, row.name, row.community]


def dashboard_workbook(dashboard: Dashboard) -> bytes:
    """The workbook's bytes: a communities sheet and a grid-cells sheet, each with a total."""
    workbook = streaming_workbook()
    title = sheet_title(dashboard)
    _write_sheet(
        workbook.create_sheet(_sheet_name(_("Communities"))),
        title,
        [_("Community code"), _("Community")],
        dashboard.communities,
        lambda row: [row.code, row.name],
        dashboard.total,
    )
    _write_sheet(
        workbook.create_sheet(_sheet_name(_("Grid cells"))),
        title,
        [_("Grid cell code"), _("Grid cell"), _("Community")],
        dashboard.cells,
        _cell_labels,
        dashboard.total,
    )
    return workbook_bytes(workbook)


def list_workbook(title: str, people: bool, rows: list) -> bytes:
    """One list behind a figure as a sheet: a title row, headers with an autofilter, rows
    (text cells never formulas; counts numbers; dates dates)."""
    from registry.labels import OCCUPANCY_LABELS

    workbook = streaming_workbook()
    sheet = workbook.create_sheet(_sheet_name(_("List")))
    if people:
        headers = [_("Full name"), _("Address"), _("Moved in")]
        formats: list[str | None] = [None, None, "yyyy-mm-dd"]
        values = ([row.name, row.address, row.moved_in] for row in rows)
        set_widths(sheet, {1: 14, 2: 48})
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
        formats = []

        def yes_no(value) -> str:
            return _("Yes") if value else _("No")

        values = (
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
        )
        set_widths(sheet, {1: 48})
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    write_title(sheet, title, len(headers))
    append_row(sheet, headers, font=BOLD)
    last_row = HEADER_ROW
    for value in values:
        append_row(sheet, value, number_formats=formats)
        last_row += 1
    filter_header(sheet, len(headers), last_row)
    return workbook_bytes(workbook)
