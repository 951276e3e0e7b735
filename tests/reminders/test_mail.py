"""The reminder e-mail as composed (``reminders/mail.py``) and ``PASDIENST_SMTP_URL`` as read."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from email import message_from_bytes, policy

import pytest

from pasdienst.config import ConfigError, SmtpTarget, load_settings, parse_smtp_url
from pasdienst.reminders import mail
from pasdienst.reminders.mail import PassLink, reminder_message

#: Words a reminder must never carry: nothing about income, benefits, debts or the scheme.
FORBIDDEN = (
    "armoede", "minima", "minimum", "inkomen", "bijstand", "schuld", "uitkering", "regeling", "sociaal", "arm ",
    "kindpakket", "toeslag", "laag inkomen", "recht op", "ondersteuning", "%",
)


def _message(settings, passes=None):
    composed = reminder_message(
        settings=settings, to="ouders@example.nl", municipality_name="Gemeente Testdorp",
        passes=passes or [PassLink("Sanne", "https://pas.example.nl/p/AAAA.bbbb", date(2027, 12, 31)),
                          PassLink("Daan", "https://pas.example.nl/p/CCCC.dddd", date(2027, 12, 31))],
        unsubscribe_url="https://pas.example.nl/afmelden/xyz",
    )
    # What a mail client reads: the bytes, parsed again.
    return message_from_bytes(composed.as_bytes(), policy=policy.default)


def test_one_message_names_each_child_with_its_pass_link_in_plain_dutch(settings):
    message = _message(replace(settings, mail_from="kinderpas@testdorp.nl"))
    assert message["To"] == "ouders@example.nl"
    assert message["From"] == "Gemeente Testdorp <kinderpas@testdorp.nl>"
    assert message["Subject"] == "Nog tegoed op de kinderpas van Sanne en Daan"
    assert message["List-Unsubscribe"] == "<https://pas.example.nl/afmelden/xyz>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"].endswith("@testdorp.nl>")
    assert message.get_content_type() == "text/plain" and not message.is_multipart()
    body = message.get_content()
    assert "Sanne: https://pas.example.nl/p/AAAA.bbbb\n" in body and "Daan: https://pas.example.nl/p/CCCC.dddd\n" in body
    assert "tot en met 31 december 2027" in body and "kunnen Sanne en Daan" in body
    assert "https://pas.example.nl/afmelden/xyz" in body


def test_the_message_says_nothing_about_income_or_the_scheme(settings):
    for passes in (None, [PassLink("Noor", "https://pas.example.nl/p/EEEE.ffff", date(2027, 12, 31))]):
        message = _message(settings, passes)
        text = f"{message['Subject']}\n{message.get_content()}".lower()
        assert [word for word in FORBIDDEN if word in text] == []


def test_one_child_reads_as_one(settings):
    message = _message(settings, [PassLink("Noor", "https://pas.example.nl/p/EEEE.ffff", date(2027, 12, 31))])
    assert message["Subject"] == "Nog tegoed op de kinderpas van Noor"
    assert "kan Noor" in message.get_content()


def test_the_header_classes_kept_per_name_compose_the_same_bytes_as_the_standard_librarys_policy(settings, monkeypatch):
    """``mail.POLICY`` keeps each header class instead of making one per header (a run's CPU): nothing else changes."""
    names = [PassLink("Zoë", "https://pas.example.nl/p/AAAA.bbbb", date(2027, 12, 31)),
             PassLink("Daan", "https://pas.example.nl/p/" + "C" * 90, date(2027, 12, 31))]

    def composed() -> bytes:
        message = reminder_message(settings=replace(settings, mail_from="kinderpas@testdorp.nl"), to="ouders@example.nl",
                                   municipality_name="Gemeente Súdwest-Fryslân", passes=names,
                                   unsubscribe_url="https://pas.example.nl/afmelden/" + "x" * 120)
        # Date and Message-ID differ per message by design.
        del message["Date"], message["Message-ID"]
        return message.as_bytes()

    kept = composed()
    monkeypatch.setattr(mail, "POLICY", policy.default)
    assert kept == composed()
    registry = mail._HeaderClasses()
    assert registry["Subject"] is registry["subject"] and registry["To"] is not registry["Subject"]


def test_the_sender_defaults_to_the_base_urls_host(settings):
    assert mail.sender(replace(settings, base_url="https://kindpakket.opsterland.nl")) == "kinderpas@kindpakket.opsterland.nl"


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.nl", SmtpTarget("smtp", "mail.example.nl", 25)),
    ("smtp://mail.example.nl:587?starttls=1&timeout=3", SmtpTarget("smtp", "mail.example.nl", 587, starttls=True, timeout=3.0)),
    ("smtps://kp%40g.nl:geheim%21@mail.example.nl", SmtpTarget("smtps", "mail.example.nl", 465, "kp@g.nl", "geheim!")),
    ("console://", SmtpTarget("console")),
    ("", None),
])
def test_the_smtp_url(url, expected):
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize("url", [
    "http://mail.example.nl", "smtp://", "smtp://mail.example.nl:99999", "smtp://h?tls=1", "smtp://h?timeout=0",
    "smtp://user:geheim@h:notaport",
])
def test_a_bad_smtp_url_stops_the_service_without_repeating_a_password(url, tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings({"PASDIENST_SMTP_URL": url, "PASDIENST_INSTANCE_PATH": str(tmp_path)})
    assert "geheim" not in str(caught.value)


def test_without_a_server_development_logs_and_production_sends_nothing(settings):
    assert mail.target(settings) == SmtpTarget("console")
    assert mail.target(replace(settings, env="production")) is None
    with pytest.raises(mail.MailNotConfigured):
        mail.Outbox(replace(settings, env="production"))
