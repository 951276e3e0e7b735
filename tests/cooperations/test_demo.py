"""The demo shows a cooperation (two villages, a shared club, a payment across) and a reminder run that was sent."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select

from pasdienst import books, ledger
from pasdienst.cooperations import services as coop
from pasdienst.cooperations.demo import CODE, NEIGHBOUR, PAID_CENTS, SHARED
from pasdienst.demo import load_demo
from pasdienst.ledger import verify
from pasdienst.municipalities.models import Municipality
from pasdienst.redeem.models import Redemption
from pasdienst.merchants.models import Merchant
from pasdienst.reminders.models import SENT, ReminderChild, ReminderSend
from pasdienst.reports.usage import usage_report
from tests.reminders.conftest import smtp_sink  # noqa: F401 - the fixture: a real SMTP sink

pytestmark = pytest.mark.money

DAY = date(2027, 3, 10)


def test_the_demo_forms_a_cooperation_with_a_payment_across_and_sends_a_reminder_run(db, settings, smtp_sink):  # noqa: F811 - the fixture imported above
    demo_settings = replace(settings, smtp_url=smtp_sink.url)
    first = load_demo(db, demo_settings, DAY)
    assert first.lines == load_demo(db, demo_settings, DAY).lines  # loading again sends nothing twice

    with db.read() as s:
        view = coop.describe(s, CODE)
        assert [(m.code, m.status, m.lead) for m in view.members] == [("buurdorp", "active", False), ("demodorp", "active", True)]
        assert [m.name for m in view.merchants] == [SHARED[0]]
        (paid,) = s.execute(
            select(Redemption).join(Municipality, Municipality.id == Redemption.municipality_id)
            .where(Municipality.code == NEIGHBOUR)
        ).scalars()
        club = s.get(Merchant, paid.merchant_id)
        assert club.name == SHARED[0] and s.get(Municipality, club.municipality_id).code == "demodorp"
        assert paid.amount_cents == PAID_CENTS and paid.created_at.date() == date(2027, 3, 9)
        # Buurdorp's fund paid, in Buurdorp's books, and Buurdorp's report counts it.
        assert ledger.balance(s, ledger.get_account(s, books.merchant_key(NEIGHBOUR, club.id)).id) == PAID_CENTS
        assert usage_report(s, NEIGHBOUR, 2027).children_with_redemption == 1
        assert verify(s).problems == []

        # The reminder: the two households of buurdorp that have not used the pass, one e-mail each.
        sends = s.execute(select(ReminderSend.email, ReminderSend.outcome).order_by(ReminderSend.email)).all()
        assert sends == [("fam.devries@buurdorp.example", SENT), ("yara.thuis@buurdorp.example", SENT)]
        assert len(s.execute(select(ReminderChild)).all()) == 3
    assert smtp_sink.recipients() == ["fam.devries@buurdorp.example", "yara.thuis@buurdorp.example"]
    assert "Lotte en Finn" in smtp_sink.to("fam.devries@buurdorp.example")["Subject"]
    assert any(line.startswith(f"cooperation {CODE}") for line in first.lines)
    assert any("reminder run" in line and "2 e-mails" in line and "3 children" in line for line in first.lines)
