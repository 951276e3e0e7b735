"""A municipality with a scheme, two children with passes, and staff to act on it."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from pasdienst.access.models import AuditEvent
from pasdienst.db import Database
from pasdienst.web.app import create_app
from tests.factories import World, issued_world

TODAY = date(2027, 3, 15)


@pytest.fixture
def admin_settings(settings):
    return replace(settings, today=TODAY)


@pytest.fixture
def app(admin_settings, db):  # replaces the plain app: "today" is inside the scheme
    application = create_app(admin_settings, db=db)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def world(db, admin_settings) -> World:
    return issued_world(db, admin_settings)


def pass_id_of(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


def audit_count(db: Database, action: str | None = None) -> int:
    with db.read() as s:
        query = select(func.count()).select_from(AuditEvent)
        if action:
            query = query.where(AuditEvent.action == action)
        return s.execute(query).scalar_one()


def last_event(db: Database, action: str) -> AuditEvent:
    with db.read() as s:
        return s.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())).scalars().first()


def form_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no csrf_token on {path}"
    return match.group(1)


def post(client, path: str, data: dict | None = None, *, token_from: str = "/admin", **kw):
    """A form post with the page's CSRF token (taken from ``token_from``)."""
    body = {"csrf_token": form_token(client, token_from), **(data or {})}
    return client.post(path, data=body, **kw)


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]
