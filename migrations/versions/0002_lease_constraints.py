"""Lease filings and pledges: one term per dwelling (EXCLUDE), one signature per signer and text (UNIQUE)

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from registry.migrate import stop_if_rows_break

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PLEDGE_TABLES = ("rental_pledge", "security_guarantee")

# The term, both days included: [starts_on, ends_on], or [starts_on, ended_on] when ended
# early (registry/lease/models.py, TERM_SQL). A cancelled filing holds no term.
TERM = "daterange(starts_on, coalesce(ended_on, ends_on), '[]')"
HOLDS_TERM = "status <> 'cancelled'"
ONE_TERM = "ex_lease_filing_one_term_at_a_time"


def _signed_twice(table: str) -> tuple[str, str]:
    return (
        f"{table}: one signer signed the same text of a filing's pledge more than once "
        "(keep one id of each group)",
        f"""
        SELECT format('filing %s, signer person %s, text %s: ids %s', lease_filing_id,
                      signer_person_id, pledge_document_id,
                      string_agg(id::text, ', ' ORDER BY id))
        FROM {table}
        GROUP BY lease_filing_id, signer_person_id, pledge_document_id
        HAVING count(*) > 1
        ORDER BY min(id)
        """,
    )


OVERLAPPING_TERMS = (
    "lease_filing: two filings of one dwelling whose terms share days "
    "(correct a term, or end the earlier one the day before the later one starts)",
    f"""
    SELECT format('dwelling %s: filing ids %s (%s to %s) and %s (%s to %s)', a.dwelling_id,
                  a.id, a.starts_on, coalesce(a.ended_on, a.ends_on),
                  b.id, b.starts_on, coalesce(b.ended_on, b.ends_on))
    FROM lease_filing a
    JOIN lease_filing b ON b.dwelling_id = a.dwelling_id AND b.id > a.id
    WHERE a.{HOLDS_TERM} AND b.{HOLDS_TERM}
      AND b.starts_on <= coalesce(a.ended_on, a.ends_on)
      AND a.starts_on <= coalesce(b.ended_on, b.ends_on)
    ORDER BY a.dwelling_id, a.id, b.id
    """,
)


def upgrade() -> None:
    stop_if_rows_break(
        op.get_bind(), revision, [*map(_signed_twice, PLEDGE_TABLES), OVERLAPPING_TERMS]
    )
    # Trusted since PostgreSQL 13: the database's owner may create it. Like postgis in
    # 0001, it stays on downgrade (other schemas may use it).
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for table in PLEDGE_TABLES:
        op.create_unique_constraint(
            f"uq_{table}_signature",
            table,
            ["lease_filing_id", "signer_person_id", "pledge_document_id"],
        )
    op.execute(
        f"ALTER TABLE lease_filing ADD CONSTRAINT {ONE_TERM} EXCLUDE USING gist "
        f"(dwelling_id WITH =, {TERM} WITH &&) WHERE ({HOLDS_TERM})"
    )


def downgrade() -> None:
    op.drop_constraint(ONE_TERM, "lease_filing")
    for table in reversed(PLEDGE_TABLES):
        op.drop_constraint(f"uq_{table}_signature", table)
