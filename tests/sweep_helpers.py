"""Arranging sweeps on the demo district for the tests: a plan, a team, a member, photos."""

from __future__ import annotations

import functools
import io
from datetime import date

import numpy as np
from helpers import DEMO_TODAY, account
from PIL import Image
from sqlalchemy import select

from registry.accounts.models import Role, UserAccount
from registry.accounts.services import create_user
from registry.sweeps.models import MemberFunction, SweepStop, SweepTeam, SweepTeamMember
from registry.sweeps.planning import PlanRequest, plan_sweep

THIS_WEEK = date(2026, 11, 23)  # 2026-W48, holding the demo's day


def plan(session, area: int = 1, week: date = THIS_WEEK, **options):
    """The area's sweep for the week, planned by the CLI (no actor)."""
    return plan_sweep(
        session, None, PlanRequest(area, week, seed=7, **options), DEMO_TODAY, 50
    ).sweep


def member_account(session, username: str = "sweeper1"):
    """A "sweep team member" account (the demo has sweeper1 and sweeper2)."""
    existing = session.scalar(select(UserAccount).where(UserAccount.username == username))
    if existing is not None:
        return existing
    return create_user(
        session,
        username=username,
        display_name="市场监管队员",
        password="demo-2026",
        role=Role.SWEEP_TEAM_MEMBER,
    )


def team_with(session, sweep, *usernames: str, station: int = 1) -> SweepTeam:
    """A team of ``station`` with these members, assigned to ``sweep``."""
    team = SweepTeam(name=f"专班{sweep.id}", police_station_id=station)
    session.add(team)
    session.flush()
    for name in usernames:
        user = account(session, name)
        session.add(
            SweepTeamMember(team_id=team.id, user_id=user.id, function=MemberFunction.HOUSING)
        )
    sweep.team_id = team.id
    session.flush()
    return team


def first_stop(session, sweep, **where) -> SweepStop:
    query = select(SweepStop).where(SweepStop.sweep_id == sweep.id).order_by(SweepStop.id)
    for name, value in where.items():
        query = query.where(getattr(SweepStop, name) == value)
    return session.scalars(query).first()


def jpeg_with_exif(width: int = 60, height: int = 30, orientation: int = 6) -> bytes:
    """A JPEG lying on its side (EXIF orientation 6) with a GPS position in its EXIF."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "CameraMaker"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (30.0, 36.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@functools.cache
def camera_jpeg(megabytes: float = 11.6) -> bytes:
    """A tablet camera's photo: 4000 x 3000 pixels of detail, ``megabytes`` in size."""
    pixels = np.random.default_rng(1).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    wanted = int(megabytes * 2**20)
    assert out.tell() <= wanted
    return out.getvalue() + b"\0" * (wanted - out.tell())  # trailing data, as cameras add
