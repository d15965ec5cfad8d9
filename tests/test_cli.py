"""The `registry` command against a real server given by DATABASE_URL."""

import secrets

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from registry import migrate
from registry.cli import main
from registry.db import make_engine
from registry.extensions import REQUIRED_EXTENSIONS


def test_status_with_database_url_reports_server_and_revision(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["db", "status"])
    assert result.exit_code == 0, result.output
    assert "DATABASE_URL is set" in result.output
    assert "PostGIS 3" in result.output
    assert f"schema revision {migrate.head_revision()}" in result.output


def test_secrets_are_generated_once_with_private_mode(monkeypatch, tmp_path, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("REGISTRY_DATA_KEY", raising=False)
    CliRunner().invoke(main, ["db", "status"])
    first = {name: (tmp_path / name).read_text() for name in ("secret_key", "data_key")}
    CliRunner().invoke(main, ["db", "status"])
    for name, value in first.items():
        assert (tmp_path / name).read_text() == value
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


def test_cluster_errors_are_one_line_not_a_traceback(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["db", "start"])
    assert result.exit_code != 0
    assert "registry db init" in result.output
    assert "Traceback" not in result.output


def test_init_and_demo_against_an_external_server(scratch_database, monkeypatch, tmp_path):
    """With DATABASE_URL set, init migrates that server and demo --if-empty loads it once."""
    monkeypatch.setenv("DATABASE_URL", scratch_database)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    runner = CliRunner()
    init = runner.invoke(main, ["db", "init"])
    assert init.exit_code == 0, init.output
    assert f"schema at revision {migrate.head_revision()}" in init.output
    first = runner.invoke(main, ["demo", "--size", "small", "--seed", "2", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "demo-2026" in first.output and "grid0001" in first.output
    again = runner.invoke(main, ["demo", "--size", "small", "--if-empty"])
    assert again.exit_code == 0 and "holds data already" in again.output


def test_first_administrator_is_created_from_the_command_line(
    scratch_database, monkeypatch, tmp_path
):
    from sqlalchemy import text

    from registry import migrate
    from registry.accounts.passwords import verify_password
    from registry.db import make_engine

    monkeypatch.setenv("DATABASE_URL", scratch_database)
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    engine = make_engine(scratch_database)
    migrate.upgrade(engine)
    runner = CliRunner()

    def create(username: str, password: str):
        return runner.invoke(main, ["user", "create-admin", username, "--password", password])

    short = create("chief", "short")
    assert short.exit_code != 0 and "password: At least 10 characters" in short.output
    made = runner.invoke(main, ["user", "create-admin", "chief"], input="a-long-secret\n" * 2)
    assert made.exit_code == 0, made.output
    # The administrators' own rules, as on the admin page.
    for username, password, refusal in (
        ("chief", "a-long-secret", "username: This username is taken"),
        ("CHIEF", "a-long-secret", "username: This username is taken"),
        ("chief two", "a-long-secret", "username: 3 to 50 letters, digits"),
        ("deputy-chief", "Deputy-Chief", "password: The password must not be the username"),
    ):
        refused = create(username, password)
        assert refused.exit_code != 0 and refusal in refused.output, refused.output
    with engine.connect() as connection:
        role, password_hash = connection.execute(
            text("SELECT role, password_hash FROM user_account WHERE username = 'chief'")
        ).one()
        audited = connection.execute(
            text("SELECT user_id, changes FROM audit_log WHERE object_type = 'user_account'")
        ).all()
    engine.dispose()
    assert role == "admin" and verify_password(password_hash, "a-long-secret")
    assert len(audited) == 1
    user_id, changes = audited[0]
    assert user_id is None and changes["via"] == [None, "cli"] and changes["role"][1] == "admin"


def _with_scheme(url: str, scheme: str) -> str:
    return scheme + "://" + url.split("://", 1)[1]


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_the_url_a_managed_server_hands_out_works_as_it_is(
    database_url, monkeypatch, tmp_path, scheme
):
    monkeypatch.setenv("DATABASE_URL", _with_scheme(database_url, scheme))
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["db", "status"])
    assert result.exit_code == 0, result.output
    assert f"schema revision {migrate.head_revision()}" in result.output


@pytest.fixture
def role_without_extension_rights(server_url, worker_name):
    """A login role that owns an empty database but may not create PostGIS, as on most
    managed servers; skipped when the test server's role may not create roles."""
    suffix = f"{worker_name}_{secrets.token_hex(3)}"
    role, database, password = f"limited_{suffix}", f"registry_limited_{suffix}", "pw-" + suffix
    engine = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        try:
            connection.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        except ProgrammingError:
            pytest.skip("the test server's role may not create roles")
        connection.execute(text(f'CREATE DATABASE "{database}" OWNER {role} TEMPLATE template0'))
    url = make_url(server_url).set(username=role, password=password, database=database)
    yield role, database, url.render_as_string(hide_password=False)
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
    engine.dispose()


def test_extensions_the_role_may_not_create_are_named_for_the_administrator(
    role_without_extension_rights, monkeypatch, tmp_path
):
    role, database, url = role_without_extension_rights
    monkeypatch.setenv("DATABASE_URL", _with_scheme(url, "postgresql"))
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    assert f'role "{role}" may not create' in result.output and database in result.output
    for extension in REQUIRED_EXTENSIONS:
        assert f"CREATE EXTENSION IF NOT EXISTS {extension};" in result.output
