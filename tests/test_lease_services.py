"""Lease services on their own: the signature check, rent and term rules, the to-do list."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from helpers import DEMO_TODAY, account, rented_unfiled_dwelling, resident_id_number
from sqlalchemy import func, select, text

from registry.errors import Forbidden, InvalidInput, NotFound
from registry.lease import services
from registry.lease.models import (
    LeaseFiling,
    LeaseTenant,
    PledgeDocument,
    PledgeKind,
    RentalPledge,
)
from registry.person.models import Person
from registry.person.services import PersonInput
from registry.validators import FieldError

# -- PNG signatures ------------------------------------------------------------------------


def _filter(kind: int, raw: bytes, prior: bytes, bpp: int) -> bytes:
    """Encode one scanline with PNG filter ``kind`` (the encoder's side of spec 9.2)."""
    out = bytearray(len(raw))
    for i, value in enumerate(raw):
        left = raw[i - bpp] if i >= bpp else 0
        up = prior[i]
        upper_left = prior[i - bpp] if i >= bpp else 0
        if kind == 0:
            predicted = 0
        elif kind == 1:
            predicted = left
        elif kind == 2:
            predicted = up
        elif kind == 3:
            predicted = (left + up) >> 1
        else:
            p = left + up - upper_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
            predicted = left if pa <= pb and pa <= pc else (up if pb <= pc else upper_left)
        out[i] = (value - predicted) & 0xFF
    return bytes(out)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def make_png(pixels, *, colour=6, filters=(0,), depth=8, interlace=0) -> bytes:
    """A PNG of ``pixels`` (rows of byte tuples), cycling through ``filters`` per row."""
    height, width = len(pixels), len(pixels[0])
    bpp = len(pixels[0][0])
    prior = bytes(width * bpp)
    body = b""
    for y, row in enumerate(pixels):
        raw = bytes(b for pixel in row for b in pixel)
        kind = filters[y % len(filters)]
        body += bytes([kind]) + _filter(kind, raw, prior, bpp)
        prior = raw
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    return (
        services.PNG_MAGIC
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(body))
        + _chunk(b"IEND", b"")
    )


def stroke(width=60, height=24, ink_pixels=None, background=(0, 0, 0, 0)):
    """Rows of RGBA pixels with a two-pixel-thick diagonal stroke (or ``ink_pixels`` dots)."""
    pixels = [[background] * width for _ in range(height)]
    ink = (17, 24, 39, 255)
    if ink_pixels is None:
        for x in range(width):
            y = x * height // width
            for dy in (0, 1):
                if y + dy < height:
                    pixels[y + dy][x] = ink
    else:
        for i in range(ink_pixels):
            pixels[i // width][i % width] = ink
    return pixels


def count_ink(data: bytes) -> int:
    width, height = struct.unpack(">II", data[16:24])
    body = b""
    for kind, payload in services._png_chunks(data):
        if kind == b"IDAT":
            body += payload
    return services._ink_pixels(zlib.decompress(body), width, height, 4, 10**9)


@pytest.mark.parametrize("filters", [(0,), (1,), (2,), (3,), (4,), (0, 1, 2, 3, 4)])
def test_every_png_filter_is_reconstructed_exactly(filters):
    pixels = stroke()
    differing = sum(1 for row in pixels for p in row if p != pixels[0][0])
    expected = min(differing, len(pixels) * len(pixels[0]) - differing)
    data = make_png(pixels, filters=filters)
    assert count_ink(data) == expected
    assert services.validate_signature_png(data) == data


def test_signature_on_white_and_in_grey_is_accepted():
    white = make_png(stroke(background=(255, 255, 255, 255)), filters=(4,))
    assert services.validate_signature_png(white)
    grey = make_png([[(p[3] ^ 0xFF,) for p in row] for row in stroke()], colour=0, filters=(1,))
    assert services.validate_signature_png(grey)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Draw the signature in the box"),
        (None, "Draw the signature in the box"),
        (b"GIF89a" + bytes(100), "The signature is not a PNG image"),
        (services.PNG_MAGIC + bytes(600 * 1024), "The signature image is too large"),
        (make_png(stroke(ink_pixels=0)), "The signature is blank"),
        (make_png(stroke(ink_pixels=services.MIN_INK_PIXELS - 1)), "The signature is blank"),
        (make_png(stroke())[:-30], "The signature is not a valid PNG image"),
        (make_png(stroke(), interlace=1), "The signature is not a valid PNG image"),
        (make_png(stroke(), depth=16), "The signature is not a valid PNG image"),
        (services.PNG_MAGIC + b"\x00\x00\x00\x0dIHDR" + bytes(17), "not a valid PNG"),
    ],
)
def test_bad_signatures_are_refused_with_a_reason(data, message):
    with pytest.raises(FieldError) as caught:
        services.validate_signature_png(data)
    assert caught.value.field == "signature"
    assert message in str(caught.value.message)


