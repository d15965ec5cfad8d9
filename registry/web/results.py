"""The way back from a record to the search results it was opened from.

A results page adds to each record link either the kept search's token (a personal search,
registry/searches) or the door number searched for (non-personal, already in the URL);
the record page turns that into its "back to results" link. Only those two shapes are
accepted, so the link can only lead to this site's own results pages.
"""

from __future__ import annotations

from flask import Flask, request, url_for

from registry.searches.services import TOKEN_PATTERN
from registry.validators import classify_query

RESULTS_PAGES = {"gridwork": "gridwork.search_results", "dashboard": "dashboard.lookup_results"}
SEARCH_PAGES = {"gridwork": "gridwork.search", "dashboard": "dashboard.lookup"}


def results_args(token: str | None, text: str | None = None) -> dict[str, str]:
    """The query arguments a results page adds to its record links."""
    if token:
        return {"results": token}
    if text and not classify_query(text).kind.is_personal:
        return {"q": text}
    return {}


def back_to_results() -> str | None:
    """The results page this record was opened from, or None."""
    blueprint = request.blueprint or ""
    if request.endpoint in {*RESULTS_PAGES.values(), *SEARCH_PAGES.values()}:
        return None  # the results themselves
    token = request.args.get("results", "")
    if token and TOKEN_PATTERN.fullmatch(token) and blueprint in RESULTS_PAGES:
        return url_for(RESULTS_PAGES[blueprint], token=token)
    text = request.args.get("q", "")
    if text and blueprint in SEARCH_PAGES and not classify_query(text).kind.is_personal:
        extra = {"kind": "dwelling"} if blueprint == "dashboard" else {}
        return url_for(SEARCH_PAGES[blueprint], q=text, **extra)
    return None


def init_results(app: Flask) -> None:
    app.jinja_env.globals["back_to_results"] = back_to_results
