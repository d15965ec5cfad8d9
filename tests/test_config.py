"""Settings: the database URL every managed PostgreSQL hands out is accepted as it is."""

import pytest

from registry.config import SetupError, engine_url, load_settings


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgresql://user:p%40ss@db.example:5432/registry",
            "postgresql+psycopg2://user:p%40ss@db.example:5432/registry",
        ),
        (
            "postgres://user:pw@db.example/registry?sslmode=require",
            "postgresql+psycopg2://user:pw@db.example/registry?sslmode=require",
        ),
        (
            "postgresql+psycopg2://user:pw@/registry?host=/tmp",
            "postgresql+psycopg2://user:pw@/registry?host=/tmp",
        ),
    ],
)
def test_plain_postgresql_urls_use_the_installed_driver(given, expected):
    assert engine_url(given) == expected


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ("postgresql+psycopg://user:pw@host/db", "psycopg2"),
        ("mysql://user:pw@host/db", "PostgreSQL"),
        ("registry", "PostgreSQL"),
    ],
)
def test_other_drivers_and_servers_are_refused_in_one_sentence(given, named):
    with pytest.raises(SetupError, match=named):
        engine_url(given)


def test_settings_hold_the_url_in_the_form_the_engine_takes(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    settings = load_settings({"DATABASE_URL": "postgres://u:pw@host/db", "SECRET_KEY": "k"})
    assert settings.database_url == "postgresql+psycopg2://u:pw@host/db"