def test_a_corrupted_byte_fails_the_crc_check():
    data = bytearray(make_png(stroke()))
    data[40] ^= 0x55
    with pytest.raises(FieldError):
        services.validate_signature_png(bytes(data))


def test_image_data_beyond_the_declared_size_is_refused():
    """A small header with a flood of compressed zeros behind it (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", 10, 10, 8, 6, 0, 0, 0)
    bomb = zlib.compress(bytes(50_000_000), 9)
    data = (
        services.PNG_MAGIC + _chunk(b"IHDR", header) + _chunk(b"IDAT", bomb) + _chunk(b"IEND", b"")
    )
    assert len(data) < services.SIGNATURE_MAX_BYTES
    with pytest.raises(FieldError, match="not a valid PNG"):
        services.validate_signature_png(data)


def test_data_urls_are_decoded_or_fail_the_png_check():
    data = make_png(stroke())
    import base64

    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert services.decode_signature_data_url(url) == data
    assert services.decode_signature_data_url("") == b""
    assert not services.decode_signature_data_url("data:image/jpeg;base64,AAAA").startswith(
        services.PNG_MAGIC
    )
    assert not services.decode_signature_data_url("data:image/png;base64,@@@").startswith(
        services.PNG_MAGIC
    )


# -- rent and term -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2500", Decimal("2500.00")),
        ("１，２００．５", Decimal("1200.50")),
        ("0", Decimal("0.00")),
        ("¥3,000", Decimal("3000.00")),
        (Decimal("12.3"), Decimal("12.30")),
    ],
)
def test_rent_is_normalised(raw, expected):
    assert services.validate_rent(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "required"),
        ("abc", "Enter a number"),
        ("-1", "cannot be negative"),
        ("12.345", "two decimal places"),
        ("1e12", "at most"),
        ("NaN", "Enter a number"),
    ],
)
def test_bad_rent_is_refused(raw, message):
    with pytest.raises(FieldError) as caught:
        services.validate_rent(raw)
    assert message in str(caught.value.message)


# -- on the demo district ------------------------------------------------------------------


def lease(tenants, **overrides) -> services.LeaseInput:
    values = {
        "starts_on": "2026-11-01",
        "ends_on": "2027-10-31",
        "monthly_rent": "1800",
        "landlord_choice": "owner",
        "tenants": tenants,
    }
    values.update(overrides)
    return services.LeaseInput(**values)


def landlord_signs(session, actor, cipher, filing_id: int):
    """``actor`` collects the landlord's confirmed, drawn rental pledge on a filing today."""
    return services.sign_pledge(
        session,
        actor,
        cipher,
        filing_id,
        "rental_pledge",
        signer_key="landlord",
        confirmed=True,
        signature=make_png(stroke()),
        today=DEMO_TODAY,
        now=datetime.now(UTC),
    )


def fields_of(caught) -> dict:
    return caught.value.details["fields"]


def test_attention_filter_and_reminders_agree(demo_session):
    manager = account(demo_session, "manager1")
    everything = services.list_my_dwellings(demo_session, manager, DEMO_TODAY, per_page=10_000)
    flagged = services.list_my_dwellings(
        demo_session, manager, DEMO_TODAY, attention_only=True, per_page=10_000
    )
    assert 0 < flagged.total < everything.total
    with_reminders = {row.id for row in everything.rows if services.reminders_for(row)}
    assert {row.id for row in flagged.rows} == with_reminders
    reminders = services.list_reminders(demo_session, manager, DEMO_TODAY)
    assert {r.dwelling.id for r in reminders} == with_reminders


