"""The page number of a paginated list, read safely from the query string."""

from __future__ import annotations

from flask import request, url_for

# Far beyond any real list, and small enough that OFFSET never overflows a bigint.
LAST_PAGE_ALLOWED = 100_000


def page_number() -> int:
    """``?page=`` as an int in 1..LAST_PAGE_ALLOWED; anything else is page 1."""
    raw = request.args.get("page", "1")
    if not raw.isdigit():
        return 1
    return min(max(1, int(raw)), LAST_PAGE_ALLOWED)


def page_url(number: int) -> str:
    """This page with another page number, keeping the other query arguments."""
    args = request.args.to_dict()
    args["page"] = number
    return url_for(request.endpoint, **(request.view_args or {}), **args)
