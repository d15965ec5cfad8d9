"""The officer's jurisdiction dashboard and its XLSX, checked against plain-SQL counts.

The pages read the precomputed per-cell figures; tests that change the data refresh them
first, as ``registry figures refresh`` would.

Runs the real app on the small demo district inside a transaction that is rolled back.
Users log in with ``lang=None``: the pages keep their default language (Chinese), the one
``formatted`` writes the figures in.
"""

from __future__ import annotations

from html.parser import HTMLParser
from io import BytesIO

import pytest
from helpers import DEMO_TODAY, PLAIN_CAPACITY, add_second_police_station, log_in
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from registry.figures.services import refresh_figures

# Independent of the service's query: correlated subqueries per dwelling instead of
# DISTINCT ON + GROUPING SETS, grouped by one level at a time.
PER_DWELLING = f"""
    SELECT a.community_id, a.grid_cell_id, c.police_station_id, d.occupancy,
           (SELECT count(*) FROM residence r WHERE r.dwelling_id = d.id
               AND r.moved_in <= :today AND (r.moved_out IS NULL OR r.moved_out > :today))
             > {PLAIN_CAPACITY} AS is_over,
           (SELECT f.id FROM lease_filing f
             WHERE f.dwelling_id = d.id AND f.status = 'filed'
               AND f.starts_on <= :today AND f.ends_on >= :today
             ORDER BY f.starts_on DESC, f.id DESC LIMIT 1) AS filing
      FROM dwelling d JOIN address a ON a.id = d.address_id
      JOIN community c ON c.id = a.community_id
"""
FIGURES_BY = """
    WITH per AS ({per}),
    dw AS (
      SELECT {key} AS key, count(*) AS dwellings,
             sum(CASE WHEN occupancy = 'rented' THEN 1 ELSE 0 END) AS rented,
             sum(CASE WHEN occupancy = 'rented' AND filing IS NOT NULL THEN 1 ELSE 0 END)
               AS rented_filed,
             sum(CASE WHEN occupancy = 'rented' AND filing IS NOT NULL
                       AND filing IN (SELECT lease_filing_id FROM rental_pledge)
                       AND filing IN (SELECT lease_filing_id FROM security_guarantee)
                      THEN 1 ELSE 0 END) AS rented_pledged,
             sum(CASE WHEN occupancy = 'rented' AND filing IS NULL THEN 1 ELSE 0 END)
               AS rented_unfiled,
             sum(CASE WHEN filing IS NOT NULL
                       AND (filing NOT IN (SELECT lease_filing_id FROM rental_pledge)
                         OR filing NOT IN (SELECT lease_filing_id FROM security_guarantee))
                      THEN 1 ELSE 0 END) AS pledges_missing,
             sum(CASE WHEN is_over THEN 1 ELSE 0 END) AS over_capacity
        FROM per WHERE {where} GROUP BY 1),
    pop AS (
      SELECT {akey} AS key,
             sum(CASE WHEN r.kind = 'registered' THEN 1 ELSE 0 END) AS registered,
             sum(CASE WHEN r.kind = 'transient' THEN 1 ELSE 0 END) AS transient
        FROM residence r JOIN dwelling d ON d.id = r.dwelling_id
        JOIN address a ON a.id = d.address_id JOIN community c ON c.id = a.community_id
       WHERE r.moved_in <= :today AND (r.moved_out IS NULL OR r.moved_out > :today)
         AND {awhere}
       GROUP BY 1),
    org AS (
      SELECT {akey} AS key, count(*) AS organisations
        FROM organisation o JOIN address a ON a.id = o.address_id
        JOIN community c ON c.id = a.community_id
       WHERE {awhere} GROUP BY 1)
    SELECT dw.key, dw.dwellings, dw.rented, dw.rented_filed, dw.rented_pledged,
           dw.rented_unfiled, dw.pledges_missing, dw.over_capacity,
           coalesce(pop.registered, 0), coalesce(pop.transient, 0),
           coalesce(org.organisations, 0)
      FROM dw LEFT JOIN pop ON pop.key IS NOT DISTINCT FROM dw.key
              LEFT JOIN org ON org.key IS NOT DISTINCT FROM dw.key
"""
FIELDS = (
    "dwellings",
    "rented",
    "rented_filed",
    "rented_pledged",
    "rented_unfiled",
    "pledges_missing",
    "over_capacity",
    "registered",
    "transient",
    "organisations",
)


def plain_figures(session: Session, level: str, station_id: int | None = None) -> dict:
    """{community id | grid cell id | 'total': {field: count}} straight from the tables."""
    key, akey = {
        "community": ("community_id", "a.community_id"),
        "cell": ("grid_cell_id", "a.grid_cell_id"),
        "total": ("'total'", "'total'"),
    }[level]
    where = "police_station_id = :station" if station_id else "true"
    awhere = "c.police_station_id = :station" if station_id else "true"
    sql = FIGURES_BY.format(per=PER_DWELLING, key=key, akey=akey, where=where, awhere=awhere)
    rows = session.execute(text(sql), {"today": DEMO_TODAY, "station": station_id})
    return {row[0]: dict(zip(FIELDS, (int(v) for v in row[1:]))) for row in rows}


