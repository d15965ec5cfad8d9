"""Access logs without query strings: what a user typed into a URL never reaches a log file.

Searches for people are POSTs, but a query string can still carry personal data: an old
bookmark, a hand-typed URL, a refused GET. Log lines keep the method, the path and the
status, and show only that a query was there. ``registry serve`` logs through
:class:`RedactedRequestHandler`; gunicorn reads ``gunicorn.conf.py`` at the project root,
whose access-log format has the path without the query and no referrer.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.serving import WSGIRequestHandler

REDACTED = "?[redacted]"
_QUERY_RE = re.compile(r"\?[^\s\"']*")

# gunicorn's default format logs "%(r)s" (the request line with its query) and "%(f)s"
# (the referrer, whose query may hold a search); %(U)s is the path alone.
GUNICORN_ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


def redact_queries(text: str) -> str:
    """``text`` with every URL query replaced: "GET /cells/search?[redacted] HTTP/1.1"."""
    return _QUERY_RE.sub(REDACTED, text)


class RedactedRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, logging request lines and errors without queries."""

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, redact_queries(message), *(redact_queries(str(a)) for a in args))
