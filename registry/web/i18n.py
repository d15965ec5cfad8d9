"""Language choice: Simplified Chinese by default, English on request."""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel, get_locale

SUPPORTED_LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


def select_locale() -> str:
    """An explicit choice (?lang= or the session) wins; the browser's wish comes next."""
    asked = request.args.get("lang")
    if asked in SUPPORTED_LOCALES:
        session["locale"] = asked
    chosen = session.get("locale")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return request.accept_languages.best_match(SUPPORTED_LOCALES, DEFAULT_LOCALE)


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(app.root_path + "/translations")
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
