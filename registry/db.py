"""Engine, sessions and the declarative base shared by every model.

Services receive a session and only flush; the boundary (end of a web request, a CLI
command, a test) commits once, so one user action is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import Enum

from sqlalchemy import DateTime, Integer, MetaData, create_engine, func
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    declared_attr,
    mapped_column,
    sessionmaker,
)

from registry.config import engine_url

# Named constraints keep Alembic migrations reproducible on every server.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SRID = 4326
# ``session.info`` entry holding the deployment's settings a session needs (the audit key);
# own_transaction() hands it on, so a side transaction works like its caller's.
SESSION_SETTINGS = "registry.settings"


class Base(DeclarativeBase):
    """Declarative base with the project's constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """When a row was created and last changed, set by the server clock."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class VersionedMixin:
    """An edit counter: a save based on a stale version fails instead of overwriting.

    SQLAlchemy adds ``AND version = :seen`` to every UPDATE and raises StaleDataError when
    no row matched, which the web layer turns into the conflict page.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.__table__.c.version}


def enum_type(enum_class: type[Enum], name: str) -> SqlEnum:
    """A VARCHAR with a CHECK of the enum's values: portable and easy to extend later."""
    return SqlEnum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_class),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def make_engine(url: str, **options) -> Engine:
    """An engine for ``url`` with pre-ping so a restarted server does not break the app.

    Every engine of the app, the CLI, the migrations and the tests is made here, so a plain
    ``postgresql://`` URL is given the registry's driver in this one place.
    """
    return create_engine(engine_url(url), pool_pre_ping=True, future=True, **options)


def make_session_factory(engine: Engine, **settings) -> sessionmaker[Session]:
    """Sessions on ``engine`` that carry ``settings`` (``audit_key``) in their ``info``."""
    return sessionmaker(
        bind=engine, expire_on_commit=False, future=True, info={SESSION_SETTINGS: settings}
    )


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work for a CLI command: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def own_transaction(session: Session) -> Iterator[Session]:
    """A short transaction of its own beside ``session``'s, committed when the block ends.

    For bookkeeping that must outlive the caller's rollback (the entry of a refused
    reveal): it runs on another connection from the same engine and commits at once, so
    it neither waits for the caller's transaction nor goes down with it. A session bound
    to one connection (the tests' rolled-back transaction) gets a savepoint on that
    connection instead, so tests stay isolated.
    """
    own = Session(
        bind=session.get_bind(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        info={SESSION_SETTINGS: session.info.get(SESSION_SETTINGS, {})},
    )
    with own, own.begin():
        yield own
