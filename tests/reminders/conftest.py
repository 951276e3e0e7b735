"""A local SMTP sink (aiosmtpd's Controller in a thread) that keeps every message it receives.

The tests send through the real mail path (``smtplib`` over a socket to this
server) and read what arrived: the envelope, the headers, the decoded body.
An address with ``weiger`` in it is refused (550), as a real server refuses
an unknown mailbox.
"""
from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from pasdienst.web.app import create_app
from tests.factories import login_as, make_user

from .world import CODE, build_families


def free_port() -> int:
    # aiosmtpd cannot be given port 0 (ECOSYSTEM.md B4): take a free one first.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sink:
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    def to(self, address: str) -> EmailMessage:
        found = [m for m in self.messages if m["To"] == address]
        assert len(found) == 1, f"{len(found)} messages to {address}: {[m['To'] for m in self.messages]}"
        return found[0]

    def recipients(self) -> list[str]:
        return sorted(str(m["To"]) for m in self.messages)

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if "weiger" in address:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    sink = Sink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def families(db, settings):
    return build_families(db, settings)


@pytest.fixture
def mail_settings(settings, smtp_sink):
    from datetime import date

    return replace(settings, today=date(2027, 11, 1), smtp_url=smtp_sink.url, mail_from="kinderpas@testdorp.nl")


@pytest.fixture
def app(mail_settings, db):
    application = create_app(mail_settings, db=db)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def admin(client, db):
    return login_as(client, make_user(db, "admin", municipality=CODE, email="beheer@testdorp.example"))
