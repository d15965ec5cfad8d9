"""People: one home at a time (EXCLUDE over residences)

Revision ID: 0003
Revises: 0002

A person lives in one dwelling at a time. Before the constraint is added, the stays that
already overlap (the bug let them in) are listed with their ids and the upgrade stops, so
that someone decides which stay ends when; nothing is changed half-way.
"""

import sqlalchemy as sa
from alembic import op

from registry.migrate import stop_if_rows_break

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ONE_HOME = "ex_residence_one_home"

OVERLAPPING_STAYS = (
    "residence: one person living in two dwellings at once (end the earlier stay on the "
    "day the person moved into the other dwelling)",
    """
    SELECT format('person %s: residence ids %s (%s to %s) and %s (%s to %s)', a.person_id,
                  a.id, a.moved_in, coalesce(a.moved_out::text, 'now'),
                  b.id, b.moved_in, coalesce(b.moved_out::text, 'now'))
    FROM residence a
    JOIN residence b
      ON b.person_id = a.person_id AND b.id > a.id
     AND daterange(a.moved_in, a.moved_out) && daterange(b.moved_in, b.moved_out)
    ORDER BY a.person_id, a.id, b.id
    """,
)


def upgrade() -> None:
    stop_if_rows_break(op.get_bind(), revision, [OVERLAPPING_STAYS])
    # The leases migration creates it as well; either may run first on a given server.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        f"ALTER TABLE residence ADD CONSTRAINT {ONE_HOME} "
        "EXCLUDE USING gist (person_id WITH =, daterange(moved_in, moved_out) WITH &&)"
    )
    op.add_column("residence", sa.Column("ended_by_residence_id", sa.Integer(), nullable=True))
    op.add_column("residence", sa.Column("end_checked_on", sa.Date(), nullable=True))
    op.create_foreign_key(
        op.f("fk_residence_ended_by_residence_id_residence"),
        "residence",
        "residence",
        ["ended_by_residence_id"],
        ["id"],
    )
    op.create_index(
        "ix_residence_end_to_check",
        "residence",
        ["dwelling_id"],
        unique=False,
        postgresql_where=sa.text("ended_by_residence_id IS NOT NULL AND end_checked_on IS NULL"),
    )
    # Refused names are counted per user from the audit log (registry.person.services).
    op.create_index(
        "ix_audit_log_name_mismatch",
        "audit_log",
        ["user_id", "occurred_at"],
        unique=False,
        postgresql_where=sa.text("action = 'name_mismatch'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_audit_log_name_mismatch",
        table_name="audit_log",
        postgresql_where=sa.text("action = 'name_mismatch'"),
    )
    op.drop_index(
        "ix_residence_end_to_check",
        table_name="residence",
        postgresql_where=sa.text("ended_by_residence_id IS NOT NULL AND end_checked_on IS NULL"),
    )
    op.drop_constraint(
        op.f("fk_residence_ended_by_residence_id_residence"), "residence", type_="foreignkey"
    )
    op.drop_column("residence", "end_checked_on")
    op.drop_column("residence", "ended_by_residence_id")
    op.execute(f"ALTER TABLE residence DROP CONSTRAINT {ONE_HOME}")
    # btree_gist stays, as in 0002: other schemas may use it.
