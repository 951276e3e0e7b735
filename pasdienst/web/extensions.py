"""The Flask extensions every blueprint shares: CSRF, rate limits, logins.

Created unbound here and bound in ``create_app`` through ``init_app``, so a
blueprint can decorate its views at import time::

    from pasdienst.web.extensions import limiter

    @limiter.limit("120/minute", key_func=rate_limit_key)   # pasdienst.access.web
    def scan(): ...

A limit that is hit answers 429 with the code ``rate_limited`` (problem+json
on ``/api/``, a Dutch page elsewhere: ``pasdienst.web.errors``).
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from ..config import Settings
from ..db import Database

#: Where ``create_app`` keeps the app's database and settings.
DB_EXTENSION = "pasdienst.db"
SETTINGS_EXTENSION = "pasdienst.settings"


def get_db(app: Flask) -> Database:
    """The app's database (views call ``get_db(current_app)``)."""
    return app.extensions[DB_EXTENSION]


def get_settings(app: Flask) -> Settings:
    return app.extensions[SETTINGS_EXTENSION]


class PasdienstCSRF(CSRFProtect):
    """CSRF on every form and on every cookie-authenticated API call.

    CSRF is an attack on *ambient* credentials, the session cookie. So on
    ``/api/`` a request that carries an ``Authorization`` header is left alone:
    ``pasdienst.access.web.requires`` then authenticates it by that header
    only and never falls back to the cookie. An API request without a logged-in
    session has nothing to ride on either; the view answers 401 instead of a
    confusing CSRF error. Pages (``/login`` included: login CSRF) are always
    checked.
    """

    def protect(self, apply_exemptions: bool = False) -> None:
        if request.path.startswith("/api/"):
            if "Authorization" in request.headers:
                return
            if not current_user.is_authenticated:
                return
        super().protect(apply_exemptions=apply_exemptions)


class PasdienstSessions(SecureCookieSessionInterface):
    """The session cookie, except on ``/api/`` calls that carry an
    ``Authorization`` header: ``requires`` authenticates those by the header
    only, so their session is not even read (nor written: it is Flask's
    ``NullSession``, which refuses writes)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if "Authorization" in request.headers and request.path.startswith("/api/"):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if self.is_null_session(session):
            return
        super().save_session(app, session, response)


csrf = PasdienstCSRF()
limiter = Limiter(key_func=get_remote_address, strategy="fixed-window")
login_manager = LoginManager()


def init_app(app: Flask, settings: Settings) -> None:
    app.config.update(
        # The token lives as long as the session: a till page left open all
        # day must still post, and the token is bound to the session anyway.
        WTF_CSRF_TIME_LIMIT=None,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_url,
        # X-RateLimit-* on every response would cost two more storage round
        # trips per request (measured: ~1/3 of a redemption's rate-limit
        # cost); a refused request still says when to retry (web/errors.py).
        RATELIMIT_HEADERS_ENABLED=False,
        RATELIMIT_KEY_PREFIX="pasdienst",
        # Sessions end after a working day (login marks them permanent).
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    app.session_interface = PasdienstSessions()
    # The limiter first: a flood is turned away before anything reads the database.
    limiter.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "access.login"
    # The user loader is pasdienst.access.web's, registered when the app
    # factory imports it (web.app), before this runs.
