"""Lease test helpers: PNGs drawn byte by byte, a lease to file, a pledge to collect."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime

from flask import Flask
from flask_babel import force_locale
from helpers import DEMO_TODAY

from registry.lease import filings, pledges
from registry.lease.signature import PNG_MAGIC
from registry.web.i18n import init_i18n


def png_filter(kind: int, raw: bytes, prior: bytes, bpp: int) -> bytes:
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


def chunk(kind: bytes, data: bytes) -> bytes:
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
        body += bytes([kind]) + png_filter(kind, raw, prior, bpp)
        prior = raw
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    return (
        PNG_MAGIC
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(body))
        + chunk(b"IEND", b"")
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


def lease(tenants, **overrides) -> filings.LeaseInput:
    values = {
        "starts_on": "2026-11-01",
        "ends_on": "2027-10-31",
        "monthly_rent": "1800",
        "landlord_choice": "owner",
        "tenants": tenants,
    }
    values.update(overrides)
    return filings.LeaseInput(**values)


def landlord_signs(session, actor, cipher, filing_id: int):
    """``actor`` collects the landlord's confirmed, drawn rental pledge on a filing today."""
    return pledges.sign_pledge(
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


def shown_in(locale: str, message) -> str:
    """A lazy message as a page in ``locale`` shows it."""
    app = Flask("registry")
    init_i18n(app)
    with app.test_request_context(), force_locale(locale):
        return str(message)
