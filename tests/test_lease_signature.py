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
    with signature.decode_png(data) as image:
        return signature.ink_pixels(image)


def crafted_png(width: int, height: int, payload: bytes | None = None) -> bytes:
    """An RGBA PNG of one colour whose every row uses the Paeth filter, as an attacker sends.

    A few kilobytes on the wire; a hand-written decoder spent seconds of CPU on it.
    """
    rows = (
        payload
        if payload is not None
        else b"".join(b"\x04" + bytes(width * 4) for _ in range(height))
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        signature.PNG_MAGIC
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


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


@pytest.mark.parametrize("position", [40, -17])  # a chunk's type; the image data's last byte
def test_a_corrupted_byte_fails_the_crc_check(position):
    data = bytearray(make_png(stroke()))
    data[position] ^= 0x55
    with pytest.raises(FieldError, match="not a valid PNG"):
        signature.validate_signature_png(bytes(data))


def test_a_crafted_megapixel_png_is_refused_as_blank():
    """The 5 KB, 1000 x 1000 image of the review: within the limits, so decoded, and blank."""
    data = crafted_png(1000, 1000)
    assert len(data) < 8 * 1024
    with pytest.raises(FieldError, match="blank"):
        signature.validate_signature_png(data)


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (1001, 1000, "The signature image is too large"),
        (2001, 10, "The signature image is too large"),
        (10, 2001, "The signature image is too large"),
        (0, 10, "The signature is not a valid PNG image"),
    ],
)
def test_an_image_beyond_the_pixel_limit_is_refused_before_it_is_decoded(
    width, height, message, monkeypatch
):
    def never(*args, **kwargs):
        raise AssertionError("decoded an image beyond the limits")

    monkeypatch.setattr(signature.Image.Image, "load", never)
    with pytest.raises(FieldError) as caught:
        signature.validate_signature_png(crafted_png(width, height, payload=b"\x00" * 16))
    assert str(caught.value.message) == message


def test_image_data_beyond_the_declared_size_is_refused():
    """A small header with a flood of compressed zeros behind it (a decompression bomb).

    Pillow stops inflating once the declared 10 x 10 pixels are filled; they are blank.
    """
    header = struct.pack(">IIBBBBB", 10, 10, 8, 6, 0, 0, 0)
    bomb = zlib.compress(bytes(50_000_000), 9)
    data = signature.PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", bomb) + chunk(b"IEND", b"")
    assert len(data) < signature.SIGNATURE_MAX_BYTES
    with pytest.raises(FieldError, match="blank"):
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
