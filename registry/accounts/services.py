"""Accounts: creating users and checking their passwords."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.accounts.models import Role, UserAccount
from registry.accounts.passwords import hash_password, needs_rehash, verify_password

# Verifying against a real hash when the account does not exist keeps the response time
# the same, so a login form does not reveal which usernames exist.
_DUMMY_HASH = hash_password("registry-dummy-password")


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    police_station_id: int | None = None,
) -> UserAccount:
    """Create an account; the caller commits."""
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


def authenticate(session: Session, username: str, password: str) -> UserAccount | None:
    """The active account with this username and password, or None."""
    user = session.scalar(select(UserAccount).where(UserAccount.username == username.strip()))
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.last_login_at = datetime.now(UTC)
    return user


def get_user(session: Session, user_id: int) -> UserAccount | None:
    user = session.get(UserAccount, user_id)
    return user if user is not None and user.active else None
