"""Accounts: creating users, checking their passwords, recording log-ins, own passwords."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from registry.accounts.models import USERNAME_UNIQUE_ANY_CASE, Role, UserAccount
from registry.accounts.passwords import (
    hash_password,
    needs_rehash,
    new_password_errors,
    password_is_set,
    verify_against_nothing,
    verify_password,
)
from registry.audit.services import Action, record
from registry.constraints import refuse
from registry.db import own_transaction
from registry.errors import InvalidInput
from registry.validators import ValidationErrors

# Two administrators creating "Grid0100" and "grid0100" at once both pass the check in
# registry/admin/services.py; the index refuses the second, with the same words.
refuse(USERNAME_UNIQUE_ANY_CASE, "username", _l("This username is taken"))


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    police_station_id: int | None = None,
) -> UserAccount:
    """Create an account; the caller commits. Administrators use admin.services instead."""
    user = UserAccount(
        username=username.strip(),
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        role=role,
        police_station_id=police_station_id,
    )
    session.add(user)
    session.flush()
    return user


def _count_failure(session: Session, user: UserAccount) -> None:
    """One more wrong password for ``user``, kept even when the request is rolled back."""
    with own_transaction(session) as bookkeeping:
        _touch_login_columns(bookkeeping, user, failed_logins=UserAccount.failed_logins + 1)
    session.expire(user, ["failed_logins"])


def _touch_login_columns(session: Session, user: UserAccount, **values) -> None:
    """Update log-in bookkeeping without bumping the account's edit version.

    A bulk UPDATE skips the version counter on purpose: a user logging in must not turn an
    administrator's open edit form of that account into a conflict.
    """
    session.execute(update(UserAccount).where(UserAccount.id == user.id).values(**values))


def by_username(username: str):
    """The condition finding an account by its username typed in any case.

    Usernames are unique whatever their case, so "Grid0001" typed on a tablet that
    capitalises the first letter is the account grid0001; the unique index on
    lower(username) serves the look-up.
    """
    return func.lower(UserAccount.username) == func.lower((username or "").strip())


def authenticate(
    session: Session, username: str, password: str, client_address: str | None = None
) -> UserAccount | None:
    """The active account with this username and password, or None.

    A successful log-in is written to the audit log (with the client address). A wrong
    password is counted in a transaction of its own: the count must stay even when the
    request that refuses the log-in is rolled back (a 429 once the throttle steps in).
    """
    user = session.scalar(select(UserAccount).where(by_username(username)))
    if user is None or not user.active:
        verify_against_nothing(password)
        return None
    if not verify_password(user.password_hash, password):
        _count_failure(session, user)
        return None
    values: dict = {"failed_logins": 0, "last_login_at": datetime.now(UTC)}
    if needs_rehash(user.password_hash):
        values["password_hash"] = hash_password(password)
    previous_login = user.last_login_at
    _touch_login_columns(session, user, **values)
    record(
        session,
        user,
        Action.LOGIN,
        "user_account",
        user.id,
        {
            "last_login_at": [previous_login, user.last_login_at],
            "client_address": [None, client_address],
        },
    )
    return user


def get_user(session: Session, user_id: int) -> UserAccount | None:
    user = session.get(UserAccount, user_id)
    return user if user is not None and user.active else None


def change_own_password(
    session: Session,
    actor: UserAccount,
    current_password: str | None,
    password: str,
    password_again: str | None = None,
) -> None:
    """The user's own new password, given the current one; audited without either.

    The new one follows the same rules as one an administrator sets. A wrong current
    password counts as a failed log-in, so the form cannot be used to guess it.
    """
    errors = ValidationErrors()
    if not verify_password(actor.password_hash, current_password or ""):
        _count_failure(session, actor)
        errors.add("current_password", _l("This is not your current password"))
    new_password_errors(password, actor.username, password_again, errors)
    if errors.errors:
        raise InvalidInput(fields=errors.errors)
    store_new_password(session, actor, actor, password, "changed")


def store_new_password(
    session: Session, actor: UserAccount, user: UserAccount, password: str, how: str
) -> None:
    """Hash and keep ``user``'s checked new password; audited as ``how`` (never the password).

    Every session logged in with the old password ends on its next request (the session's
    credential mark no longer matches).
    """
    before = "set" if password_is_set(user.password_hash) else "not set"
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    session.flush()
    record(session, actor, Action.UPDATE, "user_account", user.id, {"password": [before, how]})
