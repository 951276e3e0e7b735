"""The Flask app factory. ``wsgi.py`` and ``pasdienst serve`` call it.

Nothing imports this module but its callers: views get the app's database
and settings from ``web.extensions`` (``get_db``, ``get_settings``)."""
from __future__ import annotations

from flask import Flask, render_template
from werkzeug.middleware.proxy_fix import ProxyFix

from .. import labels, migrate
from ..clock import today
from ..config import Settings, load_settings
from ..db import Database
from ..access import views as access_views
from ..access import web as access_web  # noqa: F401 - registers the login manager's user loader
from ..admin import views as admin_views
from ..cooperations import views as cooperation_views
from ..maatwerk import views as maatwerk_views
from ..jobs import views as jobs_views
from ..municipalities import views as municipality_views
from ..reminders import views as reminders_views
from ..merchants import api as merchants_api
from ..wallet import views as wallet_views
from . import assets, dutch, errors, extensions, inputguard, parsing, requestlog
from ..redeem import api as redeem_api
from ..redeem import till_page
from ..settlement import views as settlement_views
from ..reports import api as reports_api
from ..reports import views as reports_views
from .api import init_api
from .extensions import DB_EXTENSION, SETTINGS_EXTENSION, get_db, get_settings
from .security import install_security_headers

API_EXTENSION = "pasdienst.api"


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    app.url_map.converters["int"] = parsing.IdConverter  # before any route is added
    app.config.update(
        SECRET_KEY=settings.secret_key,
        # Older keys keep verifying sessions after a rotation.
        SECRET_KEY_FALLBACKS=list(settings.secret_keys[:-1]),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        SESSION_COOKIE_NAME="pasdienst_session",
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.extensions[SETTINGS_EXTENSION] = settings
    app.extensions[DB_EXTENSION] = db or Database(settings.database_url)
    errors.register(app)
    requestlog.init_app(app)
    # The till's busiest request in front of Flask, inside the proxy fix.
    app.wsgi_app = redeem_api.TillLane(app)  # type: ignore[method-assign]  # Flask's documented way to wrap the WSGI app
    if settings.production:
        # Behind the load balancer: trust one hop for client address and scheme
        # (rate limits per address, HSTS and Secure cookies need them).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]  # as above (ProxyFix)
    wallet_views.init_app(app)  # /p/<token>
    reminders_views.init_public(app)  # /afmelden/<token>
    install_security_headers(app, settings)
    app.extensions[API_EXTENSION] = init_api(app)
    assets.init_app(app)
    app.jinja_env.filters.update(labels.FILTERS)  # the Dutch names of codes, once for every page
    app.jinja_env.globals.update(labels.GLOBALS)  # euros(), day(), moment() and the title tables
    dutch.init_app(app)  # Flask-Babel (nl, Amsterdam) and refusals in Dutch from the catalogue
    extensions.init_app(app, settings)
    inputguard.init_app(app)  # after the limiter and CSRF: NUL, deep JSON, endless numbers
    access_views.register(app, app.extensions[API_EXTENSION])
    app.extensions[API_EXTENSION].register_blueprint(merchants_api.api)
    app.extensions[API_EXTENSION].register_blueprint(redeem_api.api)
    app.register_blueprint(till_page.pages)  # /merchant
    app.register_blueprint(settlement_views.pages)  # /finance, /merchant/uitbetalingen
    admin_views.init_app(app)  # /admin, /merchant/signup, /toegankelijkheid
    jobs_views.init_app(app)  # /admin/taken, /admin/passen-uitgeven
    reminders_views.init_app(app)  # /admin/herinneringen, /afmelden/<token>
    cooperation_views.init_app(app)  # /admin/samenwerking
    municipality_views.init_app(app)  # /admin/contact
    maatwerk_views.init_app(app)  # /admin/maatwerk, /fonds
    app.extensions[API_EXTENSION].register_blueprint(reports_api.api)
    app.register_blueprint(reports_views.pages)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> tuple[dict[str, object], int]:
        database = app.extensions[DB_EXTENSION]
        try:
            current = migrate.is_current(database)
        except Exception as exc:  # the database is unreachable: not ready
            return {"status": "unavailable", "database": type(exc).__name__}, 503
        if not current:
            return {"status": "unavailable", "migrations": "not current"}, 503
        return {"status": "ok"}, 200

    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    @app.context_processor
    def _globals() -> dict[str, object]:
        return {"today": today(settings.today), "settings": settings}

    return app


__all__ = ["create_app", "get_db", "get_settings"]
