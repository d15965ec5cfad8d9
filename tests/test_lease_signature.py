"""The signature check: a drawn PNG with enough ink, refused clearly in every other case."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest
from lease_helpers import chunk, make_png, stroke

from registry.lease import signature
from registry.validators import FieldError


def count_ink(data: bytes) -> int:
    width, height = struct.unpack(">II", data[16:24])
    body = b""
    for kind, payload in signature._png_chunks(data):
        if kind == b"IDAT":
            body += payload
    return signature._ink_pixels(zlib.decompress(body), width, height, 4, 10**9)


@pytest.mark.parametrize("filters", [(0,), (1,), (2,), (3,), (4,), (0, 1, 2, 3, 4)])
def test_every_png_filter_is_reconstructed_exactly(filters):
    pixels = stroke()
    differing = sum(1 for row in pixels for p in row if p != pixels[0][0])
    expected = min(differing, len(pixels) * len(pixels[0]) - differing)
    data = make_png(pixels, filters=filters)
    assert count_ink(data) == expected
    assert signature.validate_signature_png(data) == data


def test_signature_on_white_and_in_grey_is_accepted():
    white = make_png(stroke(background=(255, 255, 255, 255)), filters=(4,))
    assert signature.validate_signature_png(white)
    grey = make_png([[(p[3] ^ 0xFF,) for p in row] for row in stroke()], colour=0, filters=(1,))
    assert signature.validate_signature_png(grey)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Draw the signature in the box"),
        (None, "Draw the signature in the box"),
        (b"GIF89a" + bytes(100), "The signature is not a PNG image"),
        (signature.PNG_MAGIC + bytes(600 * 1024), "The signature image is too large"),
        (make_png(stroke(ink_pixels=0)), "The signature is blank"),
        (make_png(stroke(ink_pixels=signature.MIN_INK_PIXELS - 1)), "The signature is blank"),
        (make_png(stroke())[:-30], "The signature is not a valid PNG image"),
        (make_png(stroke(), interlace=1), "The signature is not a valid PNG image"),
        (make_png(stroke(), depth=16), "The signature is not a valid PNG image"),
        (signature.PNG_MAGIC + b"\x00\x00\x00\x0dIHDR" + bytes(17), "not a valid PNG"),
    ],
)
def test_bad_signatures_are_refused_with_a_reason(data, message):
    with pytest.raises(FieldError) as caught:
        signature.validate_signature_png(data)
    assert caught.value.field == "signature"
    assert message in str(caught.value.message)


def test_a_corrupted_byte_fails_the_crc_check():
    data = bytearray(make_png(stroke()))
    data[40] ^= 0x55
    with pytest.raises(FieldError):
        signature.validate_signature_png(bytes(data))


def test_image_data_beyond_the_declared_size_is_refused():
    """A small header with a flood of compressed zeros behind it (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", 10, 10, 8, 6, 0, 0, 0)
    bomb = zlib.compress(bytes(50_000_000), 9)
    data = signature.PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", bomb) + chunk(b"IEND", b"")
    assert len(data) < signature.SIGNATURE_MAX_BYTES
    with pytest.raises(FieldError, match="not a valid PNG"):
        signature.validate_signature_png(data)


def test_data_urls_are_decoded_or_fail_the_png_check():
    data = make_png(stroke())
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert signature.decode_signature_data_url(url) == data
    assert signature.decode_signature_data_url("") == b""
    assert not signature.decode_signature_data_url("data:image/jpeg;base64,AAAA").startswith(
        signature.PNG_MAGIC
    )
    assert not signature.decode_signature_data_url("data:image/png;base64,@@@").startswith(
        signature.PNG_MAGIC
    )


# -- rent and term -------------------------------------------------------------------------
