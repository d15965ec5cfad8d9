"""`registry bench search`: look-ups, dashboards and the export at district scale, over HTTP.

The app runs under gunicorn (2 workers, as in production) on the loaded demo district.
Logged-in sessions (an officer, a grid worker, the administrator) send requests for 50
different real values of each kind, taken from the officer's jurisdiction and the worker's
cells. Beside each HTTP figure, the same service runs in this process twice: for the
user (with the scope filter) and for the administrator (the same query with no scope
filter), each in a transaction that is rolled back. Then 20 sessions send the same mix for
60 s at once, and the throughput and p95 are printed.
"""

from __future__ import annotations

import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import requests
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from registry.accounts.models import UserAccount
from registry.db import make_engine, make_session_factory, transaction
from registry.dwelling.models import Dwelling
from registry.person.identity import IdentityCipher

PASSWORD = "demo-2026"
OFFICER, WORKER, ADMIN = "officer1", "grid0001", "admin"
LOOKUP_TARGET_MS = 200
DASHBOARD_TARGET_MS = 300
MIX_TARGET_MS = 300
EXPECTED_DWELLINGS = {"small": 2_000, "medium": 40_000, "large": 500_000}


# -- the requests ---------------------------------------------------------------------------


@dataclass
class Kind:
    """One kind of request: who sends it, how, with which values, and its service call."""

    label: str
    user: str
    target_ms: int
    values: list[str]
    send: Callable[[UserSession, str], requests.Response]
    # service(session, actor, value) for the in-process comparison; None: no comparison.
    service: Callable | None = None
    unscoped_note: str = ""


@dataclass
class UserSession:
    """A logged-in browser: cookies, and the CSRF token of the user's session."""

    base: str
    username: str
    http: requests.Session = field(default_factory=requests.Session)
    token: str = ""

    def log_in(self) -> None:
        page = self.http.get(f"{self.base}/login?lang=en", timeout=60)
        answer = self.http.post(
            f"{self.base}/login",
            data={"username": self.username, "password": PASSWORD, "csrf_token": _token(page)},
            allow_redirects=False,
            timeout=60,
        )
        if answer.status_code != 302:
            raise RuntimeError(f"{self.username} could not log in ({answer.status_code})")
        landing = "/dashboard/lookup" if self.username != WORKER else "/cells/search"
        self.token = _token(self.http.get(f"{self.base}{landing}", timeout=60))


def _token(response: requests.Response) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.text)
    if not match:
        raise RuntimeError(f"no CSRF token on {response.url} ({response.status_code})")
    return match.group(1)


def _lookup(kind: str, document_type: str = "resident_id"):
    def send(user: UserSession, value: str) -> requests.Response:
        return user.http.post(
            f"{user.base}/dashboard/lookup",
            data={
                "kind": kind,
                "q": value,
                "document_type": document_type,
                "csrf_token": user.token,
            },
            timeout=120,
        )

    return send


def _grid_search(user: UserSession, value: str) -> requests.Response:
    return user.http.post(
        f"{user.base}/cells/search", data={"q": value, "csrf_token": user.token}, timeout=120
    )


def _get(path: str):
    def send(user: UserSession, _value: str) -> requests.Response:
        return user.http.get(f"{user.base}{path}", timeout=120)

    return send


# -- real values ----------------------------------------------------------------------------

_IN_STATION = """
    SELECT p.id, p.name, p.phone, p.document_type, p.document_ciphertext
      FROM person p
      JOIN residence r ON r.person_id = p.id
      JOIN dwelling d ON d.id = r.dwelling_id
      JOIN address a ON a.id = d.address_id
     WHERE a.community_id IN (SELECT id FROM community WHERE police_station_id = :station)
       AND r.moved_out IS NULL AND p.anonymised_at IS NULL
"""
_IN_CELLS = """
    SELECT p.id, p.name, p.phone, p.document_type, p.document_ciphertext
      FROM person p
      JOIN residence r ON r.person_id = p.id
      JOIN dwelling d ON d.id = r.dwelling_id
      JOIN address a ON a.id = d.address_id
     WHERE a.grid_cell_id IN (SELECT grid_cell_id FROM grid_cell_worker WHERE user_id = :user)
       AND r.moved_out IS NULL AND p.anonymised_at IS NULL
"""


def _distinct(session: Session, sql: str, params: dict, count: int) -> list[str]:
    """``count`` distinct values of the query's one column, in a fixed pseudo-random order."""
    rows = session.execute(
        text(f"SELECT v FROM (SELECT DISTINCT v FROM ({sql}) q) d ORDER BY md5(v) LIMIT :n"),
        params | {"n": count},
    )
    return [row[0] for row in rows]


