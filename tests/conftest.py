"""Test session: one real PostGIS server, a migrated template database, a database per worker.

The controlling process starts a throw-away embedded cluster in a temporary folder (or uses
``TEST_DATABASE_URL`` / ``DATABASE_URL`` when given: a server where the role may create
databases), migrates a template database once, and hands its address to the pytest-xdist
workers through the environment. Each worker copies the template into its own database,
and each test runs inside a transaction that is rolled back (warehouse's conftest).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, LiveServer, watch_page
from helpers import AUDIT_KEY_VARIABLE, DEMO_TODAY, account, log_in, session_info
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

import registry.models  # noqa: F401  (every mapper, whichever worker builds the demo)
from registry import migrate
from registry.config import engine_url
from registry.db import make_engine

SERVER_URL_VARIABLE = "REGISTRY_TEST_SERVER_URL"
TEMPLATE_DATABASE = "registry_test_template"
DATA_KEY_VARIABLE = "REGISTRY_TEST_DATA_KEY"

_cluster = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_test_cluster() -> str:
    """Start a fresh cluster in a temporary folder and return its maintenance URL."""
    from registry.cluster import EmbeddedCluster

    global _cluster
    folder = Path(tempfile.mkdtemp(prefix="registry-test-", dir="/tmp"))
    folder.chmod(0o755)  # the server account must reach its data folder inside
    _cluster = EmbeddedCluster(
        data_dir=folder / "pg", port=_free_port(), password_folder=folder, tuned_for_tests=True
    )
    _cluster.init()
    return _cluster.url("postgres")


def database_url_named(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def recreate_database(server_url: str, name: str, template: str | None = None) -> str:
    """Drop and create database ``name`` (from ``template`` if given); return its URL."""
    engine = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        suffix = f' TEMPLATE "{template}"' if template else ""
        connection.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    engine.dispose()
    return database_url_named(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    engine = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def pytest_configure(config: pytest.Config) -> None:
    # Every process (controller and xdist workers) hashes passwords cheaply: production's
    # argon2 cost would make each log-in of the suite take most of a second. The
    # production parameters have a test of their own (tests/test_accounts.py).
    from argon2 import profiles

    from registry.accounts.passwords import use_parameters

    use_parameters(profiles.CHEAPEST)
    if hasattr(config, "workerinput"):
        return  # a worker: the controller prepared the server already
    given = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    server_url = engine_url(given) if given else _start_test_cluster()
    template_url = recreate_database(server_url, TEMPLATE_DATABASE)
    engine = make_engine(template_url)
    migrate.upgrade(engine)
    engine.dispose()
    os.environ[SERVER_URL_VARIABLE] = server_url
    from registry.person.identity import generate_data_key

    os.environ[DATA_KEY_VARIABLE] = generate_data_key()
    os.environ[AUDIT_KEY_VARIABLE] = generate_data_key()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _cluster is not None:
        _cluster.destroy()
        shutil.rmtree(_cluster.password_folder, ignore_errors=True)


@pytest.fixture(scope="session")
def server_url() -> str:
    return os.environ[SERVER_URL_VARIABLE]


@pytest.fixture(scope="session")
def worker_name(request: pytest.FixtureRequest) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def data_key() -> str:
    return os.environ[DATA_KEY_VARIABLE]


@pytest.fixture(scope="session")
def audit_key() -> str:
    """The audit chain's key for this test session (config form)."""
    return os.environ[AUDIT_KEY_VARIABLE]


@pytest.fixture(scope="session")
def database_url(server_url: str, worker_name: str) -> Iterator[str]:
    """This worker's own copy of the migrated template database."""
    name = f"registry_test_{worker_name}"
    url = recreate_database(server_url, name, template=TEMPLATE_DATABASE)
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine):
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        if transaction.is_active:
            transaction.rollback()


def _savepoint_session(connection) -> Iterator[Session]:
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", info=session_info()
    )
    yield session
    session.close()


@pytest.fixture
def session(connection) -> Iterator[Session]:
    """An ORM session whose commits become savepoints of the test's outer transaction."""
    yield from _savepoint_session(connection)


