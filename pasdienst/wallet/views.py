"""The holder's pages: ``/p/<token>``, its QR images and the printable letter.

The address is a bearer secret, so every answer here says ``no-store``,
``no-referrer`` and ``noindex``. The token's MAC is checked before the
database is read. The pages look like an ordinary gift card: balances, what
each is for and where it can be spent; nothing about why the child has it.

The pass page also works on a phone without data once it has been opened:
its web app manifest (``/p/<token>/manifest.webmanifest``) lets it be added
to the home screen, and a service worker (``/p/sw.js``, registered by
``static/wallet/pass.js`` with the scope ``/p/<token>``: that one pass,
nothing else) keeps the page, its QR code and styles, and shows the kept copy
with the moment its balances were read.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template
from flask_login import current_user
from sqlalchemy.orm import Session

from ..clock import now as current_moment, today as current_day
from ..config import Settings
from ..db import Database
from ..errors import PasdienstError
from ..labels import day_and_time
from . import qr
from ..municipalities.models import Contact, Municipality
from ..merchants.places import Place, WhereToSpend
from . import labels, wording
from .errors import InvalidCode, PassBlocked, PassExpired, pass_replaced
from .lifecycle import pass_by_token
from .models import BLOCKED, EXPIRED, REPLACED, ChildPass
from .services import PassView, pass_view
from ..web.assets import asset_url
from ..web.extensions import get_db, get_settings
from ..web.security import private
from ..web.dutch import notice, told
from ..web.writes import write

#: The address is the secret: no-store, no-referrer, noindex on every answer.
bp = private(Blueprint("wallet", __name__))


def _db() -> Database:
    return get_db(current_app)


def _settings() -> Settings:
    return get_settings(current_app)


def _unavailable(
    exc: PasdienstError, municipality_name: str | None = None, contact: Contact | None = None,
) -> tuple[str, int]:
    """A Dutch page for a link that shows no pass; ``municipality_name`` and
    whom to call there (``contact``) when the link names a real pass (a forged
    or unknown one tells nothing)."""
    if isinstance(exc, PassBlocked) and exc.reason == "replaced":
        title, text = notice("holder_replaced_title"), notice("holder_replaced")
    elif isinstance(exc, PassBlocked):
        title, text = notice("holder_blocked_title"), notice("holder_blocked")
    elif isinstance(exc, PassExpired):
        title, text = notice("holder_expired_title"), notice("holder_expired")
    else:
        title, text = notice("holder_unknown_title"), notice("holder_unknown")
    page = render_template(
        "wallet/unavailable.html", title=told(title), text=told(text), municipality_name=municipality_name,
        contact=contact,
    )
    return page, exc.status


class _NotShown(Exception):
    """A real pass whose page may not be shown: why, and whose it is."""

    def __init__(self, error: PasdienstError, municipality_name: str, contact: Contact) -> None:
        self.error = error
        self.municipality_name = municipality_name
        self.contact = contact


def _shown(session: Session, token: str, settings: Settings) -> ChildPass:
    """The pass a holder's address names, if its page may be shown.

    A pass whose year has not started yet is shown (the letter arrives
    before the year does); a blocked, replaced or finished one is not.
    Raises ``InvalidCode`` for a forged or unknown link, ``_NotShown`` for a real pass.
    """
    child_pass = pass_by_token(session, token, settings=settings)
    error: PasdienstError | None = None
    if child_pass.status == REPLACED:
        error = pass_replaced()
    elif child_pass.status == BLOCKED:
        error = PassBlocked("this pass is blocked")
    elif child_pass.status == EXPIRED or current_day(settings.today) > child_pass.valid_until:
        error = PassExpired("this pass has expired")
    if error is not None:
        municipality = session.get(Municipality, child_pass.municipality_id)
        assert municipality is not None  # a pass's municipality is a foreign key
        raise _NotShown(error, municipality.name, municipality.contact)
    return child_pass


@dataclass(frozen=True)
class Spend:
    """Where one voucher can be spent: the merchants that take it, as the till decides."""

    bound: bool
    places: tuple[Place, ...]
    #: The letter's line (``wallet.labels.where_text``).
    text: str


def _view(token: str) -> tuple[PassView, dict[int, Spend]]:
    """The pass and, per voucher id, where it can be spent."""
    settings = _settings()
    with _db().read() as session:
        child_pass = _shown(session, token, settings)
        view = pass_view(session, child_pass, settings=settings, today=current_day(settings.today))
        where = WhereToSpend(session, child_pass.municipality_id)
    spend = {}
    for v in view.vouchers:
        bound, places = where.bound(v.code), where.places(v.category, v.code)
        text = labels.where_text(v.category, bound, [(p.name, p.place) for p in places])
        spend[v.id] = Spend(bound, places, text)
    return view, spend


def _refused(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, _NotShown):
        return _unavailable(exc.error, exc.municipality_name, exc.contact)
    assert isinstance(exc, PasdienstError)
    return _unavailable(exc)


@bp.get("/p/<token>")
def pass_page(token: str) -> tuple[str, int] | str:
    try:
        view, spend = _view(token)
    except (InvalidCode, _NotShown) as exc:
        return _refused(exc)
    # A logged-in browser is a cashier's or a case worker's (a cashier may
    # open a pass with the phone's camera app instead of the till): it shows
    # the pass, but keeps no copy of a child that is not its own.
    offline = not current_user.is_authenticated
    read_at = day_and_time(current_moment(_settings().today))
    return render_template("wallet/pass.html", p=view, spend=spend, token=token, offline=offline, read_at=read_at)


@bp.get("/p/<token>/manifest.webmanifest")
def manifest(token: str) -> Response | tuple[str, int]:
    """The web app manifest of one pass: the home screen opens this pass.

    Its name is the page's own ("Kinderpas van Sanne"): nothing about why the
    child has it, and no municipality's scheme, on a phone's home screen.
    """
    settings = _settings()
    try:
        with _db().read() as session:
            view = pass_view(session, _shown(session, token, settings), settings=settings, today=current_day(settings.today))
    except (InvalidCode, _NotShown) as exc:
        return _refused(exc)
    home = f"/p/{token}"
    short = f"Pas {view.first_name}"
    body = {
        "id": home,
        "name": f"Kinderpas van {view.first_name}",
        # Under the icon; a long first name gets the plain word.
        "short_name": short if len(short) <= 12 else "Kinderpas",
        "lang": "nl",
        "dir": "ltr",
        "start_url": home,
        "scope": home,
        "display": "standalone",
        "background_color": "#eef2f6",
        "theme_color": "#ffffff",
        "icons": [
            {"src": asset_url("wallet/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": asset_url("wallet/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": asset_url("wallet/icon-maskable-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/p/sw.js")
def service_worker() -> Response:
    """The pass page's service worker (``static/wallet/sw.js``).

    Served from ``/p/`` and not ``/static/``: a worker may only be given a
    scope under its own folder, and its scope is one pass, ``/p/<token>``.
    No token in this address, so one script serves every pass on a phone.
    """
    return current_app.send_static_file("wallet/sw.js")


@bp.get("/p/<token>/brief")
def letter(token: str) -> tuple[str, int] | str:
    try:
        view, spend = _view(token)
    except (InvalidCode, _NotShown) as exc:
        return _refused(exc)
    return render_template("wallet/letter.html", p=view, spend=spend)


def _image(token: str, kind: str) -> Response | tuple[str, int]:
    settings = _settings()
    try:
        with _db().read() as session:
            image = qr.image_of(session, _shown(session, token, settings), settings)
            data = (image.png if kind == "png" else image.svg) if image else None
        if data is None:
            # Issued, but the rendering phase has not reached it yet.
            data = write(lambda session: _made_image(session, token, settings, kind))
    except (InvalidCode, _NotShown) as exc:
        return _refused(exc)
    return Response(data, mimetype="image/png" if kind == "png" else "image/svg+xml")


def _made_image(session: Session, token: str, settings: Settings, kind: str) -> bytes | str:
    image = qr.image_of(session, _shown(session, token, settings), settings, create=True)
    assert image is not None
    return image.png if kind == "png" else image.svg


@bp.get("/p/<token>/qr.png")
def qr_png(token: str) -> Response | tuple[str, int]:
    return _image(token, "png")


@bp.get("/p/<token>/qr.svg")
def qr_svg(token: str) -> Response | tuple[str, int]:
    return _image(token, "svg")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["wording"] = wording  # the family's texts, shared with the printed letter
