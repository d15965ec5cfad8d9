"""Core follow-ups: login throttle in the database, case-insensitive unique usernames

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from registry.migrate import stop_if_rows_break

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

USERNAME_UNIQUE_ANY_CASE = "uq_user_account_lower_username"
USERNAME_UNIQUE_EXACT = "uq_user_account_username"  # implied by the one above, so dropped

USERNAMES_DIFFERING_IN_CASE = (
    "user_account: usernames that differ only in upper and lower case "
    "(rename all but one account of each group)",
    """
    SELECT format('%s: ids %s', string_agg(username, ' / ' ORDER BY id),
                  string_agg(id::text, ', ' ORDER BY id))
    FROM user_account
    GROUP BY lower(username)
    HAVING count(*) > 1
    ORDER BY min(id)
    """,
)


def upgrade() -> None:
    stop_if_rows_break(op.get_bind(), revision, [USERNAMES_DIFFERING_IN_CASE])
    op.create_index(
        USERNAME_UNIQUE_ANY_CASE, "user_account", [sa.text("lower(username)")], unique=True
    )
    op.drop_constraint(USERNAME_UNIQUE_EXACT, "user_account", type_="unique")
    op.create_table(
        "login_failure",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_failure"),
    )
    op.create_index("ix_login_failure_key_failed_at", "login_failure", ["key", "failed_at"])
    op.create_index("ix_login_failure_failed_at", "login_failure", ["failed_at"])


def downgrade() -> None:
    op.drop_table("login_failure")
    op.create_unique_constraint(USERNAME_UNIQUE_EXACT, "user_account", ["username"])
    op.drop_index(USERNAME_UNIQUE_ANY_CASE, table_name="user_account")
