"""Lease filings and pledges: one term per dwelling (EXCLUDE), one signature per signer and text (UNIQUE)

Revision ID: 0002
Revises: 0001
"""

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
