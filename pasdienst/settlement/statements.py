"""What a merchant and finance get next to the payment file.

* ``render_statement``: a printable (A4) HTML statement per merchant listing
  every redemption in the batch, with count and total, in Dutch. It renders
  without a Flask app (the CLI writes these files), from the same template
  directory as the web pages, with autoescaping on: merchant names are typed
  by people.
* ``lines_csv``: the batch lines (one per merchant) for finance's records.
* ``statement_csv``: one merchant's redemptions, for their bookkeeping.

Amounts in the CSV files are euros with a decimal comma and no thousands
separator (``1234,56``): the files are ``;``-separated for Excel set to
Dutch, which reads that as a number (``1234.56`` it would read as text or a
date).
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from ..clock import AMSTERDAM
from ..csvsafe import csv_bytes
from ..labels import CATEGORY_TITLES, STATEMENT_KIND_TITLES, day, euros, moment
from ..money import format_euros

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
STYLESHEET = Path(__file__).resolve().parent.parent / "web" / "static" / "settlement" / "statement.css"
#: Where the web app serves the statement's stylesheet.
STYLESHEET_URL = "/static/settlement/statement.css"

LINES_CSV_HEADER = (
    "merchant_id",
    "merchant_name",
    "iban",
    "count",
    "total_eur",
    "period_from",
    "period_until",
    "end_to_end_id",
)
STATEMENT_CSV_HEADER = ("date", "receipt_no", "voucher_kind", "category", "amount_eur")


@dataclass(frozen=True)
class StatementLine:
    """One redemption on a merchant's statement.

    ``date`` may be a date or an aware datetime (shown in Amsterdam time).
    """

    date: date | datetime
    receipt_no: str
    voucher_kind: str
    category: str
    amount_cents: int


@dataclass(frozen=True)
class BatchLine:
    """What one merchant is paid in a batch."""

    merchant_id: int
    merchant_name: str
    iban: str
    count: int
    total_cents: int
    end_to_end_id: str


def render_statement(
    *,
    municipality_name: str,
    merchant_name: str,
    merchant_iban: str,
    batch_id: int,
    period_from: date,
    period_until: date,
    lines: Sequence[StatementLine],
    paid_at: date | datetime | None = None,
    end_to_end_id: str | None = None,
    stylesheet_url: str | None = STYLESHEET_URL,
    returned: tuple[date | datetime, str] | None = None,
) -> str:
    """The statement as a complete HTML page; both period dates inclusive.

    Lines are shown in the order given. ``returned`` (when, the bank's
    reason) says the payment came back and the lines wait for the next
    batch. With ``stylesheet_url=None`` the CSS
    is embedded, for a file that must print on its own (written by the CLI
    or mailed); the web app links it, so its content security policy needs
    no inline styles.
    """
    total = sum(line.amount_cents for line in lines)
    rows = [
        {
            "date": _when(line.date),
            "receipt_no": line.receipt_no,
            "voucher_kind": STATEMENT_KIND_TITLES.get(line.voucher_kind, line.voucher_kind),
            "category": CATEGORY_TITLES.get(line.category, line.category),
            "amount": euros(line.amount_cents),
            "negative": line.amount_cents < 0,
        }
        for line in lines
    ]
    template = _environment().get_template("settlement/statement.html")
    return template.render(
        municipality_name=municipality_name,
        merchant_name=merchant_name,
        merchant_iban=_formatted_iban(merchant_iban),
        batch_id=batch_id,
        period_from=day(period_from),
        period_until=day(period_until),
        rows=rows,
        count=len(rows),
        total=euros(total),
        paid_at=day(paid_at) if paid_at is not None else None,
        returned={"date": day(returned[0]), "reason": returned[1]} if returned else None,
        end_to_end_id=end_to_end_id,
        stylesheet_url=stylesheet_url,
        inline_css=None if stylesheet_url else Markup(STYLESHEET.read_text(encoding="utf-8")),
    )


def lines_csv(lines: Iterable[BatchLine], *, period_from: date, period_until: date) -> bytes:
    """The batch lines as a CSV file (UTF-8 with BOM, ``;``); dates ISO."""
    return csv_bytes(
        LINES_CSV_HEADER,
        (
            (
                line.merchant_id,
                line.merchant_name,
                line.iban,
                line.count,
                csv_euros(line.total_cents),
                period_from.isoformat(),
                period_until.isoformat(),
                line.end_to_end_id,
            )
            for line in lines
        ),
    )


def statement_csv(lines: Iterable[StatementLine]) -> bytes:
    """One merchant's redemptions as a CSV file; times in Amsterdam."""
    return csv_bytes(
        STATEMENT_CSV_HEADER,
        (
            (
                _iso_when(line.date),
                line.receipt_no,
                line.voucher_kind,
                line.category,
                csv_euros(line.amount_cents),
            )
            for line in lines
        ),
    )


def csv_euros(cents: int) -> str:
    """``1234,56``: a number to Excel set to Dutch."""
    return format_euros(cents).replace(".", ",")


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(("html", "xml"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _when(value: date | datetime) -> str:
    return moment(value) if isinstance(value, datetime) else day(value)


def _iso_when(value: date | datetime) -> str:
    if isinstance(value, datetime):
        local = value.astimezone(AMSTERDAM) if value.tzinfo else value
        return f"{local:%Y-%m-%d %H:%M}"
    return value.isoformat()


def _formatted_iban(text: str) -> str:
    try:
        return IBAN(text).formatted
    except SchwiftyException:
        return text
