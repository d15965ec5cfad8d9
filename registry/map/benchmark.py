"""`registry bench map`: the grid map at district scale, as figures and ratios of one run.

On the demo district of the asked size (loaded first when the database holds another):

- the HTML bytes of the administrator's district map and of the biggest station's map, as
  sent, uncompressed, against the same view built naively with folium (one marker with a
  popup per dwelling): the naive page is built for the first 20,000 dwellings and scaled
  per dwelling to the map's dwellings;
- the time of the aggregate query behind the cells' colours;
- p50/p95 of the building tile endpoint over a fixed set of 200 tiles across zooms 16-19
  (through the app: Flask, the logged-in session, the scope), against the SQL text of the
  same statements (the officer's scope, the status and the flags included) run by the
  database driver alone, so the ratio is what the app adds to PostgreSQL's own work.

The app is driven through its WSGI interface (Flask's test client, one request at a time),
so the ratio to raw SQL is the app's own overhead, not the network's; the two sides are
timed tile by tile in turn, so that a machine busy with other work slows both alike.
"""

from __future__ import annotations

import math
import random
import re
import statistics
import time
from dataclasses import dataclass
from datetime import date

import folium
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from registry.accounts.models import Role, UserAccount
from registry.db import make_engine, make_session_factory
from registry.grid.models import GridCell

NAIVE_SAMPLE = 20_000
TILE_COUNT = 200
TILE_ZOOMS = (16, 17, 18, 19)
CELLS_BY_SIZE = {"small": 8, "medium": 150, "large": 2000}
TARGET_PAGE_BYTES = 500_000
TARGET_AGGREGATE_SECONDS = 1.0
TARGET_TILE_P95_SECONDS = 0.100
TARGET_TILE_RATIO = 2.0
DEMO_PASSWORD = "demo-2026"


@dataclass(frozen=True)
class Timing:
    p50: float
    p95: float


def percentiles(samples: list[float]) -> Timing:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return Timing(statistics.median(ordered), p95)


def ensure_demo(url: str, data_key: str, size: str, seed: int, today: date) -> str:
    """Load the demo district of ``size`` unless the database holds it already."""
    engine = make_engine(url)
    with engine.connect() as connection:
        cells = connection.execute(text("SELECT count(*) FROM grid_cell")).scalar_one()
    engine.dispose()
    if cells == CELLS_BY_SIZE[size]:
        return f"using the {size} demo district already loaded ({cells} grid cells)"
    from registry.demo.loader import load_demo

    load_demo(url, data_key, size, seed, today=today)
    return f"loaded the {size} demo district (seed {seed})"


def log_in(app, username: str):
    client = app.test_client()
    page = client.get("/login?lang=en").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token}
    )
    if response.status_code != 302:
        raise RuntimeError(f"could not log in as {username}")
    return client


def biggest_station(session: Session) -> tuple[int, str, int]:
    """(station id, its officer's username, its dwellings) of the station with most dwellings."""
    station_id, dwellings = session.execute(
        text("""SELECT c.police_station_id, count(*) FROM dwelling d
                JOIN address a ON a.id = d.address_id JOIN community c ON c.id = a.community_id
                GROUP BY 1 ORDER BY 2 DESC LIMIT 1""")
    ).one()
    officer = session.scalar(
        select(UserAccount.username)
        .where(UserAccount.role == Role.POLICE_OFFICER, UserAccount.police_station_id == station_id)
        .order_by(UserAccount.id)
        .limit(1)
    )
    return station_id, officer, dwellings


def naive_bytes_per_dwelling(session: Session) -> tuple[float, int]:
    """Bytes per dwelling of folium's naive page (a marker and a popup for each dwelling),
    and how many dwellings it was built for."""
    rows = session.execute(
        text("""SELECT ST_Y(a.geom), ST_X(a.geom), a.full_text, d.occupancy::text, d.rooms
                FROM dwelling d JOIN address a ON a.id = d.address_id
                ORDER BY d.id LIMIT :n"""),
        {"n": NAIVE_SAMPLE},
    ).all()
    naive = folium.Map(location=[rows[0][0], rows[0][1]], zoom_start=14)
    for lat, lon, full_text, occupancy, rooms in rows:
        popup = folium.Popup(f"{full_text}<br>{occupancy}, {rooms}", max_width=300)
        folium.Marker([lat, lon], popup=popup).add_to(naive)
    html = naive.get_root().render()
    return len(html.encode("utf-8")) / len(rows), len(rows)


def tile_set(session: Session, station_id: int) -> list[tuple[int, int, int]]:
    """200 tiles over buildings of the station, zooms 16 to 19 in turn (a fixed seed)."""
    points = session.execute(
        text("""SELECT ST_X(a.geom), ST_Y(a.geom) FROM address a
                JOIN community c ON c.id = a.community_id
                WHERE a.parent_id IS NULL AND c.police_station_id = :s ORDER BY a.id"""),
        {"s": station_id},
    ).all()
    chooser = random.Random(42)
    tiles = []
    for index in range(TILE_COUNT):
        lon, lat = chooser.choice(points)
        zoom = TILE_ZOOMS[index % len(TILE_ZOOMS)]
        n = 2**zoom
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        tiles.append((zoom, x, y))
    return tiles


def time_http_tiles(client, tiles) -> list[float]:
    samples = []
    for z, x, y in tiles:
        started = time.perf_counter()
        response = client.get(f"/map/tiles/buildings/{z}/{x}/{y}.pbf")
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"tile {z}/{x}/{y} answered {response.status_code}")
    return samples


