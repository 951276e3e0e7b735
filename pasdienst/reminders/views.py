"""``/admin/herinneringen`` (plan reminder moments, start one now; admin) and the public
unsubscribe page ``/afmelden/<token>``.

The admin views parse the form, call one service in one transaction, queue a
started job after COMMIT and redirect with a Dutch message. The unsubscribe
page is public: its signed token is the credential (like ``/p/<token>``), so
its POST needs no CSRF token, which lets a mail client's one-click
unsubscribe (RFC 8058: a POST of ``List-Unsubscribe=One-Click``) work as well
as the button on the page.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Flask, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue

from ..access.web import current_actor, requires
from ..clock import AMSTERDAM, today as clock_today
from ..config import Settings
from ..db import Database
from ..errors import NotFound, PasdienstError, ValidationFailed
from ..jobs.views import job_queue
from ..money import parse_euros
from ..municipalities.models import Municipality
from ..reports.nonusers import MAX_UNDER_CENTS, Criteria
from ..web import parsing
from ..web.extensions import csrf, get_db, get_settings
from ..web.security import private
from ..web.dutch import notice
from ..web.writes import change, refused, tell, write
from . import mail, optout, runs

bp = Blueprint("reminders", __name__)
#: The unsubscribe link's token is the credential: no-store, no-referrer, noindex.
public = private(Blueprint("reminders_public", __name__))

STATUS_TITLES = {
    "planned": "gepland", "cancelled": "geschrapt", "queued": "wacht op de verwerker", "running": "wordt verstuurd",
    "done": "verstuurd", "failed": "mislukt",
}


def _db() -> Database:
    return get_db(current_app)


def _settings() -> Settings:
    return get_settings(current_app)


def _under(raw: str) -> int | None:
    """The optional "spent less than" amount of a form; ``ValidationFailed`` in Dutch."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        cents = parse_euros(raw)
    except ValidationFailed:
        raise ValidationFailed("the amount is not in euros", refusal="under_not_euros") from None
    if not 0 < cents <= MAX_UNDER_CENTS:
        raise ValidationFailed("the amount is not more than 0", refusal="under_not_positive")
    return cents


def _year(raw: str | None, default: int) -> int:
    return parsing.whole_number(raw, low=parsing.YEAR_MIN, high=parsing.YEAR_MAX) or default


def _example(settings: Settings, municipality_name: str, year: int) -> str:
    """The text of a reminder with made-up children, for the administrator to read before sending."""
    message = mail.reminder_message(
        settings=settings, to="ouder@voorbeeld.nl", municipality_name=municipality_name,
        passes=[mail.PassLink("Sanne", f"{settings.base_url}/p/…", date(year, 12, 31)),
                mail.PassLink("Daan", f"{settings.base_url}/p/…", date(year, 12, 31))],
        unsubscribe_url=f"{settings.base_url}/afmelden/…",
    )
    return f"Onderwerp: {message['Subject']}\n\n{message.get_content()}"


@bp.get("/admin/herinneringen")
@requires("admin")
def reminders() -> ResponseReturnValue:
    actor = current_actor()
    settings = _settings()
    today = clock_today(settings.today)
    year = _year(request.args.get("jaar"), today.year)
    with _db().read() as session:
        municipality = session.get(Municipality, actor.municipality_id)
        assert municipality is not None
        rows = runs.moments(session, actor, year)
        preview = runs.preview(session, actor, settings, Criteria(year, today))
        opted_out = optout.opt_out_count(session, municipality.id)
        years = sorted({today.year, today.year + 1, year}, reverse=True)
    return render_template(
        "reminders/reminders.html", active="reminders", year=year, years=years, rows=rows, preview=preview,
        opted_out=opted_out, mail_target=mail.describe(settings), mail_ready=mail.target(settings) is not None,
        example=_example(settings, municipality.name, year), today=today, amsterdam=AMSTERDAM,
        status_titles=STATUS_TITLES, send_hour=runs.SEND_HOUR,
    )


