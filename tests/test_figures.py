"""The precomputed per-cell figures: their counts, their freshness, their lock, their scope.

The counts are checked against the per-dwelling status of registry/dwelling/status.py
(correlated subqueries, one row per dwelling) added up here in Python: the refresh's single
grouped statement must agree with it on every measure of every (community, grid cell).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from click.testing import CliRunner
from helpers import DEMO_TODAY, account, csrf_token_from, log_in
from sqlalchemy import select, text
from sqlalchemy.orm import aliased

from registry.address.models import Address
from registry.db import make_engine
from registry.dwelling.models import Dwelling, Occupancy
from registry.dwelling.status import (
    capacity_sql,
    current_rule,
    dwelling_status,
    occupancy_problem,
)
from registry.figures.models import COUNTS, CellFigures
from registry.figures.services import (
    REFRESH_LOCK,
    figures_by_cell,
    figures_state,
    is_stale,
    refresh_figures,
    refresh_if_stale,
)
from registry.organisation.models import Organisation
from registry.person.models import Residence, ResidenceKind


def _expected(session) -> dict[tuple, dict[str, int]]:
    """Every measure per (community, grid cell), from one status row per dwelling."""
    a = aliased(Address, name="a")
    capacity = capacity_sql(current_rule(session, DEMO_TODAY))
    query = dwelling_status(
        select(Dwelling.occupancy, a.community_id, a.grid_cell_id, capacity.label("capacity"))
        .select_from(Dwelling)
        .join(a, a.id == Dwelling.address_id),
        Dwelling,
        DEMO_TODAY,
    ).add_columns(occupancy_problem(DEMO_TODAY).label("problem"))
    figures: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    for row in session.execute(query):
        f = figures[(row.community_id, row.grid_cell_id)]
        rented = row.occupancy == Occupancy.RENTED
        filed = row.current_filing_id is not None
        pledged = filed and row.rental_pledge and row.security_guarantee
        over = row.capacity is not None and row.occupants_now > row.capacity
        unfiled = rented and not filed
        missing = filed and not pledged
        f["dwellings"] += 1
        f["rented"] += rented
        f["rented_filed"] += rented and filed
        f["rented_unfiled"] += unfiled
        f["rented_pledged"] += rented and pledged
        f["filed"] += filed
        f["filed_pledged"] += pledged
        f["pledges_missing"] += missing
        f["over_capacity"] += over
        f["occupancy_to_check"] += row.problem is not None
        f["attention"] += unfiled or missing or over or row.problem is not None
        f["occupants"] += row.occupants_now
    residents = session.execute(
        select(a.community_id, a.grid_cell_id, Residence.kind)
        .select_from(Residence)
        .join(Dwelling, Dwelling.id == Residence.dwelling_id)
        .join(a, a.id == Dwelling.address_id)
        .where(Residence.moved_in <= DEMO_TODAY)
        .where((Residence.moved_out.is_(None)) | (Residence.moved_out > DEMO_TODAY))
    )
    for community_id, cell_id, kind in residents:
        name = "registered" if kind == ResidenceKind.REGISTERED else "transient"
        figures[(community_id, cell_id)][name] += 1
    organisations = session.execute(
        select(a.community_id, a.grid_cell_id)
        .select_from(Organisation)
        .join(a, a.id == Organisation.address_id)
    )
    for community_id, cell_id in organisations:
        figures[(community_id, cell_id)]["organisations"] += 1
    return {key: {name: int(value) for name, value in f.items()} for key, f in figures.items()}


def _stored(session) -> dict[tuple, dict[str, int]]:
    rows = session.scalars(select(CellFigures))
    return {
        (row.community_id, row.grid_cell_id): {name: getattr(row, name) for name in COUNTS}
        for row in rows
    }


def test_refresh_agrees_with_the_per_dwelling_status_on_every_measure(demo_db):
    # Make every measure non-trivial: one dwelling over capacity, one vacant yet lived in.
    demo_db.execute(text("UPDATE dwelling SET floor_area = 5, rooms = 1 WHERE id = 1"))
    demo_db.execute(
        text(
            "UPDATE dwelling SET occupancy = 'vacant' WHERE id = "
            "(SELECT dwelling_id FROM residence WHERE moved_out IS NULL ORDER BY id LIMIT 1)"
        )
    )
    state = refresh_figures(demo_db, DEMO_TODAY)
    assert state.as_of == DEMO_TODAY
    expected = _expected(demo_db)
    assert _stored(demo_db) == expected
    totals = {name: sum(f[name] for f in expected.values()) for name in COUNTS}
    assert all(totals[name] > 0 for name in COUNTS), totals
    assert totals["occupants"] == totals["registered"] + totals["transient"]


def test_the_demo_load_leaves_figures_for_its_day(demo_db):
    state = figures_state(demo_db)
    assert state is not None and state.as_of == DEMO_TODAY
    assert _stored(demo_db) == _expected(demo_db)


def test_stale_means_never_computed_another_day_or_too_old(demo_db):
    state = figures_state(demo_db)
    now = state.computed_at
    age = timedelta(minutes=15)
    assert not is_stale(state, DEMO_TODAY, now + timedelta(minutes=14), age)
    assert is_stale(state, DEMO_TODAY, now + timedelta(minutes=16), age)
    assert is_stale(state, DEMO_TODAY + timedelta(days=1), now, age)
    assert is_stale(None, DEMO_TODAY, now, age)


def test_refresh_if_stale_refreshes_once_for_a_new_day(demo_db):
    assert not refresh_if_stale(demo_db, DEMO_TODAY)
    tomorrow = DEMO_TODAY + timedelta(days=1)
    assert refresh_if_stale(demo_db, tomorrow)
    assert figures_state(demo_db).as_of == tomorrow
    assert not refresh_if_stale(demo_db, tomorrow)


def test_refresh_if_stale_leaves_the_work_to_whoever_holds_the_lock(demo_db, demo_database):
    demo_db.execute(text("UPDATE figures_run SET computed_at = now() - interval '1 day'"))
    engine = make_engine(demo_database)
    try:
        with engine.connect() as other:
            other.execute(text("SELECT pg_advisory_lock(:key)"), {"key": REFRESH_LOCK})
            try:
                assert not refresh_if_stale(demo_db, DEMO_TODAY)
            finally:
                other.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": REFRESH_LOCK})
    finally:
        engine.dispose()
    assert refresh_if_stale(demo_db, DEMO_TODAY)


def test_grid_workers_get_the_figures_of_their_cells_only(demo_db):
    worker = account(demo_db, "grid0001")
    cells = set(
        demo_db.scalars(
            text("SELECT grid_cell_id FROM grid_cell_worker WHERE user_id = :u"), {"u": worker.id}
        )
    )
    by_cell = figures_by_cell(demo_db, worker)
    assert set(by_cell) == cells
    expected = _expected(demo_db)
    for cell_id, figures in by_cell.items():
        assert figures.dwellings == sum(
            f["dwellings"] for (_c, cell), f in expected.items() if cell == cell_id
        )
    admin = account(demo_db, "admin")
    assert sum(f.dwellings for f in figures_by_cell(demo_db, admin).values()) == sum(
        f["dwellings"] for f in expected.values()
    )
    assert figures_by_cell(demo_db, account(demo_db, "manager1")) == {}


def test_the_dashboard_refreshes_stale_figures_after_its_page_is_sent(demo_app, demo_db):
    demo_db.execute(
        text("UPDATE figures_run SET as_of = :day"), {"day": DEMO_TODAY - timedelta(days=1)}
    )
    demo_db.commit()
    client = log_in(demo_app, "officer1")
    response = client.get("/dashboard/")
    assert response.status_code == 200
    # The page shows the figures it has, and says that they are for another day.
    assert "they are being brought up to date" in response.get_data(as_text=True)
    response.close()  # what the WSGI server does once the page is written
    demo_db.expire_all()
    assert figures_state(demo_db).as_of == DEMO_TODAY


def test_the_refresh_button_recomputes_the_figures(demo_app, demo_db):
    demo_db.execute(text("UPDATE figures_run SET computed_at = now() - interval '1 hour'"))
    demo_db.execute(text("UPDATE dwelling SET occupancy = 'rented' WHERE id = 1"))
    demo_db.commit()
    client = log_in(demo_app, "officer1")
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "Refresh figures" in page
    assert client.post("/dashboard/figures/refresh").status_code == 400  # no CSRF token
    response = client.post("/dashboard/figures/refresh", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    demo_db.expire_all()
    assert _stored(demo_db) == _expected(demo_db)
    again = client.post("/dashboard/figures/refresh", data={"csrf_token": csrf_token_from(page)})
    assert "moments ago" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_registry_figures_refresh_computes_them_for_the_given_day(
    race_database, monkeypatch, tmp_path
):
    from registry.cli import main

    monkeypatch.setenv("DATABASE_URL", race_database)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["figures", "refresh", "--date", "2026-12-01"])
    assert result.exit_code == 0, result.output
    assert "figures as of 2026-12-01" in result.output
    engine = make_engine(race_database)
    with engine.connect() as connection:
        as_of = connection.execute(text("SELECT as_of FROM figures_run")).scalar_one()
    engine.dispose()
    assert as_of.isoformat() == "2026-12-01"


# -- refreshing off the request worker (real transactions: committing_app) -----------------


def _refreshed_in(monkeypatch, name: str) -> list:
    """Record the thread each refresh of ``registry.figures.web.<name>`` runs in."""
    import threading

    from registry.figures import web

    threads = []
    original = getattr(web, name)

    def recorded(session, *args, **kwargs):
        threads.append(threading.current_thread())
        return original(session, *args, **kwargs)

    monkeypatch.setattr(web, name, recorded)
    return threads


def _as_of(race_sessions):
    with race_sessions() as session:
        return figures_state(session)


def test_stale_figures_are_refreshed_in_a_thread_not_the_request_worker(
    committing_app, race_sessions, monkeypatch
):
    """The worker that sent the page is free again at once; a thread does the refresh."""
    import threading

    from registry.figures.web import refresher

    with race_sessions() as session:
        session.execute(
            text("UPDATE figures_run SET as_of = :day"), {"day": DEMO_TODAY - timedelta(days=1)}
        )
        session.commit()
    threads = _refreshed_in(monkeypatch, "refresh_if_stale")
    response = log_in(committing_app, "officer1").get("/dashboard/")
    assert response.status_code == 200
    response.close()  # what the WSGI server does once the page is written
    refresher(committing_app).wait()
    assert len(threads) == 1 and threads[0] is not threading.current_thread()
    assert _as_of(race_sessions).as_of == DEMO_TODAY


def test_the_refresh_button_hands_the_work_to_a_thread(committing_app, race_sessions, monkeypatch):
    import threading

    from registry.figures.web import refresher

    with race_sessions() as session:
        session.execute(text("UPDATE figures_run SET computed_at = now() - interval '1 hour'"))
        session.commit()
    before = _as_of(race_sessions).computed_at
    committing_app.config["FIGURES_MAX_AGE"] = 24 * 60  # the page alone refreshes nothing
    threads = _refreshed_in(monkeypatch, "refresh_on_request")
    client = log_in(committing_app, "officer1")
    page = client.get("/dashboard/").get_data(as_text=True)
    response = client.post("/dashboard/figures/refresh", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    refresher(committing_app).wait()
    assert len(threads) == 1 and threads[0] is not threading.current_thread()
    assert _as_of(race_sessions).computed_at > before
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The figures are being computed again; reload the page in a moment." in shown