def _people_values(session: Session, people_sql: str, params: dict, column: str, count: int):
    return _distinct(session, f"SELECT {column} AS v FROM ({people_sql}) people", params, count)


def _doors(session: Session, where: str, params: dict, count: int) -> list[str]:
    sql = f"""SELECT rd.name || a.door_number || '号' AS v
                FROM address a JOIN road rd ON rd.id = a.road_id
               WHERE a.door_number IS NOT NULL AND {where}"""
    return _distinct(session, sql, params, count)


def _document_numbers(
    session: Session, cipher: IdentityCipher, people_sql: str, params: dict, count: int
) -> list[str]:
    rows = session.execute(
        text(
            f"SELECT document_ciphertext FROM ({people_sql}) people "
            "WHERE document_type = 'resident_id' ORDER BY md5(id::text) LIMIT :n"
        ),
        params | {"n": count},
    )
    return [cipher.decrypt(bytes(row[0])) for row in rows]


@dataclass
class Values:
    names2: list[str]
    names3: list[str]
    phones: list[str]
    documents: list[str]
    doors: list[str]
    grid: list[str]


def real_values(session: Session, cipher: IdentityCipher, officer, worker, count: int) -> Values:
    """``count`` different real values of each kind, in the officer's and worker's scope."""
    station = {"station": officer.police_station_id}
    cells = {"user": worker.id}
    name_of_length = "SELECT name AS v FROM ({sql}) people WHERE char_length(name) = {n}"
    in_station_cells = (
        "a.community_id IN (SELECT id FROM community WHERE police_station_id = :station)"
    )
    in_worker_cells = (
        "a.grid_cell_id IN (SELECT grid_cell_id FROM grid_cell_worker WHERE user_id = :user)"
    )
    third = count // 3
    grid = (
        _people_values(session, _IN_CELLS, cells, "name", third)
        + _people_values(session, _IN_CELLS, cells, "phone", third)
        + _doors(session, in_worker_cells, cells, count - 2 * third)
    )
    return Values(
        names2=_distinct(session, name_of_length.format(sql=_IN_STATION, n=2), station, count),
        names3=_distinct(session, name_of_length.format(sql=_IN_STATION, n=3), station, count),
        phones=_people_values(session, _IN_STATION, station, "phone", count),
        documents=_document_numbers(session, cipher, _IN_STATION, station, count),
        doors=_doors(session, in_station_cells, station, count),
        grid=grid,
    )


# -- the in-process comparison ----------------------------------------------------------------


def _services(cipher: IdentityCipher, today: date, station_id: int):
    """(name → service(session, actor, value)) as the views call them."""
    from registry.dashboard import services as desk
    from registry.grid.search import search_cells
    from registry.validators import classify_query

    def people(session, actor, value):
        return desk.find_people(session, actor, cipher, value, today)

    def document(session, actor, value):
        return desk.find_person_by_document(session, actor, cipher, "resident_id", value, today)

    def dwellings(session, actor, value):
        return desk.find_dwellings_by_address(session, actor, value, today)

    def grid_search(session, actor, value):
        return search_cells(session, actor, cipher, classify_query(value))

    def dashboard(session, actor, _value):
        # The administrator narrowed to the officer's station: the same rows, no scope.
        station = station_id if actor.role == "admin" else None
        return desk.jurisdiction_dashboard(session, actor, today, station)

    def district(session, actor, _value):
        return desk.jurisdiction_dashboard(session, actor, today)

    return people, document, dwellings, grid_search, dashboard, district


def _service_ms(factory, actor_id: int, service, values: list[str]) -> list[float]:
    times = []
    for value in values:
        with factory() as session:
            actor = session.get(UserAccount, actor_id)
            started = time.perf_counter()
            service(session, actor, value)
            times.append((time.perf_counter() - started) * 1000)
            session.rollback()
    return times


# -- the server ------------------------------------------------------------------------------


