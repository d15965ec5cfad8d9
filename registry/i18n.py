"""Translated messages are text, never markup, wherever they are shown.

Flask-Babel's lazy strings declare themselves safe HTML: ``LazyString.__html__`` returns the
translated text as it is. A message that interpolates what a user typed, such as
``_l("The shape overlaps grid cell %(name)s", name=cell.name)``, would then reach a page
(through Jinja's autoescape, ``markupsafe.escape`` or a WTForms widget) as markup, and a
cell named ``"><svg onload=alert(2)>`` would run in the administrator's browser.

No message of this registry holds markup, so every lazy string escapes itself like any
other text. The fix is made here, for every lazy string whoever made it, instead of at each
call site that might forget. Only ``__html__`` changes: ``str()`` stays the plain text, so
flash messages, JSON, spreadsheets and logs get the text once, not escaped twice.
"""

from __future__ import annotations

from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape


def _escaped_html(self: LazyString) -> Markup:
    return escape(str(self))


def make_lazy_strings_text() -> None:
    """Make every Flask-Babel lazy string escape itself in HTML (idempotent)."""
    LazyString.__html__ = _escaped_html
