"""Configuration from environment variables and the instance folder.

Secrets that are not given in the environment are generated once into the instance
folder (file mode 0600) so that a fresh checkout works without editing anything and no
secret is ever committed.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_FILE_MODE = 0o600
# The one PostgreSQL driver the registry is built and tested on: the demo loader streams
# COPY through it and constraint messages read its diagnostics.
DRIVER_SCHEME = "postgresql+psycopg2"
PLAIN_SCHEMES = ("postgresql", "postgres")


class SetupError(RuntimeError):
    """A problem with the deployment's setup, phrased for the person at the terminal."""


def engine_url(url: str) -> str:
    """A database URL as the registry's engines take it: plain schemes get the driver.

    Managed PostgreSQL services hand out ``postgresql://user:pass@host/db`` (older ones
    ``postgres://``). SQLAlchemy 2.1 maps the plain scheme to psycopg 3, which is not
    installed, so every command would crash; the registry names its driver instead. The
    app, the CLI, Alembic and the tests' TEST_DATABASE_URL all come through here.
    """
    scheme, separator, rest = url.partition("://")
    if separator and scheme in PLAIN_SCHEMES:
        return f"{DRIVER_SCHEME}://{rest}"
    if separator and scheme == DRIVER_SCHEME:
        return url
    if separator and scheme.startswith("postgresql+"):
        raise SetupError(
            f"The registry connects to PostgreSQL through psycopg2, not {scheme[11:]}: "
            "write the database URL as postgresql://user:password@host/database."
        )
    raise SetupError(
        "The database URL must point to a PostgreSQL server with PostGIS, written as "
        "postgresql://user:password@host/database."
    )


def instance_path() -> Path:
    """The instance folder: ``REGISTRY_INSTANCE_PATH`` or ``instance/`` beside the package."""
    configured = os.environ.get("REGISTRY_INSTANCE_PATH")
    return Path(configured).resolve() if configured else PROJECT_ROOT / "instance"


def read_or_create_secret(folder: Path, name: str, make: callable) -> str:
    """Return the secret stored in ``folder/name``, creating it (mode 0600) on first use."""
    path = folder / name
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    folder.mkdir(parents=True, exist_ok=True)
    value = make()
    # O_EXCL: two processes starting at once must not overwrite each other's secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_FILE_MODE)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return value


def _random_token() -> str:
    return secrets.token_urlsafe(48)


def _random_data_key() -> str:
    from registry.person.identity import generate_data_key

    return generate_data_key()


@dataclass(frozen=True)
class Settings:
    """Everything the app, the CLI and the tests need to know about their environment."""

    instance_path: Path
    database_url: str | None
    secret_key: str
    data_key: str
    embedded_port: int
    audit_key: str


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    folder = instance_path()
    secret_key = env.get("SECRET_KEY") or read_or_create_secret(folder, "secret_key", _random_token)
    data_key = env.get("REGISTRY_DATA_KEY") or read_or_create_secret(
        folder, "data_key", _random_data_key
    )
    # The audit chain's HMAC key: same form as the data key, but a key of its own.
    audit_key = env.get("REGISTRY_AUDIT_KEY") or read_or_create_secret(
        folder, "audit_key", _random_data_key
    )
    from registry.audit.chain import audit_key_bytes

    audit_key_bytes(audit_key)  # a malformed REGISTRY_AUDIT_KEY fails here, not at a commit
    return Settings(
        instance_path=folder,
        database_url=engine_url(env["DATABASE_URL"]) if env.get("DATABASE_URL") else None,
        secret_key=secret_key,
        data_key=data_key,
        embedded_port=int(env.get("REGISTRY_PG_PORT", "54329")),
        audit_key=audit_key,
    )
