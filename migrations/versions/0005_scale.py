"""Indexes for district scale

Look-up by phone (exact: btree; part of it: trigrams), by name (3 or more characters:
trigrams; 2 characters: a GIN index over the name's character pairs, ``name_bigrams``),
current residences (the index meets ``residence_is_current``).

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


def downgrade() -> None:
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