def test_tenants_not_on_the_lease_match_plain_sql(demo_session):
    manager = account(demo_session, "manager1")
    rows = services.list_my_dwellings(demo_session, manager, DEMO_TODAY, per_page=10_000).rows
    expected = dict(
        demo_session.execute(
            text("""
            SELECT r.dwelling_id, count(*) FROM residence r
            JOIN lease_filing l ON l.dwelling_id = r.dwelling_id AND l.status = 'filed'
                 AND l.starts_on <= :d AND l.ends_on >= :d
            WHERE r.relationship = 'tenant' AND r.moved_in <= :d
              AND (r.moved_out IS NULL OR r.moved_out > :d)
              AND NOT EXISTS (SELECT 1 FROM lease_tenant t WHERE t.lease_filing_id = l.id
                              AND t.person_id = r.person_id AND t.removed_on IS NULL)
            GROUP BY r.dwelling_id"""),
            {"d": DEMO_TODAY},
        ).all()
    )
    assert any(row.tenants_not_on_lease for row in rows)
    for row in rows:
        assert row.tenants_not_on_lease == expected.get(row.id, 0), row.id


def test_reminder_kinds_follow_the_facts():
    base = dict(
        id=1,
        address="x",
        short_address="x",
        occupancy="rented",
        occupants_now=2,
        current_filing_id=None,
        current_number=None,
        current_ends_on=None,
        rental_pledge=False,
        security_guarantee=False,
        next_starts_on=None,
        latest_filing_id=None,
        latest_status=None,
        latest_ends_on=None,
        latest_ended_on=None,
        tenants_not_on_lease=0,
        tenant_residents=0,
        today=DEMO_TODAY,
    )

    def kinds(**changes):
        return [r.kind for r in services.reminders_for(services.DwellingRow(**{**base, **changes}))]

    assert kinds() == ["unfiled"]
    assert kinds(
        latest_filing_id=5, latest_status="filed", latest_ends_on=DEMO_TODAY - timedelta(days=3)
    ) == ["expired"]
    assert kinds(next_starts_on=DEMO_TODAY + timedelta(days=3)) == []
    assert kinds(occupancy="vacant") == []
    assert kinds(occupancy="vacant", tenant_residents=3) == ["tenants_unfiled"]
    current = dict(current_filing_id=7, current_ends_on=DEMO_TODAY + timedelta(days=30))
    assert kinds(**current, rental_pledge=True, security_guarantee=True) == ["ending"]
    assert kinds(**current, rental_pledge=True) == ["ending", "pledge"]
    assert (
        kinds(
            **current,
            rental_pledge=True,
            security_guarantee=True,
            next_starts_on=DEMO_TODAY + timedelta(days=31),
        )
        == []
    )
    far = dict(
        current_filing_id=7,
        current_ends_on=DEMO_TODAY + timedelta(days=31),
        rental_pledge=True,
        security_guarantee=True,
    )
    assert kinds(**far) == []
    assert kinds(**far, tenants_not_on_lease=1) == ["tenants_unlisted"]


def test_a_known_document_under_another_name_is_refused(demo_session, cipher):
    manager = account(demo_session, "manager1")
    dwelling_id = rented_unfiled_dwelling(demo_session, "manager1")
    someone = demo_session.scalars(
        select(Person).where(Person.document_type == "resident_id").limit(1)
    ).one()
    number = cipher.decrypt(bytes(someone.document_ciphertext))
    wrong = PersonInput("不是这个人", "resident_id", number)
    with pytest.raises(InvalidInput) as caught:
        services.file_lease(demo_session, manager, cipher, dwelling_id, lease([wrong]))
    assert "tenants-0-name" in fields_of(caught)
    people = demo_session.scalar(select(func.count()).select_from(Person))
    right = PersonInput(someone.name, "resident_id", number)
    filing = services.file_lease(demo_session, manager, cipher, dwelling_id, lease([right]))
    assert [t.person_id for t in filing.tenancies] == [someone.id]
    assert demo_session.scalar(select(func.count()).select_from(Person)) == people


