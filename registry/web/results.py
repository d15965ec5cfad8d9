"""The way back from a record to the search results it was opened from.

A results page adds to each record link either the kept search's token (a personal search,
registry/searches) or the door number searched for (non-personal, already in the URL);
a list page with filters or pages (the manager's dwellings, the grid worker's cell, the
officer's list behind a figure) adds its own arguments as ``list``. The record page turns
that into its "back to results" link.
Only those shapes, and only a list's known arguments, are accepted, so the link can only
lead to this site's own results pages.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import Flask, request, url_for

from registry.searches.services import TOKEN_PATTERN
from registry.validators import classify_query

RESULTS_PAGES = {"gridwork": "gridwork.search_results", "dashboard": "dashboard.lookup_results"}
SEARCH_PAGES = {"gridwork": "gridwork.search", "dashboard": "dashboard.lookup"}
# List pages whose filters and page number a record's way back keeps: (endpoint, arguments).
LIST_PAGES = {
    "leases": ("leases.my_dwellings", ("q", "show", "page")),
    "gridwork": ("gridwork.my_cells", ("cell", "show", "page")),
    "dashboard": ("dashboard.figure_list", ("measure", "station", "community", "cell", "page")),
}
LIST_ARG = "list"
MAX_LIST_VALUE = 100


def results_args(token: str | None, text: str | None = None) -> dict[str, str]:
    """The query arguments a results page adds to its record links."""
    if token:
        return {"results": token}
    if text and not classify_query(text).kind.is_personal:
        return {"q": text}
    return {}


def _list_values(blueprint: str, encoded: str) -> dict[str, str]:
    """The list's own arguments out of ``encoded``; nothing else, nothing personal."""
    _endpoint, names = LIST_PAGES[blueprint]
    values = {}
    for name, value in parse_qsl(encoded[: 4 * MAX_LIST_VALUE]):
        if name in names and value and len(value) <= MAX_LIST_VALUE:
            if name == "q" and classify_query(value).kind.is_personal:
                continue
            values[name] = value
    return values


def list_args() -> dict[str, str]:
    """What a list page adds to its record links: its filters and page, if any."""
    blueprint = request.blueprint or ""
    if blueprint not in LIST_PAGES or request.endpoint != LIST_PAGES[blueprint][0]:
        return {}
    # The list's own path arguments (the officer's list names its figure in the path).
    path_values = [(name, str(value)) for name, value in (request.view_args or {}).items()]
    values = _list_values(blueprint, urlencode(path_values + list(request.args.items(multi=True))))
    return {LIST_ARG: urlencode(values)} if values else {}


def back_to_results() -> str | None:
    """The results page this record was opened from, or None."""
    blueprint = request.blueprint or ""
    list_pages = {endpoint for endpoint, _names in LIST_PAGES.values()}
    if request.endpoint in {*RESULTS_PAGES.values(), *SEARCH_PAGES.values(), *list_pages}:
        return None  # the results themselves
    if request.args.get(LIST_ARG) and blueprint in LIST_PAGES:
        values = _list_values(blueprint, request.args[LIST_ARG])
        return url_for(LIST_PAGES[blueprint][0], **values) if values else None
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
    app.jinja_env.globals["list_args"] = list_args
