"""Login, logout, password change, the audit log page, and ``/api/v1/me``."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from flask_smorest import Blueprint as ApiBlueprint
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..web import dutch
from ..web.api import ACCESS_PROBLEMS, problems
from ..db import Database
from ..merchants.models import Merchant
from ..web.extensions import get_db, limiter
from ..web.dutch import notice
from ..web.writes import tell, write
from .errors import Unauthenticated, WeakPassword
from .models import ROLES, User
from .schemas import AuditEventSchema, AuditQuerySchema, MeSchema
from .accounts import actor_for, authenticate, change_password
from .audit import audit_events
from .logins import end_session, session_version, start_session
from .policy import Actor
from .web import LoginUser, current_actor, rate_limit_key, requires

bp = Blueprint("access", __name__, template_folder="templates")
api = ApiBlueprint("access_api", __name__, url_prefix="/api/v1", description="Who am I; the audit log")

#: Where each role lands after logging in.
ROLE_HOME = {"merchant": "/merchant", "finance": "/finance", "admin": "/admin", "caseworker": "/admin", "fund": "/fonds"}

def _db() -> Database:
    return get_db(current_app)


def _safe_next(target: str | None) -> str | None:
    """A local path to return to after login; anything else could send the user to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):
        return None
    return target


def _email_key() -> str:
    return "email:" + (request.form.get("email") or "").strip().lower()[:254]


def _failed(response: Any) -> bool:
    # Only failed attempts count against an address: a user who logs in
    # several times a minute (several tills) is not locked out.
    return response.status_code != 302


def _home(role: str) -> str:
    return ROLE_HOME.get(role, "/")


def _start_session(user: User, actor: Any, session_key: str) -> None:
    # A fresh session: nothing from before the login (a planted CSRF token,
    # a previous user's flashes) carries over.
    session.clear()
    login_user(LoginUser(actor, session_version(user), user.must_change_password, session_key))
    session.permanent = True


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"], error_message="te veel inlogpogingen vanaf dit adres")
@limiter.limit(
    "5/minute", methods=["POST"], key_func=_email_key, deduct_when=_failed,
    error_message="te veel inlogpogingen voor dit e-mailadres",
)
def login() -> ResponseReturnValue:
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(target or _home(current_user.actor.role))
        return render_template("access/login.html", next=target or "", email="", error=None)
    email = (request.form.get("email") or "").strip()
    password = request.form.get("password") or ""

    def work(db_session: Session) -> tuple[User, Actor, bool, str]:
        user = authenticate(db_session, email, password)
        return user, actor_for(db_session, user), user.must_change_password, start_session(db_session, user.id)

    try:
        user, actor, must_change, session_key = write(work)
    except Unauthenticated:
        error = dutch.told(notice("login_failed"))
        return render_template("access/login.html", next=target or "", email=email, error=error)
    _start_session(user, actor, session_key)
    if must_change:
        query = urlencode({"next": target}) if target else ""
        return redirect("/account/wachtwoord" + (f"?{query}" if query else ""))
    return redirect(target or _home(actor.role))


@bp.post("/logout")
@requires(*ROLES, before_password_change=True)
def logout() -> ResponseReturnValue:
    # Ended on the server: a copy of this cookie is logged out too.
    user_id = current_actor().user_id
    assert user_id is not None  # a logged-in session is always a user's
    session_key = current_user.session_key
    write(lambda db_session: end_session(db_session, user_id, session_key))
    logout_user()
    session.clear()
    tell(notice("logged_out"))
    response = redirect("/login")
    # What the pages kept in the browser goes too: an unresolved payment on
    # the till (with its pass code) must not outlive its login.
    response.headers["Clear-Site-Data"] = '"storage"'
    return response


@bp.route("/account/wachtwoord", methods=["GET", "POST"])
@requires(*ROLES, before_password_change=True)
@limiter.limit("10/minute", methods=["POST"], key_func=rate_limit_key)
def password() -> ResponseReturnValue:
    actor = current_actor()
    target = _safe_next(request.values.get("next"))
    forced = bool(current_user.must_change_password)
    if request.method == "GET":
        return render_template("access/password.html", next=target or "", forced=forced, error=None)
    current = request.form.get("current_password") or ""
    new = request.form.get("new_password") or ""
    repeat = request.form.get("repeat_password") or ""
    error = None
    if new != repeat:
        error = dutch.told(notice("passwords_differ"))
    else:
        user_id = actor.user_id
        assert user_id is not None

        def work(db_session: Session) -> tuple[User, str]:
            changed = change_password(db_session, user_id, current, new)
            return changed, start_session(db_session, changed.id)

        try:
            user, session_key = write(work)
        except Unauthenticated:
            error = "Uw huidige wachtwoord klopt niet."
        except WeakPassword as exc:
            error = dutch.refusal(exc)
    if error:
        return render_template("access/password.html", next=target or "", forced=forced, error=error), 422
    # The new password ended every session, this one too: start it again.
    _start_session(user, actor, session_key)
    tell(notice("password_changed"))
    return redirect(target or _home(actor.role))


# The audit log page, /admin/auditlog, with its filters: pasdienst.admin.views.audit_log.


@api.route("/me")
@requires(*ROLES, before_password_change=True)
@api.response(200, MeSchema)
@problems(api, {401: ACCESS_PROBLEMS[401]}, access=False)
def me() -> dict[str, Any]:
    """Who is calling: e-mail, role, municipality, merchant (and a CSRF token for session callers)."""
    actor = current_actor()
    merchant_name = None
    must_change = False
    with _db().read() as db_session:
        if actor.merchant_id is not None:
            merchant_name = db_session.execute(select(Merchant.name).where(Merchant.id == actor.merchant_id)).scalar()
        if actor.user_id is not None:
            must_change = bool(db_session.execute(select(User.must_change_password).where(User.id == actor.user_id)).scalar())
    bearer = "Authorization" in request.headers
    return {
        "email": actor.email,
        "role": actor.role,
        "municipality": actor.municipality_code,
        "merchant_id": actor.merchant_id,
        "merchant_name": merchant_name,
        "must_change_password": must_change,
        "csrf_token": None if bearer else generate_csrf(),
    }


@api.route("/municipalities/<code>/audit-events")
@requires("admin", scope="code")
@api.arguments(AuditQuerySchema, location="query")
@api.response(200, AuditEventSchema(many=True))
@problems(api, {422: "validation_error"})
def list_audit_events(query: dict[str, Any], code: str) -> list[Any]:
    """The municipality's audit log, newest first (its admins only)."""
    with _db().read() as db_session:
        events = audit_events(db_session, current_actor(), code, limit=query["limit"], before_id=query["before_id"])
        return [{field: getattr(e, field) for field in AuditEventSchema().fields} for e in events]


def register(app: Any, api_docs: Any) -> None:
    """Pages on the app; the JSON endpoints through flask-smorest (so they are in the OpenAPI document)."""
    app.register_blueprint(bp)
    api_docs.register_blueprint(api)
