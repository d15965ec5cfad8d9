"""Recording visits: saved at once, exactly once, corrected with a version; photos cleaned;
what each outcome does; who may record and see what."""

from __future__ import annotations

import io
import struct
import uuid
import zlib

import pytest
from helpers import DEMO_TODAY, account, audit_count
from PIL import Image
from race import race
from sqlalchemy import func, select, text
from sweep_helpers import first_stop, jpeg_with_exif, member_account, plan, team_with

from registry.errors import Conflict, InvalidInput, NotFound
from registry.sweeps import visits
from registry.sweeps.models import Outcome, SweepVisit, VisitPhoto
from registry.sweeps.visits import VisitInput, record_visit


def _visit(outcome="in_order", submission=None, **more):
    return VisitInput(outcome=outcome, submission=submission or str(uuid.uuid4()), **more)


@pytest.fixture
def sweep(demo_session):
    return plan(demo_session)


def test_a_double_tap_records_one_visit(demo_session, sweep):
    officer = account(demo_session, "officer1")
    stop = first_stop(demo_session, sweep)
    same = _visit("no_one_home")
    first = record_visit(demo_session, officer, stop.id, same, DEMO_TODAY)
    again = record_visit(demo_session, officer, stop.id, same, DEMO_TODAY)
    assert again.id == first.id
    assert demo_session.scalar(select(func.count()).select_from(SweepVisit)) == 1
    assert audit_count(demo_session, "sweep_visit", first.id) == 1
    assert sweep.started_at is not None


def test_a_second_record_of_a_done_stop_is_a_conflict_until_it_names_the_version(
    demo_session, sweep
):
    officer = account(demo_session, "officer1")
    stop = first_stop(demo_session, sweep)
    visit = record_visit(demo_session, officer, stop.id, _visit("no_one_home"), DEMO_TODAY)
    with pytest.raises(Conflict):
        record_visit(demo_session, officer, stop.id, _visit("in_order"), DEMO_TODAY)
    corrected = record_visit(
        demo_session, officer, stop.id, _visit("in_order", version=visit.version), DEMO_TODAY
    )
    assert corrected.id == visit.id and corrected.outcome == Outcome.IN_ORDER
    with pytest.raises(Conflict):
        record_visit(demo_session, officer, stop.id, _visit("in_order", version=1), DEMO_TODAY)


def test_two_tablets_sending_the_same_stop_at_once_make_one_visit(race_sessions):
    with race_sessions() as session:
        sweep = plan(session)
        stop_id = first_stop(session, sweep).id
        session.commit()
    key = str(uuid.uuid4())

    def send(session):
        officer = account(session, "officer1")
        return record_visit(session, officer, stop_id, _visit("in_order", key), DEMO_TODAY).id

    first, second = race(race_sessions, send)
    assert first.succeeded and second.succeeded
    assert first.result == second.result
    with race_sessions() as session:
        assert session.scalar(select(func.count()).select_from(SweepVisit)) == 1


def test_unregistered_occupants_need_a_count(demo_session, sweep):
    officer = account(demo_session, "officer1")
    stop = first_stop(demo_session, sweep)
    with pytest.raises(InvalidInput) as refused:
        record_visit(demo_session, officer, stop.id, _visit("unregistered_occupants"), DEMO_TODAY)
    assert "people" in refused.value.details["fields"]
    visit = record_visit(
        demo_session, officer, stop.id, _visit("unregistered_occupants", people="4"), DEMO_TODAY
    )
    assert visit.people == 4


def _live_flags(session, dwelling_id):
    return dict(
        session.execute(
            text("SELECT rule, state FROM flag WHERE dwelling_id = :d AND state <> 'resolved'"),
            {"d": dwelling_id},
        ).all()
    )


def test_a_members_findings_raise_the_visit_rules_flags(demo_session, sweep):
    member = member_account(demo_session)
    team_with(demo_session, sweep, "sweeper1")
    stops = [s for s in sweep.days[0].stops if s.dwelling_id][:3]
    for stop in stops:
        assert not {"visit_unregistered", "visit_group_renting"} & set(
            _live_flags(demo_session, stop.dwelling_id)
        )
    found = _visit("unregistered_occupants", people="3", note="三人未登记")
    record_visit(demo_session, member, stops[0].id, found, DEMO_TODAY)
    record_visit(demo_session, member, stops[1].id, _visit("group_renting"), DEMO_TODAY)
    before = _live_flags(demo_session, stops[2].dwelling_id)
    record_visit(demo_session, member, stops[2].id, _visit("in_order"), DEMO_TODAY)
    assert _live_flags(demo_session, stops[0].dwelling_id)["visit_unregistered"] == "open"
    assert _live_flags(demo_session, stops[1].dwelling_id)["visit_group_renting"] == "open"
    assert _live_flags(demo_session, stops[2].dwelling_id) == before  # resolves nothing
    people = demo_session.scalar(
        text("SELECT people FROM visit_report WHERE dwelling_id = :d"),
        {"d": stops[0].dwelling_id},
    )
    assert people == 3