def _page_of(year: int | str | None = None) -> str:
    return f"/admin/herinneringen?jaar={year}" if year else "/admin/herinneringen"


def _back(year: int | str | None = None) -> ResponseReturnValue:
    return redirect(_page_of(year))


def _form(name: str) -> str:
    return (request.form.get(name) or "").strip()


@bp.post("/admin/herinneringen")
@requires("admin")
def plan() -> ResponseReturnValue:
    actor = current_actor()
    today = clock_today(_settings().today)
    year = parsing.whole_number(_form("year"), low=parsing.YEAR_MIN, high=parsing.YEAR_MAX)
    send_on = parsing.day(_form("send_on"))
    if year is None:
        tell(notice("year_missing"), "error")
        return _back()
    if send_on is None:
        tell(notice("reminder_day_missing"), "error")
        return _back(year)
    return change(
        lambda session: runs.plan_moment(session, actor, year=year, send_on=send_on, title=_form("title"),
                                         under_cents=_under(_form("under")), today=today),
        success=lambda moment: notice("reminder_planned", title=moment.title, send_on=send_on),
        target=_page_of(year),
    )


@bp.post("/admin/herinneringen/nu")
@requires("admin")
def send_now() -> ResponseReturnValue:
    actor = current_actor()
    settings = _settings()
    today = clock_today(settings.today)
    year = parsing.whole_number(_form("year"), low=parsing.YEAR_MIN, high=parsing.YEAR_MAX)
    if year is None:
        tell(notice("year_missing"), "error")
        return _back()
    if mail.target(settings) is None:
        tell(notice("mail_server_missing"), "error")
        return _back(year)
    try:
        job_id = write(lambda session: runs.start_now(session, actor, year=year, title=_form("title") or "Herinnering",
                                                      under_cents=_under(_form("under")), today=today).id)
    except PasdienstError as exc:
        return refused(exc, _page_of(year))
    # After COMMIT: a worker must find the row the message names.
    job_queue(current_app).enqueue(job_id)
    return redirect(f"/admin/taken/{job_id}")


@bp.post("/admin/herinneringen/<int:moment_id>/schrappen")
@requires("admin")
def cancel(moment_id: int) -> ResponseReturnValue:
    return change(lambda session: runs.cancel_moment(session, current_actor(), moment_id),
                  success=lambda moment: notice("reminder_cancelled", title=moment.title),
                  target=lambda moment: _page_of(moment.year), back=_page_of())


@bp.post("/admin/herinneringen/<int:moment_id>/opnieuw")
@requires("admin")
def again(moment_id: int) -> ResponseReturnValue:
    try:
        job_id = write(lambda session: runs.start_again(session, current_actor(), moment_id).id)
    except PasdienstError as exc:
        return refused(exc, _page_of())
    job_queue(current_app).enqueue(job_id)
    return redirect(f"/admin/taken/{job_id}")


# -- public: the unsubscribe link of every reminder ----------------------------------

def _opt_out_page(template_context: dict[str, Any], status: int = 200) -> ResponseReturnValue:
    return render_template("reminders/opt_out.html", **template_context), status


@public.get("/afmelden/<token>")
def opt_out_form(token: str) -> ResponseReturnValue:
    try:
        with _db().read() as session:
            municipality, _, done = optout.municipality_of(session, _settings(), token)
            name = municipality.name
    except NotFound:
        return _opt_out_page({"invalid": True}, 404)
    return _opt_out_page({"municipality_name": name, "done": done, "token": token})


@public.post("/afmelden/<token>")
def opt_out(token: str) -> ResponseReturnValue:
    try:
        name = write(lambda session: optout.opt_out(session, _settings(), token)[0].name)
    except NotFound:
        return _opt_out_page({"invalid": True}, 404)
    return _opt_out_page({"municipality_name": name, "done": True, "just_now": True, "token": token})


csrf.exempt(opt_out)


def init_public(app: Flask) -> None:
    """The unsubscribe page."""
    app.register_blueprint(public)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
