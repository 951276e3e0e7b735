"""The last step of ``pasdienst demo``: how to try the till (``/merchant``).

Writes nothing; it only tells a newcomer, who has just seen the logins and
pass links printed above it, where to go with them.
"""
from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session

from ..access.demo import DEMO_MERCHANTS
from ..config import Settings


class Report(Protocol):
    def add(self, line: str) -> None: ...


def load_redeem_demo(session: Session, report: Report, settings: Settings, today: date) -> None:  # noqa: ARG001
    name, category, _bank, _account, email, password = DEMO_MERCHANTS[0]
    report.add(
        f"try the till: open {settings.base_url}/login on a phone (or a narrow window), log in as "
        f"{email} / {password} ({name}, {category}), then scan a pass's QR code "
        "(its link above + /qr.png, on another screen) or type its code"
    )