def raw_tile_sql(session: Session, username: str, tiles, today: date) -> list[str]:
    """The SQL text of each tile's statement as the app runs it for ``username`` (scope,
    status and flags included), every value written in: what PostgreSQL alone must do."""
    from registry.map.tiles import buildings_tile_statement

    actor = session.scalar(select(UserAccount).where(UserAccount.username == username))
    dialect = session.get_bind().dialect
    texts = []
    for z, x, y in tiles:
        statement, parameters = buildings_tile_statement(session, actor, z, x, y, today, "wgs84")
        filled = statement.params(parameters)
        texts.append(str(filled.compile(dialect=dialect, compile_kwargs={"literal_binds": True})))
    return texts


def time_raw_tiles(session: Session, statements: list[str]) -> list[float]:
    """Each tile's statement run by the database driver alone: no Flask, no log-in, no
    statement built or compiled by SQLAlchemy."""
    connection = session.connection()
    samples = []
    for sql in statements:
        started = time.perf_counter()
        connection.exec_driver_sql(sql).scalar()
        samples.append(time.perf_counter() - started)
    return samples


def time_aggregate(session: Session, actor: UserAccount) -> float:
    """What colours every cell of the district: the one query over the precomputed figures
    and the one count of live flags per cell (the "open flags" measure)."""
    from registry.map.services import cell_values

    cells = list(session.scalars(select(GridCell.id)))
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        cell_values(session, actor, cells)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def run_map_benchmark(settings, url: str, size: str, seed: int, today: date) -> str:
    from registry.app import create_app

    lines = [ensure_demo(url, settings.data_key, size, seed, today)]
    app = create_app(settings, REGISTRY_TODAY=today)
    session = make_session_factory(make_engine(url))()
    try:
        dwellings = session.scalar(select(func.count()).select_from(text("dwelling")))
        station_id, officer, station_dwellings = biggest_station(session)
        admin_page = len(log_in(app, "admin").get("/dashboard/map").data)
        officer_client = log_in(app, officer)
        station_page = len(officer_client.get("/dashboard/map").data)
        per_dwelling, sample = naive_bytes_per_dwelling(session)
        admin = session.scalar(select(UserAccount).where(UserAccount.username == "admin"))
        aggregate = time_aggregate(session, admin)
        tiles = tile_set(session, station_id)
        statements = raw_tile_sql(session, officer, tiles, today)
        time_raw_tiles(session, statements[:20])  # warm the caches for both sides alike
        time_http_tiles(officer_client, tiles[:20])
        # Tile by tile, each side in turn: a busy machine slows both alike.
        http_samples, raw_samples = [], []
        for tile, sql in zip(tiles, statements, strict=True):
            http_samples += time_http_tiles(officer_client, [tile])
            raw_samples += time_raw_tiles(session, [sql])
        http, raw = percentiles(http_samples), percentiles(raw_samples)
    finally:
        session.close()
    naive_admin = per_dwelling * dwellings
    naive_station = per_dwelling * station_dwellings
    ratio = http.p95 / raw.p95 if raw.p95 else float("inf")
    lines += [
        f"{dwellings:,} dwellings; biggest station {station_id} ({officer}): "
        f"{station_dwellings:,} dwellings",
        f"naive folium page (a marker and a popup per dwelling): built for the first "
        f"{sample:,} dwellings, {per_dwelling:,.0f} bytes per dwelling, scaled to each map's",
        "",
        f"{'measure':<34}{'figure':>14}{'naive / raw':>16}{'ratio':>10}  target",
        f"{'district map HTML (admin)':<34}{admin_page:>14,}{naive_admin:>16,.0f}"
        f"{admin_page / naive_admin:>10.5f}  < {TARGET_PAGE_BYTES:,} B "
        f"{_verdict(admin_page < TARGET_PAGE_BYTES)}",
        f"{'station map HTML (' + officer + ')':<34}{station_page:>14,}{naive_station:>16,.0f}"
        f"{station_page / naive_station:>10.5f}  < {TARGET_PAGE_BYTES:,} B "
        f"{_verdict(station_page < TARGET_PAGE_BYTES)}",
        f"{'aggregate query (s, median of 5)':<34}{aggregate:>14.4f}{'':>16}{'':>10}  "
        f"< {TARGET_AGGREGATE_SECONDS} s {_verdict(aggregate < TARGET_AGGREGATE_SECONDS)}",
        f"{'tile p50 (s), app / raw SQL':<34}{http.p50:>14.4f}{raw.p50:>16.4f}"
        f"{http.p50 / raw.p50 if raw.p50 else 0:>10.2f}",
        f"{'tile p95 (s), app / raw SQL':<34}{http.p95:>14.4f}{raw.p95:>16.4f}{ratio:>10.2f}  "
        f"< {TARGET_TILE_P95_SECONDS} s and < {TARGET_TILE_RATIO}x raw "
        f"{_verdict(http.p95 < TARGET_TILE_P95_SECONDS and ratio < TARGET_TILE_RATIO)}",
        f"({TILE_COUNT} tiles over the station's buildings, zooms "
        f"{TILE_ZOOMS[0]}-{TILE_ZOOMS[-1]}, as {officer} through the app; raw: the SQL text "
        "of the same statements (scope, status and flags included) run by the driver alone)",
    ]
    return "\n".join(lines)
