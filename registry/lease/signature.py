"""The drawn signature of a pledge: a ``data:`` URL from the canvas, checked as a PNG."""

from __future__ import annotations

import base64
import binascii
import struct
import zlib

import numpy as np
from flask_babel import lazy_gettext as _l

from registry.validators import FieldError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SIGNATURE_MAX_BYTES = 500 * 1024
SIGNATURE_MAX_SIDE = 2000
SIGNATURE_MAX_PIXELS = 1_000_000  # keeps the worst-case decode near a second
# A signature needs more ink than a stray tap: pixels that differ from the background.
MIN_INK_PIXELS = 40
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel (8-bit only)


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


def _png_chunks(data: bytes):
    """(type, payload) of each chunk after the signature, CRC-checked."""
    position = len(PNG_MAGIC)
    while position < len(data):
        if position + 12 > len(data):
            raise ValueError("truncated chunk")
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        end = position + 8 + length
        if end + 4 > len(data):
            raise ValueError("truncated chunk")
        payload = data[position + 8 : end]
        (crc,) = struct.unpack(">I", data[end : end + 4])
        if zlib.crc32(kind + payload) & 0xFFFFFFFF != crc:
            raise ValueError("bad CRC")
        yield kind, payload
        if kind == b"IEND":
            return
        position = end + 4
    raise ValueError("no IEND")


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter_row(kind: int, line: np.ndarray, prior: np.ndarray, bpp: int) -> np.ndarray:
    """One scanline reconstructed (PNG spec 9.2); None, Sub and Up in numpy."""
    if kind == 0:
        return line
    if kind == 1:
        summed = np.cumsum(line.reshape(-1, bpp).astype(np.uint32), axis=0)
        return (summed & 0xFF).astype(np.uint8).reshape(-1)
    if kind == 2:
        return line + prior  # uint8 arithmetic wraps modulo 256 as the spec wants
    if kind not in (3, 4):
        raise ValueError("unknown filter")
    raw, up = line.tolist(), prior.tolist()
    out = [0] * len(raw)
    for i, value in enumerate(raw):
        left = out[i - bpp] if i >= bpp else 0
        if kind == 3:
            out[i] = (value + ((left + up[i]) >> 1)) & 0xFF
        else:
            upper_left = up[i - bpp] if i >= bpp else 0
            out[i] = (value + _paeth(left, up[i], upper_left)) & 0xFF
    return np.array(out, dtype=np.uint8)


def _ink_pixels(raw: bytes, width: int, height: int, channels: int, enough: int) -> int:
    """How much ink: the smaller of the pixels equal to the top-left one and the others.

    Whichever of the two is the background, a signature has ``enough`` of each; the scan
    stops as soon as that is certain, so a real signature rarely needs the whole image.
    """
    stride = width * channels
    prior = np.zeros(stride, dtype=np.uint8)
    corner = None
    differing = 0
    seen = 0
    for y in range(height):
        start = y * (stride + 1)
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1)
        row = _unfilter_row(raw[start], line, prior, channels)
        pixels = row.reshape(width, channels)
        if corner is None:
            corner = pixels[0].copy()
        differing += int(np.count_nonzero((pixels != corner).any(axis=1)))
        seen += width
        if differing >= enough and seen - differing >= enough:
            return min(differing, seen - differing)
        prior = row
    return min(differing, seen - differing)


def validate_signature_png(data: bytes | None, field_name: str = "signature") -> bytes:
    """A drawn signature: a well-formed 8-bit PNG under 500 KB with real ink on it."""
    if not data:
        raise FieldError(field_name, _l("Draw the signature in the box"))
    if len(data) > SIGNATURE_MAX_BYTES:
        raise FieldError(field_name, _l("The signature image is too large"))
    if not data.startswith(PNG_MAGIC):
        raise FieldError(field_name, _l("The signature is not a PNG image"))
    try:
        chunks = list(_png_chunks(data))
        if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
            raise ValueError("no IHDR")
        width, height, depth, colour, compression, filtering, interlace = struct.unpack(
            ">IIBBBBB", chunks[0][1]
        )
        channels = _CHANNELS.get(colour)
        if (
            channels is None
            or depth != 8
            or compression
            or filtering
            or interlace
            or not 0 < width <= SIGNATURE_MAX_SIDE
            or not 0 < height <= SIGNATURE_MAX_SIDE
            or width * height > SIGNATURE_MAX_PIXELS
        ):
            raise ValueError("unsupported image")
        expected = height * (1 + width * channels)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(b"".join(p for k, p in chunks if k == b"IDAT"), expected + 1)
        if len(raw) != expected:
            raise ValueError("wrong amount of image data")
        ink = _ink_pixels(raw, width, height, channels, MIN_INK_PIXELS)
    except (ValueError, zlib.error, struct.error):
        raise FieldError(field_name, _l("The signature is not a valid PNG image")) from None
    if ink < MIN_INK_PIXELS:
        raise FieldError(field_name, _l("The signature is blank: draw it in the box"))
    return data
