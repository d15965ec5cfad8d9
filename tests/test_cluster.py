"""The embedded cluster: init, idempotent start/stop, plain status, clear install messages."""

import shutil
import socket
import tempfile
from pathlib import Path

import psycopg2
import pytest

from registry import cluster as cluster_module
from registry.cluster import ClusterError, EmbeddedCluster
from registry.config import SetupError
from registry.extensions import REQUIRED_EXTENSIONS, create_extensions


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    folder = Path(tempfile.mkdtemp(prefix="registry-cluster-test-", dir="/tmp"))
    folder.chmod(0o755)
    instance = EmbeddedCluster(folder / "pg", _free_port(), folder, tuned_for_tests=True)
    assert instance.init() is True
    yield instance
    instance.destroy()
    shutil.rmtree(folder, ignore_errors=True)


def test_init_creates_database_with_its_extensions_reachable_by_socket_and_tcp(cluster):
    assert cluster.init() is False  # second init changes nothing
    for host in (str(cluster.socket_dir), "127.0.0.1"):
        connection = psycopg2.connect(
            host=host,
            port=cluster.port,
            user="registry",
            password=cluster.password,
            dbname="registry",
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT extname FROM pg_extension ORDER BY 1")
            assert set(REQUIRED_EXTENSIONS) <= {row[0] for row in cursor.fetchall()}
        connection.close()


def test_init_of_an_existing_cluster_creates_a_dropped_database_again(cluster):
    connection = psycopg2.connect(
        host="127.0.0.1",
        port=cluster.port,
        user="registry",
        password=cluster.password,
        dbname="postgres",
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute('DROP DATABASE "registry"')
    assert cluster.init() is False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = 'registry'")
        assert cursor.fetchone() is not None
    connection.close()
    recreated = psycopg2.connect(
        host="127.0.0.1",
        port=cluster.port,
        user="registry",
        password=cluster.password,
        dbname="registry",
    )
    with recreated.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension")
        assert set(REQUIRED_EXTENSIONS) <= {row[0] for row in cursor.fetchall()}
    recreated.close()


def test_wrong_password_is_refused(cluster):
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(
            host="127.0.0.1",
            port=cluster.port,
            user="registry",
            password="wrong",
            dbname="registry",
        )


def test_password_file_is_private(cluster):
    assert (cluster.password_folder / "database_password").stat().st_mode & 0o777 == 0o600


def test_start_and_stop_are_idempotent_and_status_says_so(cluster):
    assert cluster.start().startswith("already running")
    assert "running" in cluster.status() and str(cluster.port) in cluster.status()
    assert cluster.stop() == "stopped"
    assert cluster.stop() == "not running"
    assert "stopped" in cluster.status()
    assert cluster.start().startswith("started")
    assert cluster.is_running()


def test_uninitialised_folder_is_reported_plainly(tmp_path):
    empty = EmbeddedCluster(tmp_path / "none", 1, tmp_path)
    assert "registry db init" in empty.status()
    with pytest.raises(ClusterError, match="registry db init"):
        empty.start()


def test_missing_postgresql_names_the_package(monkeypatch):
    monkeypatch.setattr(cluster_module.glob, "glob", lambda pattern: [])
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ClusterError, match="apt-get install postgresql"):
        cluster_module.find_server_binaries()


def test_missing_postgis_names_the_package():
    class NoPostgis:
        """A cursor on a server whose PostGIS package is not installed."""

        def execute(self, sql, params=None):
            assert "CREATE" not in sql

        def fetchone(self):
            return ("registry", "registry", [], ["pg_trgm", "btree_gist"], "150004")

    with pytest.raises(SetupError, match="postgresql-15-postgis-3"):
        create_extensions(NoPostgis())


def test_port_taken_says_so_with_the_server_log(cluster):
    folder = Path(tempfile.mkdtemp(prefix="registry-clash-", dir="/tmp"))
    folder.chmod(0o755)
    clash = EmbeddedCluster(folder / "pg", cluster.port, folder, tuned_for_tests=True)
    try:
        with pytest.raises(ClusterError, match="REGISTRY_PG_PORT"):
            clash.init()
    finally:
        clash.destroy()
        shutil.rmtree(folder, ignore_errors=True)


def test_data_folder_the_server_account_cannot_reach_is_explained(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    unreachable = EmbeddedCluster(private / "pg", _free_port(), private)
    if not unreachable.runs_as_other_account:
        pytest.skip("only root hands the server to the postgres account")
    with pytest.raises(ClusterError, match="REGISTRY_PGDATA"):
        unreachable.init()
