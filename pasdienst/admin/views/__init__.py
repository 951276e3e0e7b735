"""``/admin``: the municipality's back office pages, ``/merchant/signup`` and ``/toegankelijkheid``.

Each view parses the form, opens one transaction, calls one service and
redirects with a Dutch flash message (POST-redirect-GET). Two deliberate
exceptions render straight from the POST: a one-time password (it must not
travel in a redirect's session cookie) and the import result (it is the
answer to the upload). A form with several fields is shown again with the
error and the values typed, so nothing has to be typed twice.
"""
from __future__ import annotations

from typing import Any

from . import (  # each module registers its routes on the blueprints
    audit_log,
    budget,
    caseworkers,
    children,
    children_import,
    dashboard,
    four_eyes,
    merchants,
    public_pages,
    scheme,
    users,
)
from ._common import bp, public

__all__ = ["dashboard", "children", "children_import", "scheme", "budget", "merchants", "users", "four_eyes", "caseworkers", "audit_log",
           "public_pages", "init_app"]


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(public)