def start_server(port: int, workers: int) -> subprocess.Popen:
    """gunicorn with the app factory, as a production deployment runs it."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        "--log-level",
        "warning",
        "registry.app:create_app()",
    ]
    server = subprocess.Popen(command, env=os.environ.copy(), start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped while starting (is port {port} free?)")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200:
                return server
        except requests.RequestException:
            pass  # not listening yet, or too busy to answer: ask again
        time.sleep(0.5)
    stop_server(server)
    raise RuntimeError(f"the app did not answer on port {port}")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


# -- figures ---------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (p95 of 50 values is the 48th smallest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


@dataclass
class KindResult:
    kind: Kind
    http: list[float]
    errors: int
    scoped: list[float] = field(default_factory=list)
    unscoped: list[float] = field(default_factory=list)


def _measure_http(user: UserSession, kind: Kind) -> tuple[list[float], int]:
    for value in kind.values[:3]:  # warm the workers' caches and connections
        kind.send(user, value)
    times, errors = [], 0
    for value in kind.values:
        started = time.perf_counter()
        response = kind.send(user, value)
        _ = response.content
        times.append((time.perf_counter() - started) * 1000)
        errors += response.status_code != 200
    return times, errors


def _mix(users: dict[str, UserSession], kinds: list[Kind], seconds: float, sessions: int):
    """``sessions`` threads, each its own logged-in session, sending the mix for ``seconds``."""
    results: list[tuple[str, float, int]] = []
    lock = threading.Lock()
    stop_at: list[float] = []
    # The barrier's action runs once, before any thread goes: every thread sees the end.
    start = threading.Barrier(
        sessions + 1, action=lambda: stop_at.append(time.perf_counter() + seconds)
    )

    def run(index: int) -> None:
        kind_rng = random.Random(index)
        own = {name: UserSession(user.base, name) for name, user in users.items()}
        for user in own.values():
            user.log_in()
        start.wait(timeout=900)  # a session that cannot log in breaks the barrier for all
        while time.perf_counter() < stop_at[0]:
            kind = kind_rng.choice(kinds)
            value = kind_rng.choice(kind.values)
            began = time.perf_counter()
            response = kind.send(own[kind.user], value)
            _ = response.content
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                results.append((kind.label, elapsed, response.status_code))

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(sessions)]
    for thread in threads:
        thread.start()
    start.wait(timeout=900)
    began = stop_at[0] - seconds
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - began


def run_search_benchmark(
    url: str,
    data_key: str,
    size: str,
    today: date,
    *,
    audit_key: str,
    port: int,
    workers: int = 2,
    samples: int = 50,
    sessions: int = 20,
    seconds: float = 60,
    echo: Callable[[str], None] = print,
) -> None:
    """Run the whole benchmark against the district loaded at ``url``; print as it goes."""
    from registry.figures.services import refresh_if_stale

    engine = make_engine(url)
    factory = make_session_factory(engine, audit_key=audit_key)  # services write view entries
    cipher = IdentityCipher(data_key)
    with transaction(factory) as session:
        dwellings = session.scalar(select(func.count()).select_from(Dwelling))
        people = session.scalar(text("SELECT count(*) FROM person"))
        if dwellings < EXPECTED_DWELLINGS[size] * 0.9:
            raise RuntimeError(
                f"the registry holds {dwellings:,} dwellings, not the {size} demo district: "
                f"load it first with `registry demo --size {size}`"
            )
        # Fresh figures, so that no dashboard request of the run pays for a refresh.
        refresh_if_stale(session, today)
    with factory() as session:
        officer = session.scalar(select(UserAccount).where(UserAccount.username == OFFICER))
        worker = session.scalar(select(UserAccount).where(UserAccount.username == WORKER))
        admin = session.scalar(select(UserAccount).where(UserAccount.username == ADMIN))
        values = real_values(session, cipher, officer, worker, samples)
        ids = {OFFICER: officer.id, WORKER: worker.id, ADMIN: admin.id}
        station_id = officer.police_station_id
    people_service, document, dwellings_service, grid_search, dashboard, district = _services(
        cipher, today, station_id
    )
    repeat = ["-"] * samples
    kinds = [
        Kind("look-up: name, 2 characters", OFFICER, LOOKUP_TARGET_MS, values.names2,
             _lookup("person"), people_service),
        Kind("look-up: name, 3 characters", OFFICER, LOOKUP_TARGET_MS, values.names3,
             _lookup("person"), people_service),
        Kind("look-up: phone", OFFICER, LOOKUP_TARGET_MS, values.phones,
             _lookup("person"), people_service),
        Kind("look-up: ID number", OFFICER, LOOKUP_TARGET_MS, values.documents,
             _lookup("document"), document),
        Kind("look-up: door number", OFFICER, LOOKUP_TARGET_MS, values.doors,
             _lookup("dwelling"), dwellings_service),
        Kind("grid worker's search", WORKER, LOOKUP_TARGET_MS, values.grid,
             _grid_search, grid_search),
        Kind("officer's dashboard", OFFICER, DASHBOARD_TARGET_MS, repeat,
             _get("/dashboard/"), dashboard),
        Kind("admin's dashboard (district)", ADMIN, DASHBOARD_TARGET_MS, repeat,
             _get("/dashboard/"), district, "the administrator has no scope filter"),
        Kind("admin's export (district XLSX)", ADMIN, DASHBOARD_TARGET_MS, repeat,
             _get("/dashboard/export.xlsx"), district, "the dashboard query of the export"),
    ]  # fmt: skip

    echo(
        f"registry bench search --size {size}: {dwellings:,} dwellings, {people:,} people, "
        f"today {today.isoformat()}"
    )
    echo(
        f"app: gunicorn, {workers} workers, 127.0.0.1:{port}; users {OFFICER} "
        f"(station {station_id}), {WORKER}, {ADMIN}; {samples} different real values per kind"
    )
    server = start_server(port, workers)
    # Stopped from outside (timeout, Ctrl-C), the server must not outlive the benchmark.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        base = f"http://127.0.0.1:{port}"
        users = {name: UserSession(base, name) for name in (OFFICER, WORKER, ADMIN)}
        for user in users.values():
            user.log_in()
        results = []
        for kind in kinds:
            times, errors = _measure_http(users[kind.user], kind)
            result = KindResult(kind, times, errors)
            if kind.service is not None:
                result.scoped = _service_ms(factory, ids[kind.user], kind.service, kind.values)
                if kind.user != ADMIN:
                    result.unscoped = _service_ms(factory, ids[ADMIN], kind.service, kind.values)
            results.append(result)
        _print_table(results, echo)
        echo(f"\n{sessions} concurrent sessions for {seconds:.0f} s over the same mix ...")
        mix, elapsed = _mix(users, kinds, seconds, sessions)
        _print_mix(mix, elapsed, echo)
    finally:
        stop_server(server)
        engine.dispose()


def _exit_on_signal(signum, _frame) -> None:
    raise SystemExit(128 + signum)


def _print_table(results: list[KindResult], echo) -> None:
    echo("")
    echo(
        f"{'request':<32}{'HTTP p50':>9}{'p95':>8}{'target':>8}{'':>3}"
        f"{'service p95':>12}{'no scope':>10}{'ratio':>7}   (ms)"
    )
    for result in results:
        p50, p95 = percentile(result.http, 0.5), percentile(result.http, 0.95)
        verdict = "ok" if p95 < result.kind.target_ms and not result.errors else "MISS"
        scoped = f"{percentile(result.scoped, 0.95):.1f}" if result.scoped else "-"
        unscoped = f"{percentile(result.unscoped, 0.95):.1f}" if result.unscoped else "-"
        ratio = (
            f"{percentile(result.scoped, 0.95) / percentile(result.unscoped, 0.95):.2f}"
            if result.scoped and result.unscoped
            else "-"
        )
        line = (
            f"{result.kind.label:<32}{p50:>9.1f}{p95:>8.1f}{'<' + str(result.kind.target_ms):>8}"
            f"{verdict:>5}{scoped:>10}{unscoped:>10}{ratio:>7}"
        )
        if result.errors:
            line += f"   {result.errors} answers were not 200"
        if result.kind.unscoped_note:
            line += f"   ({result.kind.unscoped_note})"
        echo(line)
    echo(
        "service p95: the same service in this process for the same user; no scope: for the "
        "administrator,\n  whose scope filter is none (the officer's dashboard: the district "
        "narrowed to the officer's station)"
    )


def _print_mix(mix: list[tuple[str, float, int]], elapsed: float, echo) -> None:
    times = [ms for _label, ms, _status in mix]
    errors = sum(status != 200 for _label, _ms, status in mix)
    if not times:
        echo("  no request finished")
        return
    p95 = percentile(times, 0.95)
    verdict = "ok" if p95 < MIX_TARGET_MS and not errors else "MISS"
    echo(
        f"  {len(times):,} requests in {elapsed:.1f} s: {len(times) / elapsed:.1f} requests/s, "
        f"p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
        f"(target < {MIX_TARGET_MS} ms: {verdict}), {errors} not 200"
    )
    by_kind: dict[str, list[float]] = {}
    for label, ms, _status in mix:
        by_kind.setdefault(label, []).append(ms)
    for label, values in by_kind.items():
        echo(
            f"    {label:<32}{len(values):>6} requests  p50 {statistics.median(values):8.1f}"
            f"  p95 {percentile(values, 0.95):8.1f}"
        )