@pytest.fixture
def scratch_database(server_url: str, worker_name: str) -> Iterator[str]:
    """An empty database (no schema) for migration tests; dropped afterwards."""
    name = f"registry_scratch_{worker_name}_{secrets.token_hex(3)}"
    url = recreate_database(server_url, name)
    yield url
    drop_database(server_url, name)


def _test_settings(database_url: str, data_key: str, instance_path):
    from registry.config import Settings

    return Settings(
        instance_path=instance_path,
        database_url=database_url,
        secret_key="test-secret-key",
        data_key=data_key,
        embedded_port=0,
        audit_key=os.environ[AUDIT_KEY_VARIABLE],
    )


def _app_on(connection, database_url: str, data_key: str, instance_path, **config):
    """The real app on ``database_url`` whose sessions are savepoints on ``connection``."""
    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", info=session_info()
    )
    return _app_with(factory, database_url, data_key, instance_path, **config)


def _app_with(factory, database_url: str, data_key: str, instance_path, **config):
    from registry.app import create_app

    settings = _test_settings(database_url, data_key, instance_path)
    return create_app(settings, session_factory=factory, TESTING=True, **config)


@pytest.fixture
def app(connection, database_url: str, data_key: str, tmp_path):
    """The real app on this worker's database, inside the test's rolled-back transaction."""
    return _app_on(connection, database_url, data_key, tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def demo_database(server_url: str, worker_name: str, data_key: str) -> Iterator[str]:
    """A migrated database holding the small demo district; tests must not commit to it."""
    from registry.demo.loader import load_demo

    name = f"registry_demo_{worker_name}"
    url = recreate_database(server_url, name, template=TEMPLATE_DATABASE)
    load_demo(url, data_key, "small", seed=7, today=DEMO_TODAY)
    yield url
    drop_database(server_url, name)


@pytest.fixture
def race_database(server_url: str, worker_name: str, demo_database: str) -> Iterator[str]:
    """A copy of the demo district that a test may commit to from several connections.

    Race tests need writers that really commit, concurrently, which the rolled-back
    transaction of the other fixtures cannot give; the copy is dropped afterwards.
    """
    name = f"registry_race_{worker_name}_{secrets.token_hex(3)}"
    url = recreate_database(server_url, name, template=make_url(demo_database).database)
    yield url
    drop_database(server_url, name)


@pytest.fixture
def race_sessions(race_database: str):
    """A session factory on ``race_database``: each session is its own connection."""
    from sqlalchemy.orm import sessionmaker

    engine = make_engine(race_database)
    yield sessionmaker(bind=engine, expire_on_commit=False, info=session_info())
    engine.dispose()


@pytest.fixture
def make_committing_app(race_database: str, data_key: str, tmp_path):
    """Make apps on one throw-away copy of the demo district whose requests really commit.

    Each call is another app with its own engine, as each worker process of a deployment
    is: what one keeps in memory, the others do not see.
    """
    from registry.db import make_session_factory

    engines = []

    def make():
        engine = make_engine(race_database)
        engines.append(engine)
        factory = make_session_factory(engine, audit_key=os.environ[AUDIT_KEY_VARIABLE])
        return _app_with(factory, race_database, data_key, tmp_path, REGISTRY_TODAY=DEMO_TODAY)

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def committing_app(make_committing_app):
    """The real app on a throw-away copy of the demo district; its requests really commit.

    For what only real transactions show: what a request commits or rolls back, and what a
    transaction of its own (registry.db.own_transaction) keeps while the request's work is
    rolled back. Inspect it with ``race_sessions``, which reads the same database.
    """
    return make_committing_app()


@pytest.fixture
def demo_connection(demo_database: str):
    """A connection to the demo district inside a transaction rolled back after the test."""
    engine = make_engine(demo_database)
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        if transaction.is_active:
            transaction.rollback()
    engine.dispose()


@pytest.fixture
def demo_app(demo_connection, demo_database: str, data_key: str, tmp_path):
    """The real app on the demo district, bound to the test's rolled-back transaction.

    Its "today" is pinned to the day the demo was generated for, so current and expired
    filings and stays are what the generator made them.
    """
    return _app_on(demo_connection, demo_database, data_key, tmp_path, REGISTRY_TODAY=DEMO_TODAY)


@pytest.fixture
def demo_session(demo_connection) -> Iterator[Session]:
    """A session on the demo district inside a transaction that is rolled back."""
    yield from _savepoint_session(demo_connection)


@pytest.fixture
def demo_db(demo_connection) -> Iterator[Session]:
    """A session on the same transaction as ``demo_app``, to arrange and inspect data."""
    yield from _savepoint_session(demo_connection)


@pytest.fixture
def admin_client(demo_app):
    """A client on ``demo_app`` logged in as the demo's administrator."""
    return log_in(demo_app, "admin")


@pytest.fixture
def worker(demo_session):
    """grid0001's account (works grid cell 1), for the service tests on ``demo_session``."""
    return account(demo_session, "grid0001")


@pytest.fixture
def cipher(data_key):
    """The identity cipher with this test session's data key."""
    from registry.person.identity import IdentityCipher

    return IdentityCipher(data_key)


# -- browser tests (see tests/browser.py) ----------------------------------------------------


def copy_of_demo(server_url: str, demo_database: str, name: str) -> str:
    """A new database ``name`` holding the demo district, for a server that commits."""
    return recreate_database(server_url, name, template=make_url(demo_database).database)


def serve_app(database_url: str, data_key: str, instance_path, **config) -> LiveServer:
    """The real app on ``database_url`` (committing, like production), served by a thread.

    Its "today" is the demo's day, as on ``demo_app``.
    """
    from registry.app import create_app

    settings = _test_settings(database_url, data_key, instance_path)
    return LiveServer(create_app(settings, REGISTRY_TODAY=DEMO_TODAY, **config))


def stop_serving(server: LiveServer) -> None:
    server.stop()
    server.app.extensions["registry.session_factory"].kw["bind"].dispose()


@pytest.fixture(scope="session")
def live_database(server_url: str, worker_name: str, demo_database: str) -> Iterator[str]:
    """A committed copy of the demo district that the shared live server runs on.

    Tests that change data use ``make_live_server`` on a database of their own instead.
    """
    name = f"registry_live_{worker_name}"
    url = copy_of_demo(server_url, demo_database, name)
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def live_server(live_database: str, data_key: str, tmp_path_factory) -> Iterator[LiveServer]:
    """The app on ``live_database``, served over HTTP on a loopback port."""
    server = serve_app(live_database, data_key, tmp_path_factory.mktemp("live-instance"))
    yield server
    stop_serving(server)


@pytest.fixture
def make_live_server(server_url, worker_name, demo_database, data_key, tmp_path):
    """Serve a fresh copy of the demo district (a test that writes keeps it to itself).

    Returns ``(server, database_url)``; both go away after the test.
    """
    made = []

    def make(**config) -> tuple[LiveServer, str]:
        name = f"registry_live_{worker_name}_{secrets.token_hex(3)}"
        url = copy_of_demo(server_url, demo_database, name)
        server = serve_app(url, data_key, tmp_path, **config)
        made.append((server, name))
        return server, url

    yield make
    for server, name in made:
        stop_serving(server)
        drop_database(server_url, name)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium under Playwright (never a downloaded browser)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: ./bootstrap.sh install installs it "
            "(apt-get install chromium fonts-noto-cjk)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, live_server):
    """Open watched pages: ``open_page(viewport=DESKTOP, server=live_server, **context)``.

    Each page has ``page.watch`` (tests/browser.py). When the test ends, every request that
    left the app, console error, script error or response of 400 or more on any of its
    pages fails it.
    """
    opened = []

    def open_(viewport=DESKTOP, server: LiveServer | None = None, **options):
        context = browser.new_context(viewport=viewport, **options)
        page, watch = watch_page(context, server or live_server)
        page.watch = watch
        opened.append((context, watch))
        return page

    yield open_
    problems = []
    for context, watch in opened:
        problems += watch.problems()
        context.close()
    assert not problems, "\n".join(problems)
