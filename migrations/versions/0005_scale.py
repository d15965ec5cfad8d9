"""Indexes for district scale and the precomputed per-cell figures

Look-up by phone (exact: btree; part of it: trigrams), by name (3 or more characters:
trigrams; 2 characters: a GIN index over the name's character pairs, ``name_bigrams``),
current residences (the index meets ``residence_is_current``), and the per-cell figures
that the dashboards and the grid map read (``cell_figures``, ``figures_run``).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Every pair of neighbouring characters of a name, lower-cased: a two-character query is
# found anywhere in a name through ``name_bigrams(name) @> ARRAY[query]``, which trigrams
# cannot do (they need three characters). IMMUTABLE, so that it can be indexed.
NAME_BIGRAMS = """
CREATE FUNCTION name_bigrams(name text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(lower(name), i, 2)), '{}')
    FROM generate_series(1, char_length(name) - 1) AS i
$$
"""

COUNTS = (
    "dwellings",
    "rented",
    "rented_filed",
    "rented_unfiled",
    "rented_pledged",
    "filed",
    "filed_pledged",
    "pledges_missing",
    "over_capacity",
    "occupancy_to_check",
    "attention",
    "occupants",
    "registered",
    "transient",
    "organisations",
)


def upgrade() -> None:
    op.execute(NAME_BIGRAMS)
    op.create_index("ix_person_phone", "person", ["phone"])
    op.create_index(
        "ix_person_phone_trgm",
        "person",
        ["phone"],
        postgresql_using="gin",
        postgresql_ops={"phone": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_person_name_trgm",
        "person",
        ["name"],
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_person_name_bigrams", "person", [sa.text("name_bigrams(name)")], postgresql_using="gin"
    )
    op.drop_index("ix_residence_current", table_name="residence")
    op.create_index(
        "ix_residence_current",
        "residence",
        ["dwelling_id", sa.text("COALESCE(moved_out, 'infinity'::date)"), "moved_in"],
        postgresql_include=["moved_out"],
    )

    op.create_table(
        "figures_run",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_figures_run_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_figures_run")),
    )
    op.create_table(
        "cell_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("grid_cell_id", sa.Integer(), nullable=True),
        *(sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in COUNTS),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_cell_figures_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grid_cell_id"],
            ["grid_cell.id"],
            name=op.f("fk_cell_figures_grid_cell_id_grid_cell"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cell_figures")),
    )
    op.create_index(
        "uq_cell_figures_area",
        "cell_figures",
        ["community_id", "grid_cell_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index("ix_cell_figures_grid_cell_id", "cell_figures", ["grid_cell_id"])


def downgrade() -> None:
    op.drop_table("cell_figures")
    op.drop_table("figures_run")
    op.drop_index("ix_residence_current", table_name="residence")
    op.create_index(
        "ix_residence_current",
        "residence",
        ["dwelling_id"],
        postgresql_where=sa.text("moved_out IS NULL"),
    )
    op.drop_index("ix_person_name_bigrams", table_name="person")
    op.drop_index("ix_person_name_trgm", table_name="person")
    op.drop_index("ix_person_phone_trgm", table_name="person")
    op.drop_index("ix_person_phone", table_name="person")
    op.execute("DROP FUNCTION name_bigrams(text)")
