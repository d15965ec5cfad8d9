"""The embedded PostgreSQL + PostGIS cluster that a fresh checkout runs on.

The cluster lives in a data folder of the project, listens on a unix socket in that folder
and on a loopback port, and is only used when ``DATABASE_URL`` is not set. PostgreSQL
refuses to run as root, so when root starts it every server command runs as Debian's
unprivileged ``postgres`` account; anyone else runs it as themselves.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from registry.config import SetupError, read_or_create_secret
from registry.extensions import REQUIRED_EXTENSIONS, create_extensions

__all__ = ["REQUIRED_EXTENSIONS", "ClusterError", "EmbeddedCluster", "embedded_cluster"]

SERVER_ACCOUNT = "postgres"
ROLE_NAME = "registry"
DATABASE_NAME = "registry"
# A unix socket path longer than this is refused by the kernel (sun_path is 108 bytes).
MAX_SOCKET_PATH = 100
INSTALL_HINT = (
    "PostgreSQL is not installed. Install it with: "
    "apt-get install postgresql postgresql-15-postgis-3 (or run ./bootstrap.sh)"
)


class ClusterError(SetupError):
    """A problem with the embedded cluster, phrased for the person at the terminal."""


def find_server_binaries() -> Path:
    """Return the folder holding initdb/pg_ctl/postgres of the newest installed PostgreSQL."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: int(Path(path).parent.name) if Path(path).parent.name.isdigit() else 0,
    )
    for folder in reversed(candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return Path(initdb).parent
    raise ClusterError(INSTALL_HINT)


def _server_major(bindir: Path) -> str:
    output = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return output.split()[-1].split(".")[0]


@dataclass
class EmbeddedCluster:
    """A project-local cluster in ``data_dir``, reached through ``password_folder``'s secret."""

    data_dir: Path
    port: int
    password_folder: Path
    tuned_for_tests: bool = False

    # -- identity and addresses -------------------------------------------------------

    @property
    def runs_as_other_account(self) -> bool:
        return os.geteuid() == 0

    @property
    def socket_dir(self) -> Path | None:
        """The data folder, unless its socket path would be too long for the kernel."""
        socket_path = self.data_dir / f".s.PGSQL.{self.port}"
        return self.data_dir if len(str(socket_path)) <= MAX_SOCKET_PATH else None

    @property
    def password(self) -> str:
        import secrets

        return read_or_create_secret(
            self.password_folder, "database_password", lambda: secrets.token_hex(24)
        )

    def url(self, database: str = DATABASE_NAME) -> str:
        """SQLAlchemy URL of ``database`` in this cluster, over the socket when there is one."""
        host = quote(str(self.socket_dir)) if self.socket_dir else "127.0.0.1"
        return (
            f"postgresql+psycopg2://{ROLE_NAME}:{quote(self.password)}@/{database}"
            f"?host={host}&port={self.port}"
        )

    def libpq_environment(self, database: str = DATABASE_NAME) -> dict[str, str]:
        """Environment variables that point psql and friends at this cluster."""
        return {
            **os.environ,
            "PGHOST": str(self.socket_dir or "127.0.0.1"),
            "PGPORT": str(self.port),
            "PGUSER": ROLE_NAME,
            "PGPASSWORD": self.password,
            "PGDATABASE": database,
        }

    # -- running server commands ------------------------------------------------------

    def _as_server_account(self, command: list[str]) -> list[str]:
        if not self.runs_as_other_account:
            return command
        try:
            pwd.getpwnam(SERVER_ACCOUNT)
        except KeyError as error:
            raise ClusterError(
                "Running as root, but there is no 'postgres' account to run the server as. "
                "Install the postgresql package, which creates it."
            ) from error
        return ["runuser", "-u", SERVER_ACCOUNT, "--", *command]

    def _run(self, command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self._as_server_account(command), capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise ClusterError(f"{Path(command[0]).name} failed:\n{result.stderr.strip()}")
        return result

    def _give_to_server_account(self, path: Path) -> None:
        if self.runs_as_other_account:
            account = pwd.getpwnam(SERVER_ACCOUNT)
            os.chown(path, account.pw_uid, account.pw_gid)

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.initialised:
            return False
        bindir = find_server_binaries()
        result = self._run([str(bindir / "pg_ctl"), "-D", str(self.data_dir), "status"], False)
        return result.returncode == 0

    def init(self) -> bool:
        """Create the cluster, its role and database with its extensions; False if it existed.

        An existing cluster is started and its database (and extensions) created again if
        someone dropped it, so ``registry db init`` always ends with a usable database.
        """
        bindir = find_server_binaries()
        if self.initialised:
            self.start()
            self._create_database(bindir)
            return False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self._give_to_server_account(self.data_dir)
        self._check_reachable_by_server_account()
        with tempfile.NamedTemporaryFile("w", delete=False, dir=self.data_dir.parent) as pwfile:
            pwfile.write(self.password + "\n")
        self._give_to_server_account(Path(pwfile.name))
        try:
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "--username",
                    ROLE_NAME,
                    "--pwfile",
                    pwfile.name,
                    "--auth",
                    "scram-sha-256",
                    "--encoding",
                    "UTF8",
                    "--locale",
                    "C.UTF-8",
                ]
            )
        finally:
            Path(pwfile.name).unlink(missing_ok=True)
        self._write_server_settings()
        self.start()
        self._create_database(bindir)
        return True

    def _check_reachable_by_server_account(self) -> None:
        if not self.runs_as_other_account:
            return
        result = self._run(["test", "-w", str(self.data_dir)], check=False)
        if result.returncode != 0:
            raise ClusterError(
                f"The 'postgres' account cannot reach {self.data_dir}: a parent folder is not "
                "readable by others. Set REGISTRY_PGDATA to a folder it can reach."
            )

    def _write_server_settings(self) -> None:
        socket_dir = self.socket_dir
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{socket_dir}'" if socket_dir else "''",
            "max_connections": "100",
            "shared_buffers": "'256MB'",
            "maintenance_work_mem": "'256MB'",
            "max_wal_size": "'4GB'",
            "logging_collector": "off",
            # JIT compilation costs more than it saves on the dashboard's aggregates.
            "jit": "off",
        }
        if self.tuned_for_tests:
            # Test clusters are thrown away: durability buys nothing there.
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        lines = [f"{key} = {value}" for key, value in settings.items()]
        config = self.data_dir / "postgresql.auto.conf"
        existing = self._run(["cat", str(config)]).stdout
        content = existing + "\n# written by registry db init\n" + "\n".join(lines) + "\n"
        process = subprocess.run(
            self._as_server_account(["sh", "-c", 'cat > "$0"', str(config)]),
            input=content,
            text=True,
            capture_output=True,
            check=False,
        )
        if process.returncode != 0:
            raise ClusterError(f"Could not write {config}: {process.stderr.strip()}")

    def _create_database(self, bindir: Path) -> None:
        import psycopg2

        connection = psycopg2.connect(**self._connect_arguments("postgres"))
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}" OWNER "{ROLE_NAME}"')
        connection.close()
        self.ensure_extensions(DATABASE_NAME, major=_server_major(bindir))

    def _connect_arguments(self, database: str) -> dict[str, str | int]:
        return {
            "host": str(self.socket_dir or "127.0.0.1"),
            "port": self.port,
            "user": ROLE_NAME,
            "password": self.password,
            "dbname": database,
        }

    def ensure_extensions(self, database: str, major: str = "") -> None:
        """Create REQUIRED_EXTENSIONS in ``database``, naming the package when one is missing."""
        import psycopg2

        connection = psycopg2.connect(**self._connect_arguments(database))
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                create_extensions(cursor, major)
        finally:
            connection.close()

    def start(self) -> str:
        """Start the server unless it runs already; say what happened."""
        if not self.initialised:
            raise ClusterError(f"No cluster in {self.data_dir}: run `registry db init` first.")
        if self.is_running():
            return f"already running: {self.where()}"
        bindir = find_server_binaries()
        log_file = self.data_dir / "server.log"
        command = [str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(log_file)]
        result = self._run([*command, "-w", "-t", "120", "start"], check=False)
        if result.returncode != 0:
            log_tail = self._run(["tail", "-n", "5", str(log_file)], check=False).stdout
            raise ClusterError(
                f"The database server did not start ({self.where()}).\n{log_tail.strip()}\n"
                "If the port is taken, set REGISTRY_PG_PORT to a free one."
            )
        return f"started: {self.where()}"

    def stop(self) -> str:
        """Stop the server if it runs; say what happened."""
        if not self.is_running():
            return "not running"
        bindir = find_server_binaries()
        self._run([str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        return "stopped"

    def where(self) -> str:
        socket = f"socket in {self.socket_dir}, " if self.socket_dir else ""
        return f"{socket}127.0.0.1:{self.port}, data in {self.data_dir}"

    def status(self) -> str:
        """One plain sentence on what runs where."""
        if not self.initialised:
            return f"no embedded cluster in {self.data_dir} (run `registry db init`)"
        if self.is_running():
            return f"embedded cluster running: {self.where()}"
        return f"embedded cluster stopped (data in {self.data_dir}); `registry db start` starts it"

    def destroy(self) -> None:
        """Stop the server and remove its data folder (test clusters only)."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def embedded_cluster(settings) -> EmbeddedCluster:
    """The project's own cluster, in ``REGISTRY_PGDATA`` or the instance folder."""
    data_dir = os.environ.get("REGISTRY_PGDATA")
    return EmbeddedCluster(
        data_dir=Path(data_dir).resolve() if data_dir else settings.instance_path / "postgres",
        port=settings.embedded_port,
        password_folder=settings.instance_path,
    )
