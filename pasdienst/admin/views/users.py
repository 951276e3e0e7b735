"""Staff users: add, access, one-time passwords."""
from __future__ import annotations

from flask.typing import ResponseReturnValue

from ...access.users import ASSIGNABLE_ROLES, add_staff_user, new_one_time_password, set_user_access, users_of
from ...access.web import current_actor, requires
from ...errors import PasdienstError
from ...web.security import private
from ...web.dutch import notice
from ...web.writes import change, refused, write
from ._common import (
    _db,
    _form,
    _page,
    bp,
)


@bp.get("/admin/gebruikers")
@requires("admin")
def users() -> ResponseReturnValue:
    with _db().read() as session:
        rows = users_of(session, current_actor())
    return _page("admin/users.html", rows=rows, roles=ASSIGNABLE_ROLES, active="users")


@bp.post("/admin/gebruikers")
@private  # a one-time password: never cached, never sent on as a referrer
@requires("admin")
def user_add() -> ResponseReturnValue:
    actor = current_actor()
    try:
        made = write(lambda session: add_staff_user(session, actor, _form("email"), _form("role")))
    except PasdienstError as exc:
        return refused(exc, "/admin/gebruikers")
    return _page("admin/password_once.html", email=made.email, password=made.password, pending=made.pending,
                 back="/admin/gebruikers", back_title="Terug naar de gebruikers", active="users")


@bp.post("/admin/gebruikers/<int:user_id>/toegang")
@requires("admin")
def user_access(user_id: int) -> ResponseReturnValue:
    actor = current_actor()
    active = _form("active") == "1"
    return change(
        lambda s: set_user_access(s, actor, user_id, active),
        success=lambda u: notice("user_unblocked" if u.active else "user_blocked", email=u.email),
        target="/admin/gebruikers",
    )


@bp.post("/admin/gebruikers/<int:user_id>/wachtwoord")
@private  # a one-time password: never cached, never sent on as a referrer
@requires("admin")
def user_password(user_id: int) -> ResponseReturnValue:
    actor = current_actor()
    try:
        made = write(lambda session: new_one_time_password(session, actor, user_id))
    except PasdienstError as exc:
        return refused(exc, "/admin/gebruikers")
    return _page("admin/password_once.html", email=made.email, password=made.password, pending=made.pending,
                 reset=True, back="/admin/gebruikers", back_title="Terug naar de gebruikers", active="users")
