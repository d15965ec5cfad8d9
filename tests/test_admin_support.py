"""Fixtures and helpers for the admin journeys on the demo district (no tests here).

``demo_app`` is the real app bound to one connection of the demo database inside a
transaction that is rolled back after the test, like conftest's ``app`` fixture;
``demo_db`` is an ORM session on that same connection for looking at what the pages did.
"""

from __future__ import annotations

import html as html_lib
import re

import pytest
from helpers import csrf_token_from
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from registry.accounts.models import UserAccount
from registry.audit.models import AuditEntry
from registry.db import make_engine

DEMO_PASSWORD = "demo-2026"

# The fixtures, for test modules to take with ``from test_admin_support import *``.
__all__ = ["admin_client", "demo_app", "demo_connection", "demo_db"]


@pytest.fixture
def demo_connection(demo_database):
    engine = make_engine(demo_database)
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        if transaction.is_active:
            transaction.rollback()
    engine.dispose()


@pytest.fixture
def demo_app(demo_connection, demo_database, data_key, tmp_path):
    from registry.app import create_app
    from registry.config import Settings

    settings = Settings(
        instance_path=tmp_path,
        database_url=demo_database,
        secret_key="test-secret-key",
        data_key=data_key,
        embedded_port=0,
    )
    factory = sessionmaker(bind=demo_connection, join_transaction_mode="create_savepoint")
    return create_app(settings, session_factory=factory, TESTING=True)


@pytest.fixture
def demo_db(demo_connection):
    session = Session(bind=demo_connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()


def log_in(client, username: str, password: str = DEMO_PASSWORD, address: str | None = None):
    """Log in through the form (English pages); returns the POST response."""
    environ = {"REMOTE_ADDR": address} if address else None
    page = client.get("/login?lang=en", environ_overrides=environ)
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_overrides=environ,
    )


@pytest.fixture
def admin_client(demo_app):
    client = demo_app.test_client()
    response = log_in(client, "admin")
    assert response.status_code == 302
    return client


def token_of(client, url: str) -> str:
    return csrf_token_from(client.get(url).get_data(as_text=True))


def user_named(session: Session, username: str) -> UserAccount:
    session.expire_all()
    return session.scalar(select(UserAccount).where(UserAccount.username == username))


def audit_entries(session: Session, object_type: str, object_id, action: str | None = None):
    query = select(AuditEntry).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id)
    )
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query.order_by(AuditEntry.id)))


def field_errors(html: str, field_id: str) -> list[str]:
    """The error messages shown inside the form field that holds the element ``field_id``."""
    pattern = re.compile(
        r'<div class="field[^"]*has-error[^"]*">(?:(?!<div class="field).)*?id="'
        + re.escape(field_id)
        + r'"(?:(?!<div class="field).)*?((?:<p class="error">[^<]*</p>\s*)+)',
        re.S,
    )
    match = pattern.search(html)
    if not match:
        return []
    messages = re.findall(r'<p class="error">([^<]*)</p>', match.group(1))
    return [html_lib.unescape(message) for message in messages]
