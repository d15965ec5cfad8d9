"""A transaction of its own: bookkeeping that stays when the request's work is rolled back."""

from __future__ import annotations

from sqlalchemy import select, update

from registry.accounts.models import UserAccount
from registry.db import own_transaction


def _values(factory, username: str):
    with factory() as session:
        return session.execute(
            select(UserAccount.display_name, UserAccount.failed_logins).where(
                UserAccount.username == username
            )
        ).one()


def test_own_transaction_is_kept_when_the_main_one_is_rolled_back(race_sessions):
    with race_sessions() as session:
        session.execute(
            update(UserAccount).where(UserAccount.username == "admin").values(display_name="lost")
        )
        # The bookkeeping touches another row: the main transaction holds admin's.
        with own_transaction(session) as bookkeeping:
            bookkeeping.execute(
                update(UserAccount)
                .where(UserAccount.username == "officer1")
                .values(failed_logins=UserAccount.failed_logins + 1)
            )
        session.rollback()
    assert _values(race_sessions, "admin").display_name != "lost"
    assert _values(race_sessions, "officer1").failed_logins == 1


def test_own_transaction_is_rolled_back_by_its_own_error(race_sessions):
    with race_sessions() as session:
        try:
            with own_transaction(session) as bookkeeping:
                bookkeeping.execute(
                    update(UserAccount)
                    .where(UserAccount.username == "officer1")
                    .values(failed_logins=9)
                )
                raise RuntimeError("interrupted")
        except RuntimeError:
            pass
    assert _values(race_sessions, "officer1").failed_logins == 0
