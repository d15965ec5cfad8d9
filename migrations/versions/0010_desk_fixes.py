"""What the users tripped over, at the desk: a signature typed instead of drawn, and the
administrator's setting on whether such a signature counts as signed

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PLEDGE_TABLES = ("rental_pledge", "security_guarantee")


def upgrade() -> None:
    for table in PLEDGE_TABLES:
        op.add_column(
            table,
            sa.Column(
                "signing_method",
                sa.Enum(
                    "drawn",
                    "typed",
                    name="signing_method",
                    native_enum=False,
                    create_constraint=True,
                ),
                server_default="drawn",
                nullable=False,
            ),
        )
        op.add_column(table, sa.Column("typed_name", sa.String(length=50), nullable=True))
        op.create_check_constraint(
            "typed_signature",
            table,
            "(signing_method = 'typed') = (typed_name IS NOT NULL)"
            " AND (signing_method <> 'typed' OR signature_png IS NULL)",
        )
    op.create_table(
        "registry_setting",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["user_account.id"],
            name=op.f("fk_registry_setting_changed_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_registry_setting")),
    )


def downgrade() -> None:
    op.drop_table("registry_setting")
    for table in PLEDGE_TABLES:
        op.drop_constraint(op.f(f"ck_{table}_typed_signature"), table, type_="check")
        op.drop_column(table, "typed_name")
        op.drop_constraint(op.f(f"ck_{table}_signing_method"), table, type_="check")
        op.drop_column(table, "signing_method")
