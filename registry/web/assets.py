"""Static files and map data for weak connections: fingerprinted, cached, compressed.

On a tablet in a stairwell, every byte and every round trip counts:

- ``url_for('static', …)`` adds a fingerprint of the file's content (``?v=…``); a request
  carrying the current fingerprint is answered with a year's ``immutable`` cache lifetime,
  so pages never re-check their CSS and scripts. A changed file gets a new URL. Without
  the fingerprint (an old bookmark) the file must be revalidated (``no-cache``, ETag).
- Static files, GeoJSON and map tiles are sent with brotli or gzip when the browser
  accepts it; a static file is compressed once per version and kept in memory.
- HTML is never compressed here: pages carry a CSRF token next to text the user typed,
  and compressing the two together lets an eavesdropper guess the token from the sizes
  (BREACH). They are small; the weight is in the scripts and tiles.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from functools import lru_cache

import brotli
from flask import Flask, Response, request
from werkzeug.security import safe_join

FINGERPRINT_ARG = "v"
YEAR = 365 * 24 * 3600
MIN_COMPRESSED_SIZE = 512  # below a packet, compressing saves nothing
COMPRESSIBLE = {
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/geo+json",
    "image/svg+xml",
    "application/vnd.mapbox-vector-tile",
    "application/x-protobuf",
}
ENCODINGS = ("br", "gzip")


@lru_cache(maxsize=1024)
def _digest(path: str, mtime: float, size: int) -> str:
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()[:16]


def fingerprint(app: Flask, filename: str) -> str | None:
    """A short hash of the static file's content, or None when there is no such file."""
    path = safe_join(app.static_folder, filename)
    if path is None or not os.path.isfile(path):
        return None
    stat = os.stat(path)
    return _digest(path, stat.st_mtime, stat.st_size)


@lru_cache(maxsize=256)
def _compressed_file(path: str, mtime: float, size: int, encoding: str) -> bytes:
    with open(path, "rb") as file:
        return compress(file.read(), encoding, once=True)


def compress(data: bytes, encoding: str, once: bool = False) -> bytes:
    """``data`` compressed for ``encoding``: hard for a static file, compressed ``once`` per
    version and kept; fast for a response made per request (map tiles, GeoJSON), where
    brotli's quality 9 cost ~20 ms for a 40 KB tile against under 1 ms at 5, for a body
    about as small."""
    if encoding == "br":
        return brotli.compress(data, quality=9 if once else 5)
    return gzip.compress(data, compresslevel=9 if once else 6, mtime=0)


def _chosen_encoding(response: Response) -> str | None:
    """The encoding to send this response with, or None to send it as it is."""
    if response.status_code != 200 or response.headers.get("Content-Encoding"):
        return None
    if response.mimetype not in COMPRESSIBLE or "Content-Range" in response.headers:
        return None
    accepted = request.accept_encodings
    return next((e for e in ENCODINGS if accepted[e]), None)


def _compressed_body(app: Flask, response: Response, encoding: str) -> bytes:
    if request.endpoint == "static":
        path = safe_join(app.static_folder, request.view_args["filename"])
        stat = os.stat(path)
        return _compressed_file(path, stat.st_mtime, stat.st_size, encoding)
    return compress(response.get_data(), encoding)


def _compress(app: Flask, response: Response) -> Response:
    response.vary.add("Accept-Encoding")
    encoding = _chosen_encoding(response)
    if encoding is None:
        return response
    response.direct_passthrough = False
    original = response.content_length or len(response.get_data())
    if original < MIN_COMPRESSED_SIZE:
        return response
    body = _compressed_body(app, response, encoding)
    if len(body) >= original:
        return response
    response.set_data(body)
    response.headers["Content-Encoding"] = encoding
    if response.get_etag()[0]:
        etag, weak = response.get_etag()
        response.set_etag(f"{etag}-{encoding}", weak=weak)
    return response


def _cache_static(app: Flask, response: Response) -> None:
    current = fingerprint(app, request.view_args.get("filename", ""))
    if current is not None and request.args.get(FINGERPRINT_ARG) == current:
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"


def init_assets(app: Flask) -> None:
    @app.url_defaults
    def _add_fingerprint(endpoint: str, values: dict) -> None:
        if endpoint == "static" and FINGERPRINT_ARG not in values:
            digest = fingerprint(app, values.get("filename", ""))
            if digest is not None:
                values[FINGERPRINT_ARG] = digest

    @app.after_request
    def _weak_connection(response: Response) -> Response:
        if request.endpoint == "static":
            _cache_static(app, response)
        if response.mimetype == "text/html":
            return response  # BREACH: never compress pages that carry a CSRF token
        return _compress(app, response)
