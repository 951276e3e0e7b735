"""What every back-office page shares: the blueprints, the form and page helpers."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from ... import labels
from ...access.web import current_actor
from ...clock import AMSTERDAM
from ...clock import today as clock_today
from ...config import Settings
from ...db import Database

bp = Blueprint("admin", __name__)
#: The largest children file or scheme a page takes (the command line reads bigger children files).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
#: Pages anyone may open (both are on the allow-list of ``pasdienst.access.web``).
public = Blueprint("admin_public", __name__)

STATUS_TITLES = labels.STATUS_TITLES


def _db() -> Database:
    return current_app.extensions["pasdienst.db"]


def _settings() -> Settings:
    return current_app.extensions["pasdienst.settings"]


def _today():
    return clock_today(_settings().today)


def _form(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    actor = current_actor()
    return render_template(
        template, actor=actor, status_titles=STATUS_TITLES, amsterdam=AMSTERDAM, **context,
    ), status


def _id_and_number(new: Any) -> tuple[int, str]:
    return new.id, new.pass_number


def _year_and_outcome(result: Any) -> tuple[int, str]:
    return result.scheme.year, result.outcome


def _email_and_password(made: tuple[Any, str]) -> tuple[str, str]:
    user, password = made
    return user.email, password
