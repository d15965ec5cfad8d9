"""One clock: "today" is the deployment's local date, read once at the boundary.

The live example of the review: from midnight to 08:00 in Shanghai the server's UTC date
is still yesterday. The machine's clock is pinned with freezegun to 02:30 Shanghai time
(18:30 UTC the day before), and the app, with no pinned day, must still agree with itself.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from helpers import DEMO_TODAY, dwelling_of_cell, log_in, post_form, unused_resident_id
from sqlalchemy import select

from registry.clock import TimeZoneError, deployment_zone, start_of_day, today_in
from registry.dwelling.status import current_rule
from registry.flags.models import RuleCode, RuleVersion
from registry.person.models import Person, Residence

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 02:30 on DEMO_TODAY in Shanghai is 18:30 UTC on the day before.
SMALL_HOURS_UTC = datetime.combine(DEMO_TODAY, datetime.min.time()) - timedelta(hours=5, minutes=30)


def test_the_small_hours_in_shanghai_are_yesterday_in_utc() -> None:
    instant = SMALL_HOURS_UTC.replace(tzinfo=UTC)
    assert instant.astimezone(SHANGHAI).strftime("%H:%M") == "02:30"
    assert instant.date() == DEMO_TODAY - timedelta(days=1)
    assert today_in(SHANGHAI, instant) == DEMO_TODAY


def test_the_time_zone_is_a_setting(monkeypatch) -> None:
    assert deployment_zone({}).key == "Asia/Shanghai"
    assert deployment_zone({"REGISTRY_TIMEZONE": "Asia/Urumqi"}).key == "Asia/Urumqi"
    with pytest.raises(TimeZoneError, match="REGISTRY_TIMEZONE"):
        deployment_zone({"REGISTRY_TIMEZONE": "Mars/Olympus_Mons"})
    with pytest.raises(ValueError):
        today_in(SHANGHAI, datetime(2026, 1, 1))  # a naive instant says nothing


def test_a_cli_command_refuses_an_unknown_time_zone(monkeypatch, tmp_path) -> None:
    from registry.cli import main

    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("REGISTRY_TIMEZONE", "Nowhere/Atlantis")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(main, ["demo", "--size", "small"])
    assert result.exit_code != 0
    assert "REGISTRY_TIMEZONE='Nowhere/Atlantis' is not a known time zone" in result.output


def test_a_request_reads_the_clock_once(demo_app) -> None:
    from registry.web.clock import today

    demo_app.config["REGISTRY_TODAY"] = None
    with demo_app.test_request_context("/"):
        with freeze_time(datetime(2026, 11, 24, 15, 59, 59, tzinfo=UTC)):  # 23:59:59 local
            first = today()
        with freeze_time(datetime(2026, 11, 24, 16, 0, 1, tzinfo=UTC)):  # 00:00:01 local
            assert today() == first == date(2026, 11, 24)  # one request, one day
    with (
        demo_app.test_request_context("/"),
        freeze_time(datetime(2026, 11, 24, 16, 0, 1, tzinfo=UTC)),
    ):
        assert today() == date(2026, 11, 25)


def test_the_capacity_rule_in_force_follows_the_day_given(demo_db) -> None:
    old = current_rule(demo_db, DEMO_TODAY)
    tomorrow = DEMO_TODAY + timedelta(days=1)
    newest = demo_db.scalar(
        select(RuleVersion.id).where(RuleVersion.rule == RuleCode.OVER_CAPACITY).limit(1)
    )
    demo_db.add(
        RuleVersion(
            rule=RuleCode.OVER_CAPACITY,
            enabled=True,
            priority=1,
            settings={"min_floor_area_per_person": "9", "max_people_per_room": 2, "band": 3},
            valid_from=start_of_day(tomorrow, SHANGHAI),
            based_on_id=newest,
        )
    )
    demo_db.flush()
    # The database's now() is days later than DEMO_TODAY: it must not decide.
    assert current_rule(demo_db, DEMO_TODAY) == old
    assert current_rule(demo_db, tomorrow).min_floor_area_per_person == Decimal("9")


def test_at_half_past_two_in_shanghai_the_app_agrees_with_itself(demo_app, demo_db, cipher):
    demo_app.config["REGISTRY_TODAY"] = None  # no pinned day: the clock decides
    dwelling = dwelling_of_cell(demo_db, 1)
    number = unused_resident_id(demo_db, cipher, f"{DEMO_TODAY:%Y%m%d}")
    with freeze_time(SMALL_HOURS_UTC):  # the machine's clock, in UTC
        worker = log_in(demo_app, "grid0001")
        response = post_form(
            worker,
            f"/cells/dwellings/{dwelling.id}/move-in",
            {
                "document_type": "resident_id",
                "document_number": number,
                "name": "今天出生",
                "moved_in": DEMO_TODAY.isoformat(),
                "kind": "registered",
                "relationship": "owner_family",
            },
        )
        # Born today in Shanghai: not "in the future".
        assert response.status_code == 302, re.findall(
            r'class="error">([^<]*)<', response.get_data(as_text=True)
        )
        person = demo_db.scalar(select(Person).where(Person.name == "今天出生"))
        assert person.birth_date == DEMO_TODAY
        residence = demo_db.scalar(select(Residence).where(Residence.person_id == person.id))
        assert residence.moved_in == DEMO_TODAY

        page = worker.get(f"/cells/dwellings/{dwelling.id}").get_data(as_text=True)
        living = page.split("Living here now", 1)[1].split("<h2", 1)[0]
        assert "今天出生" in living

        searched = post_form(worker, "/cells/search", {"q": "今天出生"})
        found = worker.get(searched.headers["Location"]).get_data(as_text=True)
        row = found.split(f"/cells/people/{person.id}", 1)[1].split("</li>", 1)[0]
        assert "Not living in your cells now" not in row  # current here, current there
