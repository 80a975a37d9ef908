"""webide: a self-hosted Web IDE with sandboxed server-side compilation and OTA delivery for ESP32 bots."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Settings, load_or_create_secret, load_settings
from .core.errors import Unauthorized
from .core.firmware.signing import signing_key
from .errors import register_error_handlers, wants_json
from .extensions import csrf, db, login_manager
from .request_input import StrictJSONProvider

ROOT = Path(__file__).resolve().parent.parent
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, realtime_server: bool = True) -> Flask:
    """Application factory: bind the extensions and register one blueprint per area.

    ``realtime_server=False`` (Celery workers) skips the Socket.IO server; events are still published.
    """
    settings = settings or load_settings()
    prepare_data_dir(settings)
    signing_key(settings)  # created on first start; a key others may read stops the service with the reason
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.json = StrictJSONProvider(app)
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=load_or_create_secret(settings.data_dir),
        SQLALCHEMY_DATABASE_URI=settings.database_uri,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in protect_forms(), which knows about bearer tokens
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
    )
    app.config.update(settings.extra)
    if settings.proxy_count:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=settings.proxy_count, x_proto=settings.proxy_count, x_host=settings.proxy_count
        )
    bind_extensions(app, settings, realtime_server)
    register_blueprints(app)
    register_error_handlers(app)
    return app


def prepare_data_dir(settings: Settings) -> None:
    for folder in (settings.data_dir, settings.artifacts_dir, settings.work_dir, settings.cache_dir, settings.log_dir):
        folder.mkdir(parents=True, exist_ok=True)
    # Traversable but not listable: the unprivileged sandbox user must reach the build folders below it, while the
    # database, secret key and credentials in it are private to the service (mode 0600).
    settings.data_dir.chmod(0o711)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """WAL lets the web server read while a worker writes; a busy timeout instead of 'database is locked'."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across crashes, one fsync per checkpoint
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def bind_extensions(app: Flask, settings: Settings, realtime_server: bool) -> None:
    from .auth.sessions import load_request_principal, load_session_principal

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login_page"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_principal)
    login_manager.request_loader(load_request_principal)

    @login_manager.unauthorized_handler
    def unauthorized():  # type: ignore[no-untyped-def]
        if wants_json():
            raise Unauthorized("Log in first")
        from flask import redirect, url_for

        return redirect(url_for("auth.login_page", next=request.path))

    @app.before_request
    def protect_forms() -> None:
        # Bearer-token clients and devices prove themselves in a header a cross-site page cannot set.
        view = app.view_functions.get(request.endpoint or "")
        if (
            request.method in UNSAFE_METHODS
            and "Authorization" not in request.headers
            and not getattr(view, "csrf_exempt", False)
        ):
            csrf.protect()

    @app.context_processor
    def inject_user() -> dict:
        return {"current_user": current_user}

    from .celery_app import celery_init_app
    from .realtime import init_realtime

    celery_init_app(app, settings)
    init_realtime(app, settings, realtime_server)


def register_blueprints(app: Flask) -> None:
    from . import admin, api, auth, builds, classroom, devices, editor, fleet, home, ops, ota

    for area in (admin, auth, builds, classroom, devices, editor, fleet, home, ota, ops, api):
        app.register_blueprint(area.bp)
