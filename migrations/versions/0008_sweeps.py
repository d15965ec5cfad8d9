"""Weekly sweeps: plans, stops, teams, visits and photos

Adds the police station's location (the default start of a sweep's route), the role
"sweep team member", standing teams with their members' functions, the planning settings
with their history, and each focus area's weekly sweep: its team-days, stops in walking
order, one visit per stop and the visits' photos. Every table is new, so no existing row
can break a constraint added here.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_ROLES = ("admin", "police_officer", "grid_worker", "property_manager")
NEW_ROLES = (*OLD_ROLES, "sweep_team_member")


def _point(nullable: bool) -> sa.Column:
    return sa.Column(
        "geom" if nullable else "start_geom",
        Geometry(geometry_type="POINT", srid=4326, spatial_index=False, name="geometry"),
        nullable=nullable,
    )


def _roles_check(roles: tuple[str, ...], length: int) -> None:
    op.drop_constraint(op.f("ck_user_account_user_role"), "user_account", type_="check")
    op.alter_column(
        "user_account", "role", type_=sa.String(length=length), existing_nullable=False
    )
    listed = ", ".join(f"'{role}'" for role in roles)
    op.create_check_constraint("user_role", "user_account", f"role IN ({listed})")


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade() -> None:
    op.add_column("police_station", _point(nullable=True))
    _roles_check(NEW_ROLES, 17)

    op.create_table(
        "sweep_team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("police_station_id", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["police_station_id"], ["police_station.id"], name=op.f("fk_sweep_team_police_station_id_police_station")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_team")),
        sa.UniqueConstraint("name", name=op.f("uq_sweep_team_name")),
    )
    op.create_index(op.f("ix_sweep_team_police_station_id"), "sweep_team", ["police_station_id"])

    op.create_table(
        "sweep_team_member",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("function", sa.Enum("police", "market_regulation", "housing", "community", name="member_function", native_enum=False, create_constraint=True), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["sweep_team.id"], name=op.f("fk_sweep_team_member_team_id_sweep_team"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_sweep_team_member_user_id_user_account"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_sweep_team_member")),
    )
    op.create_index(op.f("ix_sweep_team_member_user_id"), "sweep_team_member", ["user_id"])

    op.create_table(
        "sweep_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stops_per_day", sa.SmallInteger(), nullable=False),
        sa.Column("sample_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("stops_per_day BETWEEN 1 AND 500", name=op.f("ck_sweep_settings_stops_per_day_range")),
        sa.CheckConstraint("sample_percent BETWEEN 0 AND 100", name=op.f("ck_sweep_settings_sample_percent_range")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], name=op.f("fk_sweep_settings_created_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_settings")),
    )
    op.create_index(op.f("ix_sweep_settings_valid_from"), "sweep_settings", ["valid_from"])

    op.create_table(
        "sweep",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("focus_area_id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("police_station_id", sa.Integer(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("stops_per_day", sa.SmallInteger(), nullable=False),
        sa.Column("sample_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("start_kind", sa.Enum("station", "chosen", "area", name="start_kind", native_enum=False, create_constraint=True), nullable=False),
        _point(nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("planned_by_id", sa.Integer(), nullable=True),
        sa.Column("route_m", sa.Float(), server_default="0", nullable=False),
        sa.Column("nearest_neighbour_m", sa.Float(), server_default="0", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("extract(isodow FROM week_start) = 1", name=op.f("ck_sweep_week_starts_monday")),
        sa.CheckConstraint("stops_per_day BETWEEN 1 AND 500", name=op.f("ck_sweep_stops_per_day_range")),
        sa.CheckConstraint("sample_percent BETWEEN 0 AND 100", name=op.f("ck_sweep_sample_percent_range")),
        sa.ForeignKeyConstraint(["focus_area_id"], ["focus_area.id"], name=op.f("fk_sweep_focus_area_id_focus_area")),
        sa.ForeignKeyConstraint(["team_id"], ["sweep_team.id"], name=op.f("fk_sweep_team_id_sweep_team")),
        sa.ForeignKeyConstraint(["police_station_id"], ["police_station.id"], name=op.f("fk_sweep_police_station_id_police_station")),
        sa.ForeignKeyConstraint(["planned_by_id"], ["user_account.id"], name=op.f("fk_sweep_planned_by_id_user_account")),
        sa.ForeignKeyConstraint(["closed_by_id"], ["user_account.id"], name=op.f("fk_sweep_closed_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep")),
        sa.UniqueConstraint("focus_area_id", "week_start", name="uq_sweep_focus_area_week"),
    )
    op.create_index(op.f("ix_sweep_team_id"), "sweep", ["team_id"])
    op.create_index(op.f("ix_sweep_police_station_id"), "sweep", ["police_station_id"])

    op.create_table(
        "sweep_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sweep_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.SmallInteger(), nullable=False),
        sa.Column("route_m", sa.Float(), nullable=False),
        sa.Column("nearest_neighbour_m", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["sweep_id"], ["sweep.id"], name=op.f("fk_sweep_day_sweep_id_sweep"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_day")),
        sa.UniqueConstraint("sweep_id", "number", name="uq_sweep_day_number"),
    )

    op.create_table(
        "sweep_stop",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sweep_id", sa.Integer(), nullable=False),
        sa.Column("day_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=False),
        sa.Column("building_address_id", sa.Integer(), nullable=False),
        sa.Column("dwelling_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Enum("flag", "sample", name="stop_reason", native_enum=False, create_constraint=True), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=True),
        sa.Column("checks", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.CheckConstraint("jsonb_typeof(checks) = 'array'", name=op.f("ck_sweep_stop_checks_array")),
        sa.ForeignKeyConstraint(["sweep_id"], ["sweep.id"], name=op.f("fk_sweep_stop_sweep_id_sweep"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["day_id"], ["sweep_day.id"], name=op.f("fk_sweep_stop_day_id_sweep_day"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["address_id"], ["address.id"], name=op.f("fk_sweep_stop_address_id_address")),
        sa.ForeignKeyConstraint(["building_address_id"], ["address.id"], name=op.f("fk_sweep_stop_building_address_id_address")),
        sa.ForeignKeyConstraint(["dwelling_id"], ["dwelling.id"], name=op.f("fk_sweep_stop_dwelling_id_dwelling")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_stop")),
        sa.UniqueConstraint("sweep_id", "address_id", name="uq_sweep_stop_place"),
        sa.UniqueConstraint("day_id", "position", name="uq_sweep_stop_position"),
    )
    op.create_index(op.f("ix_sweep_stop_sweep_id"), "sweep_stop", ["sweep_id"])
    op.create_index("ix_sweep_stop_address", "sweep_stop", ["address_id"])
    op.create_index("ix_sweep_stop_dwelling", "sweep_stop", ["dwelling_id"])

    op.create_table(
        "sweep_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stop_id", sa.Integer(), nullable=False),
        sa.Column("submission", sa.String(length=36), nullable=False),
        sa.Column("outcome", sa.Enum("no_one_home", "in_order", "record_corrected", "unregistered_occupants", "group_renting", "referred_to_police", name="visit_outcome", native_enum=False, create_constraint=True), nullable=False),
        sa.Column("people", sa.SmallInteger(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("visited_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("visited_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("(outcome = 'unregistered_occupants') = (people IS NOT NULL)", name=op.f("ck_sweep_visit_people_when_found")),
        sa.CheckConstraint("people BETWEEN 1 AND 500", name=op.f("ck_sweep_visit_people_range")),
        sa.CheckConstraint("char_length(note) <= 1000", name=op.f("ck_sweep_visit_note_length")),
        sa.ForeignKeyConstraint(["stop_id"], ["sweep_stop.id"], name=op.f("fk_sweep_visit_stop_id_sweep_stop"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["visited_by_id"], ["user_account.id"], name=op.f("fk_sweep_visit_visited_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_visit")),
        sa.UniqueConstraint("stop_id", name="uq_sweep_visit_stop_id"),
        sa.UniqueConstraint("submission", name="uq_sweep_visit_submission"),
    )

    op.create_table(
        "visit_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.SmallInteger(), nullable=False),
        sa.Column("height", sa.SmallInteger(), nullable=False),
        sa.Column("taken_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("octet_length(content) > 0", name=op.f("ck_visit_photo_content_present")),
        sa.ForeignKeyConstraint(["visit_id"], ["sweep_visit.id"], name=op.f("fk_visit_photo_visit_id_sweep_visit"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["taken_by_id"], ["user_account.id"], name=op.f("fk_visit_photo_taken_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_photo")),
    )
    op.create_index(op.f("ix_visit_photo_visit_id"), "visit_photo", ["visit_id"])


def downgrade() -> None:
    for table in ("visit_photo", "sweep_visit", "sweep_stop", "sweep_day", "sweep"):
        op.drop_table(table)
    op.drop_table("sweep_settings")
    op.drop_table("sweep_team_member")
    op.drop_table("sweep_team")
    op.execute("DELETE FROM user_account WHERE role = 'sweep_team_member'")
    _roles_check(OLD_ROLES, 16)
    op.drop_column("police_station", "geom")
