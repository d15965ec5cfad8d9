"""Reading and switching the registry's settings (administrators only), audited."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from registry.accounts.models import Role, UserAccount
from registry.audit.services import Action, record
from registry.errors import NotFound
from registry.setting.models import DEFAULTS, RegistrySetting


def setting_sql(key: str) -> ColumnElement[bool]:
    """The setting as an SQL expression, so that a status definition can read it in the
    same statement (and every query built on it honours the switch at once)."""
    return func.coalesce(
        select(RegistrySetting.enabled).where(RegistrySetting.key == key).scalar_subquery(),
        literal(DEFAULTS[key]),
    )


def setting_enabled(session: Session, key: str) -> bool:
    value = session.scalar(select(RegistrySetting.enabled).where(RegistrySetting.key == key))
    return DEFAULTS[key] if value is None else bool(value)


def set_setting(session: Session, actor: UserAccount, key: str, enabled: bool) -> bool:
    """Switch a setting; returns whether it changed. Administrators only."""
    if actor is None or actor.role != Role.ADMIN or key not in DEFAULTS:
        raise NotFound()
    before = setting_enabled(session, key)
    if before == enabled:
        return False
    values = {"enabled": enabled, "changed_at": func.now(), "changed_by_id": actor.id}
    session.execute(
        insert(RegistrySetting)
        .values(key=key, **values)
        .on_conflict_do_update(index_elements=[RegistrySetting.key], set_=values)
    )
    record(session, actor, Action.UPDATE, "setting", key, {key: [before, enabled]})
    return True