def test_term_rules(demo_session, cipher):
    manager = account(demo_session, "manager1")
    dwelling_id = rented_unfiled_dwelling(demo_session, "manager1")
    tenant = PersonInput("测试", "resident_id", resident_id_number("19900101", "111"))
    for overrides, field, message in (
        ({"ends_on": "2047-11-02"}, "ends_on", "20 years"),
        ({"ends_on": "2026-11-01"}, "ends_on", "after the start"),
        ({"starts_on": "2026-02-30"}, "starts_on", "Not a valid date"),
        ({"starts_on": ""}, "starts_on", "required"),
        ({"landlord_choice": "previous"}, "landlord_choice", "Choose the landlord"),
    ):
        with pytest.raises(InvalidInput) as caught:
            services.file_lease(
                demo_session, manager, cipher, dwelling_id, lease([tenant], **overrides)
            )
        assert message in str(fields_of(caught)[field][0]), overrides
    filing = services.file_lease(
        demo_session, manager, cipher, dwelling_id, lease([tenant], ends_on="2046-10-31")
    )
    assert filing.ends_on == date(2046, 10, 31)


def test_filing_numbers_are_unique_and_follow_the_district(demo_session, cipher):
    manager = account(demo_session, "manager1")
    dwelling_id = rented_unfiled_dwelling(demo_session, "manager1")
    tenant = PersonInput("测试", "resident_id", resident_id_number("19900101", "112"))
    first = services.file_lease(demo_session, manager, cipher, dwelling_id, lease([tenant]))
    second = services.file_lease(
        demo_session,
        manager,
        cipher,
        dwelling_id,
        lease([tenant], starts_on="2027-11-01", ends_on="2028-10-31"),
    )
    assert first.filing_number != second.filing_number
    assert first.filing_number.startswith("420199-")
    assert (
        demo_session.scalar(
            select(func.count()).where(LeaseFiling.filing_number == first.filing_number)
        )
        == 1
    )


def test_only_managers_file_and_only_managers_and_grid_workers_sign(demo_session, cipher):
    tenant = PersonInput("测试", "resident_id", resident_id_number("19900101", "113"))
    for username in ("grid0001", "officer1", "admin"):
        with pytest.raises(Forbidden):
            services.file_lease(
                demo_session, account(demo_session, username), cipher, 1, lease([tenant])
            )
    filing_id = demo_session.scalar(select(LeaseFiling.id).limit(1))
    for username in ("officer1", "admin"):
        with pytest.raises(Forbidden):
            landlord_signs(demo_session, account(demo_session, username), cipher, filing_id)


def test_resident_tenant_is_added_from_the_dwelling(demo_session, cipher):
    manager = account(demo_session, "manager1")
    row = next(
        r
        for r in services.list_my_dwellings(demo_session, manager, DEMO_TODAY, per_page=10_000).rows
        if r.tenants_not_on_lease
    )
    shown = services.view_filing(demo_session, manager, cipher, row.current_filing_id, DEMO_TODAY)
    resident = shown.residents_not_on_lease[0]
    filing = shown.filing
    services.add_tenant(
        demo_session,
        manager,
        cipher,
        filing.id,
        filing.version,
        DEMO_TODAY,
        resident_person_id=resident.person_id,
    )
    assert (
        demo_session.scalar(
            select(func.count()).where(
                LeaseTenant.lease_filing_id == filing.id,
                LeaseTenant.person_id == resident.person_id,
            )
        )
        == 1
    )
    with pytest.raises(NotFound):  # someone who does not live there
        services.add_tenant(
            demo_session,
            manager,
            cipher,
            filing.id,
            filing.version,
            DEMO_TODAY,
            resident_person_id=shown.landlord.person_id + 10**7,
        )


