"""Who is asking, and may they: the access rules of every page and API view.

Access control is data. Every view is either on the public allow-list below
or decorated with :func:`requires`, which records the roles it allows on the
view (``view.pasdienst_roles``); ``tests/access/test_role_matrix.py`` walks
``app.url_map`` and fails on any view that is neither, then tries every role
against every view.

Use it directly under the route decorator, above any argument parsing, so
that an anonymous caller gets 401 before a 422::

    @blp.route("/municipalities/<code>/usage")
    @requires("admin", "finance", scope="code")
    @blp.response(200, UsageSchema)
    def usage(code):
        actor = current_actor()           # pass it to the service
        ...

Authentication:

* ``/api/…``: an ``Authorization: Bearer pd_…`` header if there is one (and
  then nothing else: a bad token is 401 even with a valid session cookie);
  otherwise the session cookie, and then unsafe methods need the
  ``X-CSRFToken`` header (``pasdienst.web.extensions.PasdienstCSRF``).
* pages: the session cookie only; anonymous visitors are sent to
  ``/login?next=…``.

``scope="code"`` names a URL parameter holding a municipality code that must
be the actor's own (403 otherwise). Finer scope (this merchant's redemption,
this municipality's pass) is the services' job, with the :class:`Actor`.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import current_app, g, redirect, request
from flask_limiter.util import get_remote_address
from flask_login import UserMixin, current_user

from ..web.extensions import csrf, get_db, login_manager
from .errors import Forbidden, Unauthenticated
from .models import ROLES
from .logins import load_session_user
from .policy import Actor
from .tokens import lookup_token, token_needs_touch, touch_token

F = TypeVar("F", bound=Callable[..., Any])

#: Rules anyone may call, exactly as they appear in ``app.url_map``.
PUBLIC_RULES: frozenset[str] = frozenset(
    {
        "/",
        "/healthz",
        "/readyz",
        "/login",
        "/merchant/signup",
        "/toegankelijkheid",
        "/api/v1/openapi.json",
    }
)
#: Rule prefixes anyone may call: static files, the holder's own pass page and
#: the unsubscribe link of a reminder (their signed tokens are the credential).
PUBLIC_PREFIXES: tuple[str, ...] = ("/static/", "/p/", "/afmelden/")
PUBLIC_ENDPOINTS: frozenset[str] = frozenset({"static"})

#: Endpoints a user with a one-time password may still use.
_BEFORE_PASSWORD_CHANGE = "pasdienst_before_password_change"


def is_public_rule(rule: str, endpoint: str) -> bool:
    return rule in PUBLIC_RULES or endpoint in PUBLIC_ENDPOINTS or rule.startswith(PUBLIC_PREFIXES)


class LoginUser(UserMixin):
    """What flask-login keeps per request: the actor, the session version and the login's key."""

    def __init__(self, actor: Actor, version: str, must_change_password: bool, session_key: str) -> None:
        self.actor = actor
        self.version = version
        self.must_change_password = must_change_password
        self.session_key = session_key

    def get_id(self) -> str:
        return session_id(self.actor.user_id, self.version, self.session_key)  # type: ignore[arg-type]  # a logged-in user always has an id


def session_id(user_id: int, version: str, session_key: str) -> str:
    """The value kept in the session cookie: the user, its ``session_version``
    (a new password changes it) and the key of the login's row on the server
    (``services.start_session``; logout deletes it)."""
    return f"{user_id}:{version}:{session_key}"


@login_manager.user_loader
def _load_user(value: str) -> LoginUser | None:
    user_id, _, rest = value.partition(":")
    version, _, session_key = rest.partition(":")
    if not user_id.isdigit() or len(user_id) > 18 or not session_key:
        return None  # also a cookie from before logins were kept on the server
    with get_db(current_app).read() as session:
        found = load_session_user(session, int(user_id), session_key)
    if found is None or not hmac.compare_digest(found[1], version):
        return None  # blocked, logged out, or the password changed since this session began
    actor, _, must_change_password = found
    return LoginUser(actor, version, must_change_password, session_key)


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _bearer_actor() -> Actor:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use Authorization: Bearer <token>")
    db = get_db(current_app)
    with db.peek() as session:
        found = lookup_token(session, token.strip())
        if found is None:
            raise Unauthenticated("unknown or revoked API token")
        actor, row = found
        needs_touch = token_needs_touch(row)
        token_id = row.id
    if needs_touch:
        with db.transaction() as session:
            touch_token(session, token_id)
    return actor