def test_a_corrected_record_runs_the_dwellings_rules_again(demo_session, sweep):
    officer = account(demo_session, "officer1")
    stop = next(
        s
        for day in sweep.days
        for s in day.stops
        if s.dwelling_id and "rented_unfiled" in {c["rule"] for c in s.checks}
    )
    # Corrected behind the services' back: nothing has run the rules yet.
    demo_session.execute(
        text("UPDATE dwelling SET occupancy = 'vacant' WHERE id = :d"), {"d": stop.dwelling_id}
    )
    assert _live_flags(demo_session, stop.dwelling_id)["rented_unfiled"] == "open"
    record_visit(demo_session, officer, stop.id, _visit("record_corrected"), DEMO_TODAY)
    assert "rented_unfiled" not in _live_flags(demo_session, stop.dwelling_id)


def test_a_closed_sweep_takes_no_more_visits(demo_session, sweep):
    from registry.sweeps.services import close_sweep

    officer = account(demo_session, "officer1")
    close_sweep(demo_session, officer, sweep.id, "本周清查完毕")
    with pytest.raises(InvalidInput) as refused:
        record_visit(
            demo_session, officer, first_stop(demo_session, sweep).id, _visit(), DEMO_TODAY
        )
    assert "outcome" in refused.value.details["fields"]


def test_a_member_records_only_the_stops_of_their_teams_open_sweeps(demo_session, sweep):
    member = member_account(demo_session)
    stop = first_stop(demo_session, sweep)
    with pytest.raises(NotFound):
        record_visit(demo_session, member, stop.id, _visit(), DEMO_TODAY)
    team_with(demo_session, sweep, "sweeper1")
    assert record_visit(demo_session, member, stop.id, _visit(), DEMO_TODAY).id


# -- photos --------------------------------------------------------------------------------


def test_a_photo_is_turned_upright_and_stripped_of_its_metadata():
    content, width, height = visits.clean_photo(jpeg_with_exif(60, 30, orientation=6))
    with Image.open(io.BytesIO(content)) as stored:
        assert stored.format == "JPEG"
        assert (stored.width, stored.height) == (30, 60) == (width, height)
        assert not stored.getexif()
        assert "exif" not in stored.info


@pytest.mark.parametrize(
    "content", [b"", b"GIF89a not really", b"%PDF-1.4 ...", b"\xff\xd8\xff" + b"0" * 50]
)
def test_what_is_not_a_photo_is_refused(content):
    with pytest.raises(InvalidInput) as refused:
        visits.clean_photo(content)
    assert "photos" in refused.value.details["fields"]


def test_a_photo_with_too_many_pixels_is_refused_before_decoding():
    image = Image.new("1", (10_000, 6_000))
    out = io.BytesIO()
    image.save(out, format="PNG")
    with pytest.raises(InvalidInput):
        visits.clean_photo(out.getvalue())


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels: a bomb's header, cheap to build."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 1024)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def test_a_decompression_bomb_is_refused_as_too_many_pixels_not_as_no_photo():
    # 20000 x 20000: Pillow itself refuses to open it (DecompressionBombError).
    with pytest.raises(InvalidInput) as refused:
        visits.clean_photo(_png_header_only(20_000, 20_000))
    assert [str(m) for m in refused.value.details["fields"]["photos"]] == [
        "The photo has too many pixels"
    ]


def test_photos_are_seen_by_the_team_and_officers_only_and_every_view_is_logged(
    demo_session, sweep
):
    member = member_account(demo_session)
    team_with(demo_session, sweep, "sweeper1")
    stop = first_stop(demo_session, sweep)
    visit = record_visit(demo_session, member, stop.id, _visit(), DEMO_TODAY)
    (photo,) = visits.add_photos(demo_session, member, visit, [jpeg_with_exif()])
    assert visits.view_photo(demo_session, member, photo.id).id == photo.id
    officer = account(demo_session, "officer1")
    assert visits.view_photo(demo_session, officer, photo.id).id == photo.id
    assert audit_count(demo_session, "visit_photo", photo.id, "view") == 2
    worker = account(demo_session, f"grid{stop.address.grid_cell_id:04d}")
    with pytest.raises(NotFound):
        visits.view_photo(demo_session, worker, photo.id)  # the cell's worker, not on the team
    with pytest.raises(NotFound):
        visits.view_photo(demo_session, account(demo_session, "admin"), photo.id)


def test_photos_go_with_their_visit_under_the_retention_rule(demo_session, sweep):
    officer = account(demo_session, "officer1")
    visit = record_visit(
        demo_session, officer, first_stop(demo_session, sweep).id, _visit(), DEMO_TODAY
    )
    visits.add_photos(demo_session, officer, visit, [jpeg_with_exif()])
    assert visits.purge_visits(demo_session, DEMO_TODAY, keep_days=30) == 0
    assert visits.purge_visits(demo_session, DEMO_TODAY.replace(year=2028), keep_days=30) == 1
    assert demo_session.scalar(select(func.count()).select_from(VisitPhoto)) == 0
