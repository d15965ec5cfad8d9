"""Exports write user text as text cells: never a formula, whatever it starts with."""

from __future__ import annotations

import zipfile
from io import BytesIO

from helpers import log_in
from openpyxl import Workbook, load_workbook
from sqlalchemy import text

from registry.spreadsheet import append_row

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    "=cmd|' /C calc'!A0",
    "控制\x01字符\x1f",
]


def _saved(workbook: Workbook) -> bytes:
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _has_formulas(data: bytes) -> bool:
    with zipfile.ZipFile(BytesIO(data)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
        return any(b"<f>" in archive.read(name) or b"<f " in archive.read(name) for name in sheets)


def test_text_stays_text_and_numbers_stay_numbers():
    workbook = Workbook()
    sheet = workbook.active
    append_row(sheet, ["header", "count"])
    for value in HOSTILE:
        append_row(sheet, [value, 7])
    data = _saved(workbook)
    assert not _has_formulas(data)
    loaded = load_workbook(BytesIO(data)).active
    rows = list(loaded.iter_rows(min_row=2))
    assert [row[0].value for row in rows] == [*HOSTILE[:-1], "控制字符"]
    assert {row[0].data_type for row in rows} == {"s"}
    assert {(row[1].value, row[1].data_type) for row in rows} == {(7, "n")}


def test_dashboard_export_writes_a_hostile_cell_name_as_text(demo_app, demo_db):
    name = HOSTILE[0]
    demo_db.execute(text("UPDATE grid_cell SET name = :name WHERE id = 1"), {"name": name})
    demo_db.commit()
    client = log_in(demo_app, "officer1")
    response = client.get("/dashboard/export.xlsx")
    assert response.status_code == 200
    assert not _has_formulas(response.data)
    sheet = load_workbook(BytesIO(response.data))["Grid cells"]
    cells = [row[1] for row in sheet.iter_rows(min_row=3) if row[1].value == name]
    assert len(cells) == 1 and cells[0].data_type == "s"
    assert all(row[3].data_type == "n" for row in sheet.iter_rows(min_row=3))


def test_a_write_only_sheet_keeps_text_as_text_with_its_styles():
    from openpyxl.styles import Font

    from registry.spreadsheet import streaming_workbook, workbook_bytes

    workbook = streaming_workbook()
    sheet = workbook.create_sheet("rows")
    append_row(sheet, ["header", "count"], font=Font(bold=True))
    for value in HOSTILE:
        append_row(sheet, [value, 1234], number_formats=[None, "#,##0"])
    data = workbook_bytes(workbook)
    assert not _has_formulas(data)
    loaded = load_workbook(BytesIO(data)).active
    assert loaded["A1"].font.bold and loaded["B1"].font.bold
    rows = list(loaded.iter_rows(min_row=2))
    assert [row[0].value for row in rows] == [*HOSTILE[:-1], "控制字符"]
    assert {row[0].data_type for row in rows} == {"s"}
    assert {(row[1].value, row[1].number_format) for row in rows} == {(1234, "#,##0")}


def test_exports_are_written_row_by_row_in_write_only_mode(demo_app, monkeypatch):
    """No cell of a district-wide list is kept in memory: openpyxl's write-only mode."""
    from registry.dashboard import export
    from registry.spreadsheet import streaming_workbook

    made = []

    def recorded():
        made.append(streaming_workbook())
        return made[-1]

    monkeypatch.setattr(export, "streaming_workbook", recorded)
    client = log_in(demo_app, "officer1")
    assert client.get("/dashboard/export.xlsx").status_code == 200
    assert client.get("/dashboard/lists/transient.xlsx").status_code == 200
    assert client.get("/dashboard/lists/over_capacity.xlsx").status_code == 200
    assert [workbook.write_only for workbook in made] == [True, True, True]
