"""The merchant's statement and the batch-lines CSV."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timezone

import flask

from pasdienst.settlement.statements import (
    LINES_CSV_HEADER,
    STYLESHEET_URL,
    BatchLine,
    StatementLine,
    lines_csv,
    render_statement,
    statement_csv,
)

LINES = [
    StatementLine(datetime(2027, 5, 3, 13, 5, tzinfo=timezone.utc), "R-0001", "budget", "sport_culture", 25_00),
    StatementLine(datetime(2027, 5, 17, 8, 0, tzinfo=timezone.utc), "R-0002", "punchcard", "sport_culture", 4_50),
    StatementLine(date(2027, 5, 31), "R-0003", "cheque", "clothing", 1_205_01),
]


def _statement(**changes: object) -> str:
    values: dict[str, object] = dict(
        municipality_name="Gemeente Opsterland",
        merchant_name="Sportwinkel De Bal",
        merchant_iban="NL44RABO0123456789",
        batch_id=42,
        period_from=date(2027, 5, 1),
        period_until=date(2027, 5, 31),
        lines=LINES,
    )
    values.update(changes)
    return render_statement(**values)
def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_the_statement_renders_without_a_flask_app():
    assert not flask.has_app_context()
    assert _statement().startswith("<!doctype html>")


def test_the_statement_lists_every_redemption_with_count_and_total():
    text = _text(_statement())
    # Amsterdam time: 13:05 UTC in May is 15:05 there.
    assert "03-05-2027 15:05 R-0001 Kinderpas-tegoed Sport en cultuur € 25,00" in text
    assert "17-05-2027 10:00 R-0002 Strippenkaart Sport en cultuur € 4,50" in text
    assert "31-05-2027 R-0003 Cheque Kleding en schoenen € 1.205,01" in text
    assert "Totaal (3 betalingen) € 1.234,51" in text


def test_the_statement_names_merchant_batch_period_and_account():
    text = _text(_statement(end_to_end_id="KP-B42-M7"))
    assert "Gemeente Opsterland" in text
    assert "Aanbieder Sportwinkel De Bal" in text
    assert "Rekeningnummer (IBAN) NL44 RABO 0123 4567 89" in text
    assert "Afrekening B42" in text
    assert "Periode 01-05-2027 t/m 31-05-2027" in text
    assert "Kenmerk op uw bankafschrift KP-B42-M7" in text


def test_the_statement_says_whether_it_was_paid():
    assert "Nog niet uitbetaald" in _text(_statement())
    paid = _text(_statement(paid_at=datetime(2027, 6, 3, 22, 30, tzinfo=timezone.utc)))
    assert "Uitbetaald op 04-06-2027" in paid and "Nog niet" not in paid


def test_html_in_names_and_receipts_is_escaped():
    html = _statement(
        merchant_name='<script>alert("x")</script> & Zn',
        municipality_name="Gemeente <b>X</b>",
        lines=[StatementLine(date(2027, 5, 2), "<img src=x onerror=alert(1)>", "budget", "school", 1_00)],
    )
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Zn" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_page_links_its_stylesheet_and_has_no_inline_style_or_script():
    html = _statement()
    assert f'<link rel="stylesheet" href="{STYLESHEET_URL}">' in html
    assert "<script" not in html and "<style" not in html and "style=" not in html


def test_a_standalone_statement_carries_its_print_stylesheet():
    html = _statement(stylesheet_url=None)
    assert "<link" not in html
    assert "@media print" in html and "size: A4" in html


def test_the_statement_stylesheet_is_served(client):
    response = client.get(STYLESHEET_URL)
    assert response.status_code == 200 and b"@media print" in response.data


def test_a_statement_without_redemptions_says_so():
    text = _text(_statement(lines=[]))
    assert "Geen betalingen in deze periode." in text and "Totaal: € 0,00" in text


def test_a_single_redemption_is_singular():
    text = _text(_statement(lines=LINES[:1]))
    assert "Totaal (1 betaling) € 25,00" in text


def test_the_lines_csv_has_the_agreed_columns_and_euro_amounts():
    data = lines_csv(
        [
            BatchLine(7, "Sportwinkel De Bal", "NL44RABO0123456789", 3, 1_234_51, "KP-B42-M7"),
            BatchLine(9, "Zwembad De Welle", "NL69INGB0123456789", 1, 4_50, "KP-B42-M9"),
        ],
        period_from=date(2027, 5, 1),
        period_until=date(2027, 5, 31),
    )
    rows = _csv_rows(data)
    assert tuple(rows[0]) == LINES_CSV_HEADER
    assert rows[1:] == [
        ["7", "Sportwinkel De Bal", "NL44RABO0123456789", "3", "1234,51", "2027-05-01", "2027-05-31", "KP-B42-M7"],
        ["9", "Zwembad De Welle", "NL69INGB0123456789", "1", "4,50", "2027-05-01", "2027-05-31", "KP-B42-M9"],
    ]


def test_a_formula_in_a_merchant_name_is_neutralised_in_the_lines_csv():
    data = lines_csv(
        [BatchLine(7, "=HYPERLINK(\"http://evil\";\"klik\")", "NL44RABO0123456789", 1, 1_00, "KP-B42-M7")],
        period_from=date(2027, 5, 1),
        period_until=date(2027, 5, 31),
    )
    assert _csv_rows(data)[1][1] == "'=HYPERLINK(\"http://evil\";\"klik\")"


def test_the_statement_csv_lists_each_redemption_in_amsterdam_time():
    rows = _csv_rows(statement_csv([*LINES, StatementLine(date(2027, 5, 31), "@R-4", "budget", "other", -5_00)]))
    assert rows == [
        ["date", "receipt_no", "voucher_kind", "category", "amount_eur"],
        ["2027-05-03 15:05", "R-0001", "budget", "sport_culture", "25,00"],
        ["2027-05-17 10:00", "R-0002", "punchcard", "sport_culture", "4,50"],
        ["2027-05-31", "R-0003", "cheque", "clothing", "1205,01"],
        ["2027-05-31", "'@R-4", "budget", "other", "-5,00"],
    ]
