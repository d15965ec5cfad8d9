"""Flags: rules, their settings and history, flags, tips and complaints, visit reports

The capacity rule's rows become the versions of the over-capacity rule (its settings), and
the ``capacity_rule`` table goes: the thresholds have one home. Downgrading rebuilds the
table from those versions.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LIVE = "state IN ('open', 'in_review', 'confirmed')"
FLAG_STATES = "'open', 'in_review', 'confirmed', 'dismissed', 'resolved'"
OVER_CAPACITY = "over_capacity"
OVER_CAPACITY_PRIORITY = 1
ONE_SUCCESSOR = "uq_rule_version_one_successor"


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["user_account.id"], name=op.f(f"fk_{table}_{column}_user_account")
    )


def _rule_version() -> None:
    op.create_table(
        "rule_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "valid_from",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=200), server_default="", nullable=False),
        sa.Column("based_on_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["based_on_id"],
            ["rule_version.id"],
            name=op.f("fk_rule_version_based_on_id_rule_version"),
        ),
        sa.CheckConstraint(
            "priority BETWEEN 1 AND 9", name=op.f("ck_rule_version_priority_range")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(settings) = 'object'", name=op.f("ck_rule_version_settings_object")
        ),
        _user_fk("rule_version", "created_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_version")),
    )
    op.create_index(
        "ix_rule_version_rule_valid_from", "rule_version", ["rule", "valid_from"], unique=False
    )


def _flag() -> None:
    op.create_table(
        "flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=False),
        sa.Column("dwelling_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=9), server_default="open", nullable=False),
        sa.Column("fact_key", sa.String(length=100), nullable=False),
        sa.Column(
            "facts", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("rule_version_id", sa.Integer(), nullable=True),
        sa.Column(
            "raised_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "(state = 'open') = (decided_at IS NULL)", name=op.f("ck_flag_decided_unless_open")
        ),
        sa.CheckConstraint(
            "decided_by_id IS NULL OR btrim(coalesce(decision_reason, '')) <> ''",
            name=op.f("ck_flag_person_gives_reason"),
        ),
        sa.CheckConstraint(
            "state NOT IN ('in_review', 'confirmed', 'dismissed') OR decided_by_id IS NOT NULL",
            name=op.f("ck_flag_person_decides"),
        ),
        sa.CheckConstraint("jsonb_typeof(facts) = 'object'", name=op.f("ck_flag_facts_object")),
        sa.CheckConstraint(f"state IN ({FLAG_STATES})", name=op.f("ck_flag_flag_state")),
        sa.ForeignKeyConstraint(
            ["address_id"], ["address.id"], name=op.f("fk_flag_address_id_address")
        ),
        sa.ForeignKeyConstraint(
            ["dwelling_id"], ["dwelling.id"], name=op.f("fk_flag_dwelling_id_dwelling")
        ),
        sa.ForeignKeyConstraint(
            ["rule_version_id"],
            ["rule_version.id"],
            name=op.f("fk_flag_rule_version_id_rule_version"),
        ),
        _user_fk("flag", "decided_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag")),
    )
    op.create_index(
        "uq_flag_one_live_per_rule_and_place",
        "flag",
        ["rule", "address_id"],
        unique=True,
        postgresql_where=sa.text(LIVE),
    )
    op.create_index(
        "ix_flag_rule_place_raised", "flag", ["rule", "address_id", "raised_at"], unique=False
    )
    op.create_index(
        "ix_flag_live_address", "flag", ["address_id"], postgresql_where=sa.text(LIVE)
    )
    op.create_index(op.f("ix_flag_dwelling_id"), "flag", ["dwelling_id"], unique=False)
    op.create_index(op.f("ix_flag_state"), "flag", ["state"], unique=False)


def _flag_event() -> None:
    op.create_table(
        "flag_event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=15), nullable=False),
        sa.Column("from_state", sa.String(length=9), nullable=True),
        sa.Column("to_state", sa.String(length=9), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("facts_before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("facts_after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('raised', 'facts_updated', 'decided', 'no_longer_holds', 'rule_off')",
            name=op.f("ck_flag_event_flag_event_kind"),
        ),
        sa.CheckConstraint(f"from_state IN ({FLAG_STATES})", name=op.f("ck_flag_event_from_state")),
        sa.CheckConstraint(f"to_state IN ({FLAG_STATES})", name=op.f("ck_flag_event_to_state")),
        sa.ForeignKeyConstraint(["flag_id"], ["flag.id"], name=op.f("fk_flag_event_flag_id_flag")),
        _user_fk("flag_event", "actor_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_event")),
    )
    op.create_index(op.f("ix_flag_event_flag_id"), "flag_event", ["flag_id"], unique=False)


def _tip() -> None:
    op.create_table(
        "tip",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=False),
        sa.Column("dwelling_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=9), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tipster_name", sa.String(length=50), nullable=True),
        sa.Column("tipster_phone", sa.String(length=20), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "char_length(btrim(text)) BETWEEN 1 AND 2000", name=op.f("ck_tip_text_length")
        ),
        sa.CheckConstraint("kind IN ('tip', 'complaint')", name=op.f("ck_tip_tip_kind")),
        sa.CheckConstraint(
            "source IN ('hotline', 'walk_in', 'letter', 'online', 'door_to_door', 'other')",
            name=op.f("ck_tip_tip_source"),
        ),
        sa.ForeignKeyConstraint(
            ["address_id"], ["address.id"], name=op.f("fk_tip_address_id_address")
        ),
        sa.ForeignKeyConstraint(
            ["dwelling_id"], ["dwelling.id"], name=op.f("fk_tip_dwelling_id_dwelling")
        ),
        _user_fk("tip", "recorded_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tip")),
    )
    op.create_index("ix_tip_address_received", "tip", ["address_id", "received_on"], unique=False)
    op.create_index(op.f("ix_tip_dwelling_id"), "tip", ["dwelling_id"], unique=False)


def _visit_report() -> None:
    op.create_table(
        "visit_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dwelling_id", sa.Integer(), nullable=False),
        sa.Column("finding", sa.String(length=22), nullable=False),
        sa.Column("people", sa.SmallInteger(), nullable=True),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "finding <> 'unregistered_occupants' OR people >= 1",
            name=op.f("ck_visit_report_people_when_unregistered"),
        ),
        sa.CheckConstraint(
            "people IS NULL OR people BETWEEN 1 AND 500", name=op.f("ck_visit_report_people_range")
        ),
        sa.CheckConstraint(
            "finding IN ('unregistered_occupants', 'group_renting_signs')",
            name=op.f("ck_visit_report_visit_finding"),
        ),
        sa.ForeignKeyConstraint(
            ["dwelling_id"], ["dwelling.id"], name=op.f("fk_visit_report_dwelling_id_dwelling")
        ),
        _user_fk("visit_report", "recorded_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_report")),
    )
    op.create_index(
        "ix_visit_report_dwelling_observed",
        "visit_report",
        ["dwelling_id", "observed_on"],
        unique=False,
    )


def upgrade() -> None:
    _rule_version()
    _flag()
    _flag_event()
    _tip()
    _visit_report()
    # The capacity rule's history becomes the over-capacity rule's versions.
    op.execute(
        f"""
        INSERT INTO rule_version (rule, enabled, priority, settings, valid_from, note,
                                  created_by_id, created_at)
        SELECT '{OVER_CAPACITY}', true, {OVER_CAPACITY_PRIORITY},
               jsonb_build_object('min_floor_area_per_person', min_floor_area_per_person::text,
                                  'max_people_per_room', max_people_per_room),
               valid_from, note, created_by_id, valid_from
        FROM capacity_rule ORDER BY id
        """
    )
    # Each saved version was based on the one saved before it.
    op.execute(
        f"""
        UPDATE rule_version v SET based_on_id = chain.previous
        FROM (SELECT id, lag(id) OVER (ORDER BY id) AS previous
              FROM rule_version WHERE rule = '{OVER_CAPACITY}') chain
        WHERE v.id = chain.id
        """
    )
    op.create_unique_constraint(
        ONE_SUCCESSOR, "rule_version", ["rule", "based_on_id"], postgresql_nulls_not_distinct=True
    )
    op.drop_index(op.f("ix_capacity_rule_valid_from"), table_name="capacity_rule")
    op.drop_table("capacity_rule")


def downgrade() -> None:
    op.create_table(
        "capacity_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("min_floor_area_per_person", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("max_people_per_room", sa.SmallInteger(), nullable=False),
        sa.Column(
            "valid_from",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=200), server_default="", nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "max_people_per_room > 0", name=op.f("ck_capacity_rule_people_positive")
        ),
        sa.CheckConstraint(
            "min_floor_area_per_person > 0", name=op.f("ck_capacity_rule_area_positive")
        ),
        _user_fk("capacity_rule", "created_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_rule")),
    )
    op.create_index(
        op.f("ix_capacity_rule_valid_from"), "capacity_rule", ["valid_from"], unique=False
    )
    op.execute(
        f"""
        INSERT INTO capacity_rule (min_floor_area_per_person, max_people_per_room, valid_from,
                                   note, created_by_id)
        SELECT (settings->>'min_floor_area_per_person')::numeric,
               (settings->>'max_people_per_room')::smallint, valid_from, note, created_by_id
        FROM rule_version
        WHERE rule = '{OVER_CAPACITY}' AND settings ? 'min_floor_area_per_person'
          AND settings ? 'max_people_per_room'
        ORDER BY valid_from, id
        """
    )
    op.drop_table("visit_report")
    op.drop_table("tip")
    op.drop_table("flag_event")
    op.drop_table("flag")
    op.drop_table("rule_version")
