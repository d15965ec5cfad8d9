"""What the users tripped over, in the field: cancelled filings, filing on the landlord's behalf, requests to file, kept search results

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from registry.migrate import stop_if_rows_break

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

STATUS_CHECK = "ck_lease_filing_lease_status"


def upgrade() -> None:
    # A filing withdrawn before its term began: status 'cancelled', with a reason. The
    # status is a VARCHAR with a CHECK of its values (registry/db.py enum_type).
    op.drop_constraint(op.f(STATUS_CHECK), "lease_filing", type_="check")
    op.create_check_constraint(
        "lease_status", "lease_filing", "status IN ('filed', 'ended_early', 'cancelled')"
    )
    op.add_column("lease_filing", sa.Column("cancelled_reason", sa.String(200), nullable=True))
    op.add_column(
        "lease_filing",
        sa.Column(
            "filed_for_landlord", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    op.create_check_constraint(
        "cancelled_with_reason",
        "lease_filing",
        "(status = 'cancelled') = (cancelled_reason IS NOT NULL)",
    )
    op.create_table(
        "filing_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dwelling_id", sa.Integer(), sa.ForeignKey("dwelling.id"), nullable=False),
        sa.Column(
            "requested_by_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False
        ),
        sa.Column("note", sa.String(500), server_default="", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("lease_filing_id", sa.Integer(), sa.ForeignKey("lease_filing.id"), nullable=True),
    )
    op.create_index("ix_filing_request_dwelling_id", "filing_request", ["dwelling_id"])
    op.create_table(
        "kept_search",
        sa.Column("token_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("found", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_kept_search_user_id", "kept_search", ["user_id"])
    op.create_index("ix_kept_search_expires_at", "kept_search", ["expires_at"])


def downgrade() -> None:
    op.drop_table("kept_search")
    op.drop_table("filing_request")
    # The schema before this one has no place for a cancelled filing: stop rather than
    # lose them or make them count again.
    stop_if_rows_break(
        op.get_bind(),
        f"{revision} (downgrade)",
        [
            (
                "lease_filing: cancelled filings (the older schema cannot hold them)",
                "SELECT format('filing id %s', id) FROM lease_filing "
                "WHERE status = 'cancelled' ORDER BY id",
            )
        ],
    )
    op.drop_constraint(op.f("ck_lease_filing_cancelled_with_reason"), "lease_filing", type_="check")
    op.drop_column("lease_filing", "filed_for_landlord")
    op.drop_column("lease_filing", "cancelled_reason")
    op.drop_constraint(op.f(STATUS_CHECK), "lease_filing", type_="check")
    op.create_check_constraint(
        "lease_status", "lease_filing", "status IN ('filed', 'ended_early')"
    )
