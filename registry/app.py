"""create_app(): configuration, database, blueprints, language, security and error pages."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session, sessionmaker

from registry.clock import deployment_zone
from registry.config import PROJECT_ROOT, Settings, load_settings
from registry.db import make_engine, make_session_factory
from registry.person.identity import IdentityCipher

csrf = CSRFProtect()


def create_app(
    settings: Settings | None = None,
    session_factory: sessionmaker[Session] | None = None,
    **overrides,
) -> Flask:
    """Build the app; tests pass ``session_factory`` bound to their rolled-back transaction."""
    settings = settings or load_settings()
    deployment_zone()  # refuse to start on a mistyped REGISTRY_TIMEZONE
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(settings.instance_path),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        REGISTRY_DATA_KEY=settings.data_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,  # REGISTRY_SESSION_COOKIE_SECURE=true behind HTTPS
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=30),
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
    )
    app.config.from_prefixed_env("REGISTRY")
    app.config.update(overrides)
    if session_factory is None:
        from registry.cli import database_url

        session_factory = make_session_factory(
            make_engine(database_url(settings)), audit_key=settings.audit_key
        )
    app.extensions["registry.session_factory"] = session_factory
    app.extensions["registry.cipher"] = IdentityCipher(settings.data_key)
    if app.config.get("PROXY_FIX"):
        # Behind a reverse proxy: trust one hop for the client address and scheme, so the
        # per-address login limit sees real clients (REGISTRY_PROXY_FIX=1).
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    _init_extensions(app)
    _register_blueprints(app)
    app.jinja_env.globals["role_label"] = role_label
    return app


def _init_extensions(app: Flask) -> None:
    from registry.accounts.views import login_manager
    from registry.web.assets import init_assets
    from registry.web.errors import init_error_handlers
    from registry.web.i18n import init_i18n
    from registry.web.navigation import init_navigation
    from registry.web.results import init_results
    from registry.web.session import init_request_sessions

    csrf.init_app(app)
    login_manager.init_app(app)
    init_i18n(app)
    init_request_sessions(app)
    init_error_handlers(app)
    init_navigation(app)
    init_assets(app)
    init_results(app)


def _register_blueprints(app: Flask) -> None:
    from registry.accounts.views import blueprint as accounts
    from registry.admin.views import blueprint as admin
    from registry.dashboard.views import blueprint as dashboard
    from registry.flags.views import flags_blueprint as flags
    from registry.flags.views import rules_blueprint as rules
    from registry.grid.views import blueprint as gridwork
    from registry.lease.views import blueprint as leases
    from registry.map.views import BLUEPRINTS as map_blueprints
    from registry.sweeps.views import blueprint as sweeps
    from registry.web.home import blueprint as home

    blueprints = (accounts, home, gridwork, leases, dashboard, admin, rules, flags, sweeps)
    for blueprint in (*blueprints, *map_blueprints):
        app.register_blueprint(blueprint)


def role_label(role) -> str:
    """The role's name in the user's language, for templates."""
    from registry.labels import ROLE_LABELS, label_of

    return label_of(ROLE_LABELS, role)
