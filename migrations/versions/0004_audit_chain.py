"""Audit log: keyed (HMAC) chain with a version per entry

Entries written so far were hashed with plain SHA-256; they keep chain version 1 and still
verify. New entries are written with version 2 (HMAC-SHA256 with the audit key kept in the
instance folder). The column has no default afterwards: every writer states its version.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The append-only trigger refuses UPDATE; ADD COLUMN with a default fills existing rows
    # without one.
    op.add_column(
        "audit_log",
        sa.Column("chain_version", sa.SmallInteger(), server_default="1", nullable=False),
    )
    op.alter_column("audit_log", "chain_version", server_default=None)
    op.create_check_constraint(
        op.f("ck_audit_log_chain_version_known"), "audit_log", "chain_version IN (1, 2)"
    )


def downgrade() -> None:
    # Keyed entries cannot be checked by the code of the previous revision.
    op.drop_constraint(op.f("ck_audit_log_chain_version_known"), "audit_log", type_="check")
    op.drop_column("audit_log", "chain_version")
