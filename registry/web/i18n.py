"""Language choice: Simplified Chinese by default, English on request."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, request, session
from flask_babel import Babel, get_locale

from registry.clock import deployment_zone

SUPPORTED_LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


def select_locale() -> str:
    """An explicit choice (?lang=, remembered in the session) or else Simplified Chinese."""
    asked = request.args.get("lang")
    if asked in SUPPORTED_LOCALES:
        session["locale"] = asked
    chosen = session.get("locale")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    # Chinese unless the user picks English: an office PC's browser language says little
    # about the person using it, and the pages are written for Chinese first.
    return DEFAULT_LOCALE


def language_switch_url(locale: str) -> str:
    """This page in another language, keeping its query; a POST result goes to its page."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [locale]
    rule = request.url_rule
    if request.method == "GET" or (rule is not None and "GET" in (rule.methods or ())):
        path = request.path
    else:
        # A page that only answers POST (a reveal): back to the page the form was on.
        referrer = request.referrer or ""
        own = referrer.startswith(request.host_url)
        path = referrer.split("?")[0][len(request.host_url) - 1 :] if own else "/"
        return f"{path}?lang={locale}"
    query = "&".join(f"{quote(k)}={quote(v)}" for k, values in args.items() for v in values)
    return f"{path}?{query}"


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    # Dates and times on the pages are shown in the deployment's zone, like "today".
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", deployment_zone().key)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(app.root_path + "/translations")
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["language_switch_url"] = language_switch_url