class TableText(HTMLParser):
    """The text of each row of the table with the given id: [[cell text, ...], ...]."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.depth = table_id, False, 0
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "span" and self.cell is not None:
            self.cell.append("|")  # the count under a share starts a new part

    def handle_endtag(self, tag):
        if self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None
        if self.inside and tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data.strip())


def table_rows(html: str, table_id: str) -> list[list[str]]:
    parser = TableText(table_id)
    parser.feed(html)
    return parser.rows


def formatted(figures: dict) -> list[str]:
    """How the page writes one row's figures in Chinese: counts with grouping, 0.0% shares."""

    def share(part, whole):
        return "—" if not whole else f"{part / whole:.1%}"

    return [
        f"{figures['dwellings']:,}",
        f"{figures['rented']:,}",
        f"{share(figures['rented_filed'], figures['rented'])}|{figures['rented_filed']:,}",
        f"{share(figures['rented_pledged'], figures['rented_filed'])}|"
        f"{figures['rented_pledged']:,}",
        f"{figures['rented_unfiled']:,}",
        f"{figures['pledges_missing']:,}",
        f"{figures['over_capacity']:,}",
        f"{figures['registered']:,}",
        f"{figures['transient']:,}",
        f"{figures['organisations']:,}",
    ]


def test_dashboard_figures_equal_plain_sql_per_community_cell_and_total(demo_app, demo_db):
    client = log_in(demo_app, "officer1", lang=None)
    page = client.get("/dashboard/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)

    communities = plain_figures(demo_db, "community")
    names = dict(demo_db.execute(text("SELECT id, name FROM community")).all())
    rows = table_rows(html, "communities")
    body = {row[0]: row[1:] for row in rows[1:-1]}
    assert body == {names[cid]: formatted(f) for cid, f in communities.items()}
    total = plain_figures(demo_db, "total")["total"]
    assert rows[-1][1:] == formatted(total)
    assert total["rented"] > total["rented_filed"] > total["rented_pledged"] > 0
    assert total["registered"] > 0 and total["transient"] > 0 and total["organisations"] > 0

    cells = plain_figures(demo_db, "cell")
    cell_names = dict(demo_db.execute(text("SELECT id, name FROM grid_cell")).all())
    rows = table_rows(html, "cells")
    body = {row[0].split("|")[0]: row[1:] for row in rows[1:-1]}
    assert len(body) == 8
    assert body == {cell_names[cid]: formatted(f) for cid, f in cells.items()}


def test_dashboard_states_its_denominators_and_formats_for_the_locale(demo_app, demo_db):
    client = log_in(demo_app, "officer1", lang=None)
    total = plain_figures(demo_db, "total")["total"]
    english = client.get("/dashboard/?lang=en").get_data(as_text=True)
    assert "share of rented dwellings with a current filing" in english
    assert f"{total['rented_pledged']:,} of {total['rented_filed']:,} rented with a current" in (
        english
    )
    assert "Figures as of November 25, 2026" in english
    chinese = client.get("/dashboard/?lang=zh_CN").get_data(as_text=True)
    assert "2026年11月25日" in chinese


def test_xlsx_has_a_sheet_per_level_with_the_same_figures(demo_app, demo_db):
    client = log_in(demo_app, "officer1", lang=None)
    response = client.get("/dashboard/export.xlsx?lang=en")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(BytesIO(response.data))
    assert workbook.sheetnames == ["Communities", "Grid cells"]

    communities = workbook["Communities"]
    # A title row names the jurisdiction and the figures' day; the autofilter sits on the
    # header row below it and covers the data rows, not the total.
    station = demo_db.scalar(text("SELECT name FROM police_station"))
    assert communities["A1"].value.startswith(f"{station} · Figures as of November 25, 2026")
    assert communities.auto_filter.ref == f"A2:N{communities.max_row - 1}"
    header = [c.value for c in communities[2]]
    assert header[:4] == ["Community code", "Community", "Dwellings", "Rented"]
    codes = dict(demo_db.execute(text("SELECT id, code FROM community")).all())
    expected = plain_figures(demo_db, "community")
    got = {}
    for row in communities.iter_rows(min_row=3, values_only=True):
        values = dict(zip(header, row))
        got[values["Community code"]] = values
    assert set(got) == {codes[c] for c in expected} | {"Total"}
    for community_id, figures in expected.items():
        row = got[codes[community_id]]
        assert row["Dwellings"] == figures["dwellings"]
        assert row["Rented with a current filing"] == figures["rented_filed"]
        assert row["Rented with both pledges"] == figures["rented_pledged"]
        assert row["Registered population"] == figures["registered"]
        assert row["Transient population"] == figures["transient"]
        assert row["Organisations"] == figures["organisations"]
        assert row["Rented without a current filing"] == figures["rented_unfiled"]
        assert row["Current filings missing a pledge"] == figures["pledges_missing"]
        assert row["Over capacity"] == figures["over_capacity"]
        share = row["Share of rented with a current filing"]
        assert share == pytest.approx(figures["rented_filed"] / figures["rented"])
    assert got["Total"]["Dwellings"] == plain_figures(demo_db, "total")["total"]["dwellings"]

    cells = workbook["Grid cells"]
    assert cells["A1"].value == communities["A1"].value
    header = [c.value for c in cells[2]]
    assert header[:3] == ["Grid cell code", "Grid cell", "Community"]
    cell_codes = dict(demo_db.execute(text("SELECT id, code FROM grid_cell")).all())
    by_code = {
        row[0]: dict(zip(header, row)) for row in cells.iter_rows(min_row=3, values_only=True)
    }
    for cell_id, figures in plain_figures(demo_db, "cell").items():
        row = by_code[cell_codes[cell_id]]
        assert [row[h] for h in ("Dwellings", "Rented", "Organisations")] == [
            figures["dwellings"],
            figures["rented"],
            figures["organisations"],
        ]
    total_row = by_code["Total"]
    assert total_row["Dwellings"] == plain_figures(demo_db, "total")["total"]["dwellings"]
    # Numbers are numbers with formats, not text.
    dwellings_column = header.index("Dwellings") + 1
    share_column = header.index("Share of rented with a current filing") + 1
    assert cells.cell(row=3, column=dwellings_column).number_format == "#,##0"
    assert cells.cell(row=3, column=share_column).number_format == "0.0%"


def test_xlsx_headers_follow_the_users_language(demo_app):
    from flask_babel import gettext

    client = log_in(demo_app, "officer1", lang=None)
    chinese = load_workbook(BytesIO(client.get("/dashboard/export.xlsx?lang=zh_CN").data))
    english = load_workbook(BytesIO(client.get("/dashboard/export.xlsx?lang=en").data))
    assert english.sheetnames == ["Communities", "Grid cells"]
    with demo_app.test_request_context("/?lang=zh_CN"):
        expected = [gettext("Community code"), gettext("Community"), gettext("Dwellings")]
        sheet_names = [gettext("Communities"), gettext("Grid cells")]
    assert chinese.sheetnames == sheet_names
    assert [c.value for c in chinese.worksheets[0][2]][:3] == expected


def test_each_officer_sees_only_their_stations_figures(demo_app, demo_db):
    before = plain_figures(demo_db, "total")["total"]
    add_second_police_station(demo_db)
    refresh_figures(demo_db, DEMO_TODAY)
    demo_db.commit()
    officer1 = log_in(demo_app, "officer1", lang=None)
    rows = table_rows(officer1.get("/dashboard/").get_data(as_text=True), "communities")
    assert "测试社区" not in [row[0] for row in rows]
    assert len(rows) == 3  # header, the demo's one community, total
    assert rows[-1][1:] == formatted(before)  # the new station's dwelling is not counted

    other = log_in(demo_app, "officer99", lang=None)
    html = other.get("/dashboard/").get_data(as_text=True)
    rows = table_rows(html, "communities")
    assert [row[0] for row in rows[1:-1]] == ["测试社区"]
    expected = {
        "dwellings": 1,
        "rented": 1,
        "rented_filed": 1,
        "rented_pledged": 0,
        "rented_unfiled": 0,
        "pledges_missing": 1,
        "over_capacity": 0,
        "registered": 0,
        "transient": 1,
        "organisations": 1,
    }
    assert rows[-1][1:] == formatted(expected)
    cells = table_rows(html, "cells")
    assert len(cells) == 3  # header, the "not in a grid cell" line, total
    workbook = load_workbook(BytesIO(other.get("/dashboard/export.xlsx?lang=en").data))
    sheet = workbook["Communities"]
    assert sheet.max_row == 4 and sheet.cell(row=3, column=2).value == "测试社区"


def test_admin_sees_the_district_and_can_narrow_it_to_a_station(demo_app, demo_db):
    ids = add_second_police_station(demo_db)
    refresh_figures(demo_db, DEMO_TODAY)
    demo_db.commit()
    admin = log_in(demo_app, "admin", lang=None)
    rows = table_rows(admin.get("/dashboard/").get_data(as_text=True), "communities")
    assert rows[-1][1:] == formatted(plain_figures(demo_db, "total")["total"])
    assert "测试社区" in [row[0] for row in rows]

    narrowed = admin.get(f"/dashboard/?station={ids['station']}").get_data(as_text=True)
    rows = table_rows(narrowed, "communities")
    assert [row[0] for row in rows[1:-1]] == ["测试社区"]
    assert rows[-1][1:] == formatted(plain_figures(demo_db, "total", ids["station"])["total"])
    assert admin.get("/dashboard/?station=999999").status_code == 404
    # An officer cannot widen their view with the same parameter.
    officer = log_in(demo_app, "officer1", lang=None)
    rows = table_rows(
        officer.get(f"/dashboard/?station={ids['station']}").get_data(as_text=True),
        "communities",
    )
    assert "测试社区" not in [row[0] for row in rows]