def test_the_text_in_force_is_signed_and_a_double_signature_refused(demo_session, cipher):
    worker = account(demo_session, "grid0001")
    filing_id = demo_session.scalar(
        text("""
        SELECT l.id FROM lease_filing l JOIN dwelling d ON d.id = l.dwelling_id
        JOIN address a ON a.id = d.address_id
        JOIN grid_cell_worker w ON w.grid_cell_id = a.grid_cell_id
        JOIN user_account u ON u.id = w.user_id
        WHERE u.username = 'grid0001' AND l.status = 'filed' AND l.ends_on >= :d
        ORDER BY l.id LIMIT 1"""),
        {"d": DEMO_TODAY},
    )
    newer = PledgeDocument(
        kind=PledgeKind.RENTAL_PLEDGE,
        version="2026.2",
        title="新承诺书",
        body="新文本",
        effective_from=DEMO_TODAY,
    )
    later = PledgeDocument(
        kind=PledgeKind.RENTAL_PLEDGE,
        version="2027.1",
        title="将来",
        body="将来文本",
        effective_from=DEMO_TODAY + timedelta(days=1),
    )
    demo_session.add_all([newer, later])
    demo_session.flush()
    context = services.signing_context(
        demo_session, worker, cipher, filing_id, "rental_pledge", DEMO_TODAY
    )
    assert context.document.id == newer.id and context.can_sign
    pledge = landlord_signs(demo_session, worker, cipher, filing_id)
    assert pledge.pledge_document_id == newer.id
    with pytest.raises(InvalidInput) as caught:
        landlord_signs(demo_session, worker, cipher, filing_id)
    assert "already signed" in str(fields_of(caught)["signer"][0])
    assert (
        demo_session.scalar(
            select(func.count()).where(
                RentalPledge.lease_filing_id == filing_id,
                RentalPledge.pledge_document_id == newer.id,
            )
        )
        == 1
    )


def test_an_expired_or_ended_filing_takes_no_signature(demo_session, cipher):
    manager = account(demo_session, "manager1")
    expired = demo_session.scalar(
        text("""
        SELECT l.id FROM lease_filing l JOIN managed_dwelling m ON m.dwelling_id = l.dwelling_id
        JOIN user_account u ON u.id = m.user_id
        WHERE u.username = 'manager1' AND l.ends_on < :d ORDER BY l.id LIMIT 1"""),
        {"d": DEMO_TODAY},
    )
    context = services.signing_context(
        demo_session, manager, cipher, expired, "rental_pledge", DEMO_TODAY
    )
    assert context.problem is not None
    with pytest.raises(InvalidInput) as caught:
        landlord_signs(demo_session, manager, cipher, expired)
    assert "form" in fields_of(caught)


def test_demo_signatures_without_an_image_are_not_found(demo_session):
    manager = account(demo_session, "manager1")
    pledge_id = demo_session.scalar(
        text("""
        SELECT p.id FROM rental_pledge p JOIN lease_filing l ON l.id = p.lease_filing_id
        JOIN managed_dwelling m ON m.dwelling_id = l.dwelling_id
        WHERE m.user_id = :u ORDER BY p.id LIMIT 1"""),
        {"u": manager.id},
    )
    with pytest.raises(NotFound):
        services.signature_image(demo_session, manager, "rental_pledge", pledge_id)
    with pytest.raises(NotFound):
        services.signature_image(demo_session, manager, "no_such_kind", pledge_id)


def test_the_managers_list_orders_rooms_as_numbers(demo_session):
    manager = account(demo_session, "manager1")
    (first_dwelling, first), (second_dwelling, second) = demo_session.execute(
        text("""
        SELECT d.id, d.address_id FROM dwelling d JOIN managed_dwelling m ON m.dwelling_id = d.id
        JOIN user_account u ON u.id = m.user_id WHERE u.username = 'manager1'
        ORDER BY d.id LIMIT 2""")
    ).all()
    # Two rooms on one floor of one staircase: 1001 and 101, whose text sorts 1001 first.
    demo_session.execute(
        text("""
        UPDATE address a SET road_id = f.road_id, door_number = f.door_number,
               building = f.building, entrance = f.entrance, floor = 150,
               room = CASE WHEN a.id = :first THEN '1001' ELSE '101' END,
               full_text = f.full_text || CASE WHEN a.id = :first THEN '1001室' ELSE '101室' END
          FROM address f WHERE f.id = :first AND a.id IN (:first, :second)"""),
        {"first": first, "second": second},
    )
    rows = services.list_my_dwellings(demo_session, manager, DEMO_TODAY, per_page=10_000).rows
    ours = [row for row in rows if row.id in (first_dwelling, second_dwelling)]
    assert [row.id for row in ours] == [second_dwelling, first_dwelling]
    assert ours[0].short_address.endswith("101室") and ours[1].short_address.endswith("1001室")
