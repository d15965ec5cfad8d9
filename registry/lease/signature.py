"""The drawn signature of a pledge: a ``data:`` URL from the canvas, checked as a PNG.

Pillow decodes the image; this module decides what it will ask Pillow to decode. The
header is read first and an image larger than :data:`SIGNATURE_MAX_PIXELS` is refused
before a single row is inflated (Pillow's own decompression-bomb limit is ~89 million
pixels, far more than a signature box), and every chunk's checksum is verified before
decoding, because Pillow skips the checksums of the image data when it loads.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct
import zlib

import numpy as np
from flask_babel import lazy_gettext as _l
from PIL import Image

from registry.validators import FieldError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SIGNATURE_MAX_BYTES = 500 * 1024
SIGNATURE_MAX_SIDE = 2000
# The canvas sends the box at its CSS size (at most a screen wide, 280 px high).
SIGNATURE_MAX_PIXELS = 1_000_000
# A signature needs more ink than a stray tap: pixels that differ from the background.
MIN_INK_PIXELS = 40

# What a malformed PNG makes Pillow raise: SyntaxError for a broken chunk, OSError for
# truncated or undecodable data, ValueError and struct/zlib errors from deeper down.
_DECODING_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


def decode_signature_data_url(value: str | None) -> bytes:
    """The bytes of a ``data:image/png;base64,...`` URL as a canvas sends it.

    Anything malformed comes back as bytes that fail the PNG check, so the user sees one
    clear message about the signature rather than a different one per way of going wrong.
    """
    text = (value or "").strip()
    if not text:
        return b""
    prefix = "data:image/png;base64,"
    if not text.startswith(prefix):
        return b"not a png data url"
    try:
        return base64.b64decode(text[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        return b"not base64"


class TooLarge(ValueError):
    """The header declares more pixels than a signature box holds."""


def _within_limits(size: tuple[int, int]) -> bool:
    width, height = size
    return (
        0 < width <= SIGNATURE_MAX_SIDE
        and 0 < height <= SIGNATURE_MAX_SIDE
        and width * height <= SIGNATURE_MAX_PIXELS
    )


def decode_png(data: bytes) -> Image.Image:
    """The decoded image; TooLarge, or a Pillow error, when it is no PNG we accept.

    Opening reads only the header, so the size is checked before anything is inflated;
    ``verify`` checks every chunk's CRC up to IEND without decompressing; only then is the
    image opened again and decoded.
    """
    with Image.open(io.BytesIO(data), formats=["PNG"]) as header:
        if not _within_limits(header.size):
            raise TooLarge(header.size)
        header.verify()
    image = Image.open(io.BytesIO(data), formats=["PNG"])
    image.load()
    return image


def ink_pixels(image: Image.Image) -> int:
    """How much ink: the smaller of the pixels equal to the top-left one and the others.

    Whichever of the two is the background, a signature has enough of each.
    """
    pixels = np.asarray(image)
    pixels = pixels.reshape(pixels.shape[0], pixels.shape[1], -1)
    differing = int(np.count_nonzero((pixels != pixels[0, 0]).any(axis=2)))
    return min(differing, pixels.shape[0] * pixels.shape[1] - differing)


def validate_signature_png(data: bytes | None, field_name: str = "signature") -> bytes:
    """A drawn signature: a well-formed PNG under 500 KB, at most 1 Mpx, with real ink on it."""
    if not data:
        raise FieldError(field_name, _l("Draw the signature in the box"))
    if len(data) > SIGNATURE_MAX_BYTES:
        raise FieldError(field_name, _l("The signature image is too large"))
    if not data.startswith(PNG_MAGIC):
        raise FieldError(field_name, _l("The signature is not a PNG image"))
    try:
        with decode_png(data) as image:
            ink = ink_pixels(image)
    except TooLarge:
        raise FieldError(field_name, _l("The signature image is too large")) from None
    except _DECODING_ERRORS:
        raise FieldError(field_name, _l("The signature is not a valid PNG image")) from None
    if ink < MIN_INK_PIXELS:
        raise FieldError(field_name, _l("The signature is blank: draw it in the box"))
    return data