def _login_redirect() -> Any:
    target = request.full_path if request.query_string else request.path
    return redirect("/login?" + urlencode({"next": target}))


def requires(*roles: str, scope: str | None = None, before_password_change: bool = False) -> Callable[[F], F]:
    """Allow a view to ``roles`` only; put the :class:`Actor` on ``g.actor``.

    ``scope`` names a URL parameter holding a municipality code that must be
    the actor's own. ``before_password_change`` lets a user who still has a
    one-time password in (logout, the password page, ``/api/v1/me``).
    """
    if not roles:
        raise TypeError("requires() needs at least one role; public views go on the allow-list")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    allowed = frozenset(roles)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if _is_api() and "Authorization" in request.headers:
                actor = _bearer_actor()
            else:
                if not current_user.is_authenticated:
                    if _is_api():
                        raise Unauthenticated("log in or send Authorization: Bearer <token>")
                    return _login_redirect()
                if request.method in current_app.config["WTF_CSRF_METHODS"] and not g.get("csrf_valid"):
                    # Normally done already before the request; this keeps a
                    # view that someone exempted from CSRF protected anyway.
                    csrf.protect()
                login: LoginUser = current_user  # type: ignore[assignment]  # our user_loader returns only LoginUser
                actor = login.actor
                if login.must_change_password and not before_password_change:
                    if _is_api():
                        raise Forbidden("change your one-time password first")
                    return redirect("/account/wachtwoord?" + urlencode({"next": request.path}))
            if actor.role not in allowed:
                raise Forbidden(f"a {actor.role} may not use this", refusal="forbidden_role")
            if scope is not None and kwargs.get(scope) != actor.municipality_code:
                raise Forbidden("this belongs to another municipality", refusal="forbidden_municipality")
            g.actor = actor
            return view(*args, **kwargs)

        wrapper.pasdienst_roles = allowed  # type: ignore[attr-defined]  # read back by access_rule (the role-matrix test walks the URL map with it)
        wrapper.pasdienst_scope = scope  # type: ignore[attr-defined]  # as above
        setattr(wrapper, _BEFORE_PASSWORD_CHANGE, before_password_change)
        return wrapper  # type: ignore[return-value]  # functools.wraps keeps the view's signature

    return decorate


def current_actor() -> Actor:
    """The actor of this request, as checked by :func:`requires`."""
    actor = g.get("actor")
    if actor is None:
        raise Unauthenticated("this view is not behind @requires")
    return actor


def rate_limit_key() -> str:
    """Rate-limit by who is asking (token, then session user), else by address.

    For ``@limiter.limit(..., key_func=rate_limit_key)``: the limiter runs
    before the view, so this reads the credentials itself; a made-up token
    only ever limits its own made-up key.
    """
    header = request.headers.get("Authorization", "")
    if _is_api() and header.lower().startswith("bearer "):
        return "token:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()[:24]
    if current_user.is_authenticated:
        return f"user:{current_user.actor.user_id}"
    return "ip:" + (get_remote_address() or "-")


def token_login(token_hash: str) -> str:
    """``till_login`` of an API token, from its SHA-256 (hex)."""
    return "t:" + token_hash[:20]


def till_login() -> str:
    """Which till login is asking, for counting its wrong typed codes: the API
    token, else the login session (not the user: one merchant account may be
    logged in on several phones, each a till of its own), as a short hash."""
    header = request.headers.get("Authorization", "")
    if _is_api() and header.lower().startswith("bearer "):
        return token_login(hashlib.sha256(header[7:].strip().encode()).hexdigest())
    if current_user.is_authenticated:
        return "s:" + hashlib.sha256(current_user.session_key.encode()).hexdigest()[:20]
    return "-"


def access_rule(view: Callable[..., Any], method: str) -> tuple[frozenset[str], str | None] | None:
    """The roles and scope a view allows for ``method``, or None when it is not behind :func:`requires`.

    Handles plain functions and class-based views (flask ``MethodView``).
    """
    roles = getattr(view, "pasdienst_roles", None)
    if roles is not None:
        return roles, getattr(view, "pasdienst_scope", None)
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, method.lower(), None) if view_class is not None else None
    roles = getattr(handler, "pasdienst_roles", None)
    if roles is not None:
        return roles, getattr(handler, "pasdienst_scope", None)
    return None
