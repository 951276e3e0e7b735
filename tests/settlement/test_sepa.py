"""The SEPA payment file: valid for the bank, the same on every export, and
refused with a clear reason when the batch cannot be paid as it stands."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pasdienst.settlement import sepa
from pasdienst.settlement.sepa import (
    MAX_NAME,
    MAX_REMITTANCE,
    SUPPORTED_SCHEMAS,
    SepaExportError,
    build_pain001,
    parse_summary,
    validate_pain001,
)

from .helpers import CREATED, MUNICIPALITY_IBAN, iban, order, payment

_EPC_TEXT = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]*$")


@pytest.mark.parametrize("schema", SUPPORTED_SCHEMAS)
def test_the_file_is_valid_for_every_supported_schema_version(schema):
    the_order = order()
    xml = build_pain001(the_order, schema=schema)
    validate_pain001(xml, schema)
    summary = parse_summary(xml)
    assert summary["schema"] == schema
    assert summary["message_id"] == "KP-20270601-B42"
    assert summary["execution_date"] == date(2027, 6, 3)
    assert summary["debtor_iban"] == MUNICIPALITY_IBAN
    assert summary["debtor_bic"] == "ABNANL2A"
    assert [(p.iban, p.amount_cents, p.end_to_end_id) for p in summary["payments"]] == [
        (iban(1), 12_50, "KP-B42-M1"),
        (iban(2), 4_50, "KP-B42-M2"),
        (iban(3), 75_00, "KP-B42-M3"),
    ]


def test_the_default_schema_is_pain_001_001_09():
    assert parse_summary(build_pain001(order()))["schema"] == "pain.001.001.09"


@pytest.mark.parametrize("schema", SUPPORTED_SCHEMAS)
def test_exporting_the_same_batch_again_gives_the_same_bytes(schema, monkeypatch):
    first = build_pain001(order(), schema=schema)
    # sepaxml reads the clock and a random source for its own ids: a later
    # export, on another day, must still produce the identical file.
    later = datetime.now() + timedelta(days=40)

    class _Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return later if tz is None else later.astimezone(tz)

    # sepaxml calls datetime.datetime.now() through the datetime module.
    monkeypatch.setattr("sepaxml.transfer.datetime.datetime", _Later)
    again = build_pain001(replace(order()), schema=schema)
    assert again == first


def test_the_ids_and_time_come_from_the_batch_not_from_sepaxml():
    summary = parse_summary(build_pain001(order()))
    assert summary["message_id"] == "KP-20270601-B42"
    assert summary["payment_info_ids"] == ["KP-20270601-B42-P1"]
    # 08:30 UTC on 1 June is 10:30 in Amsterdam (summer time).
    assert summary["created_at"] == "2027-06-01T10:30:00"


def test_a_different_batch_gets_a_different_message_id():
    assert parse_summary(build_pain001(order(batch_id=43)))["message_id"] == "KP-20270601-B43"


def test_ctrl_sum_and_nb_of_txs_match_the_batch():
    amounts = [1, 99, 100, 12_345, 4_50, 999_999_99, 7]
    the_order = order(*(payment(i, cents) for i, cents in enumerate(amounts, start=1)))
    summary = parse_summary(build_pain001(the_order))
    assert summary["nb_of_txs"] == len(amounts)
    assert summary["ctrl_sum_cents"] == sum(amounts)
    assert [p.amount_cents for p in summary["payments"]] == amounts
    # In the group header and in the one payment information block.
    assert build_pain001(the_order).count(b"<CtrlSum>1000130.01</CtrlSum>") == 2


def test_a_wrong_iban_is_refused_naming_the_merchant():
    bad = payment(2, 4_50, name="Fietsenmaker Jansen", iban="NL02RABO0123456789")
    with pytest.raises(SepaExportError) as caught:
        build_pain001(order(payment(1, 12_50), bad))
    message = caught.value.message
    assert "Fietsenmaker Jansen" in message and "KP-B42-M2" in message and "check digits" in message
    assert "Sportwinkel 1" not in message
    assert caught.value.code == "conflict" and caught.value.status == 409


def test_every_problem_is_listed_at_once():
    with pytest.raises(SepaExportError) as caught:
        build_pain001(
            order(
                payment(1, 12_50, name="Bakker Bart", iban="NL02RABO0123456789"),
                payment(2, 0, name="Zwembad De Welle"),
                payment(3, 4_50, name="Muziekschool", iban="XX00"),
            )
        )
    problems = caught.value.details["errors"]
    assert len(problems) == 3
    assert [p.split(" (")[0] for p in problems] == ["merchant 'Bakker Bart'", "merchant 'Zwembad De Welle'", "merchant 'Muziekschool'"]


def test_an_iban_outside_sepa_is_refused():
    with pytest.raises(SepaExportError, match="outside the SEPA area"):
        build_pain001(order(payment(1, 12_50, iban="BR1800360305000010009795493C1")))


def test_a_bic_that_does_not_belong_to_the_iban_is_refused():
    with pytest.raises(SepaExportError, match="BIC INGBNL2A does not belong"):
        build_pain001(order(payment(6, 12_50, bic="INGBNL2A")))  # iban(6) is a Rabobank account


def test_the_creditor_bic_is_derived_from_the_iban():
    summary = parse_summary(build_pain001(order(payment(1, 12_50), payment(2, 4_50))))
    assert [p.bic for p in summary["payments"]] == ["INGBNL2A", "ABNANL2A"]


def test_an_iban_is_written_in_its_compact_form():
    spaced = "NL44 rabo 0123 4567 89"
    summary = parse_summary(build_pain001(order(payment(1, 12_50, iban=spaced))))
    assert summary["payments"][0].iban == "NL44RABO0123456789"


@pytest.mark.parametrize("debtor_iban", [None, "", "   "])
def test_a_municipality_without_iban_is_refused(debtor_iban):
    with pytest.raises(SepaExportError) as caught:
        build_pain001(order(debtor_iban=debtor_iban))
    assert "Gemeente Opsterland" in caught.value.message
    assert "has no IBAN" in caught.value.message and "--iban" in caught.value.message


def test_a_municipality_with_a_wrong_iban_is_refused():
    with pytest.raises(SepaExportError, match="municipality's account: IBAN 'NL02RABO0123456789' is not valid"):
        build_pain001(order(debtor_iban="NL02RABO0123456789"))


@pytest.mark.parametrize("amount", [0, -1, -1250, 12.5, "1250", True, None, Decimal("12.50"), sepa.MAX_AMOUNT_CENTS + 1])
def test_amounts_must_be_positive_whole_cents(amount):
    with pytest.raises(SepaExportError, match="Sportwinkel 2.*amount"):
        build_pain001(order(payment(1, 12_50), payment(2, amount)))


def test_the_largest_amount_a_transfer_may_carry_is_accepted():
    summary = parse_summary(build_pain001(order(payment(1, sepa.MAX_AMOUNT_CENTS))))
    assert summary["ctrl_sum_cents"] == 99_999_999_999


def test_a_batch_without_payments_is_refused():
    with pytest.raises(SepaExportError, match="batch 42 has no payments"):
        build_pain001(replace(order(), payments=()))


def test_end_to_end_ids_must_be_unique():
    twice = payment(2, 4_50, end_to_end_id="KP-B42-M1")
    with pytest.raises(SepaExportError, match="'KP-B42-M1' is also used on line 1"):
        build_pain001(order(payment(1, 12_50), twice))


@pytest.mark.parametrize(
    ("end_to_end_id", "reason"),
    [
        ("K" * 36, "longer than 35"),
        ("", "missing"),
        ("KP B42 M1", "characters a bank refuses"),
        ("KP_B42", "characters a bank refuses"),
        ("/KP-B42", "characters a bank refuses"),
        ("KP//B42", "characters a bank refuses"),
    ],
)
def test_end_to_end_ids_must_be_short_plain_text(end_to_end_id, reason):
    with pytest.raises(SepaExportError, match=f"end-to-end id.*{reason}"):
        build_pain001(order(payment(1, 12_50, end_to_end_id=end_to_end_id)))


def test_an_end_to_end_id_of_exactly_35_characters_is_accepted():
    summary = parse_summary(build_pain001(order(payment(1, 12_50, end_to_end_id="E" * 35))))
    assert summary["payments"][0].end_to_end_id == "E" * 35


def test_the_message_id_must_fit_in_35_characters():
    with pytest.raises(SepaExportError, match="message id .* longer than 35"):
        build_pain001(order(message_id="M" * 36))


def test_the_payment_info_id_stays_within_35_characters_for_a_long_message_id():
    summary = parse_summary(build_pain001(order(message_id="M" * 35)))
    assert summary["payment_info_ids"] == ["M" * 32 + "-P1"]


def test_ids_derived_from_large_batches_and_merchants_still_fit():
    assert len(sepa.message_id_for(10**12, CREATED)) <= 35
    assert len(sepa.end_to_end_id_for(10**12, 10**12)) <= 35
    assert len(sepa.remittance_for(10**12, date(2027, 5, 1), date(2027, 5, 31))) <= 140


@pytest.mark.parametrize("schema", ["pain.001.001.02", "pain.008.001.02", "pain.001.001.12", ""])
def test_an_unsupported_schema_is_refused(schema):
    with pytest.raises(SepaExportError, match="is not supported; use one of pain.001.001.03"):
        build_pain001(order(), schema=schema)


def test_the_creation_time_must_be_timezone_aware():
    with pytest.raises(SepaExportError, match="timezone-aware"):
        build_pain001(order(created_at=datetime(2027, 6, 1, 8, 30)))


def test_the_execution_date_must_be_a_date():
    with pytest.raises(SepaExportError, match="execution date"):
        build_pain001(order(execution_date=datetime(2027, 6, 3, tzinfo=timezone.utc)))


def test_names_with_diacritics_and_over_70_characters_are_cleaned():
    long_name = "Sportvereniging Ünïón Ñandú & Zonen “De Flierefluiters” — afdeling zwemmen, Súdwest-Fryslân"
    assert len(long_name) > MAX_NAME
    the_order = order(payment(1, 12_50, name=long_name), debtor_name="Gemeente Súdwest-Fryslân <Friesland> " + "x" * 80)
    summary = parse_summary(build_pain001(the_order))
    name = summary["payments"][0].name
    assert name.startswith("Sportvereniging Union Nandu + Zonen De Flierefluiters -- afdeling")
    assert len(name) <= MAX_NAME and _EPC_TEXT.match(name)
    assert summary["debtor_name"].startswith("Gemeente Sudwest-Fryslan Friesland x")
    assert len(summary["debtor_name"]) <= MAX_NAME


def test_a_name_without_any_bank_characters_is_refused():
    with pytest.raises(SepaExportError, match="merchant '★★★'.*name has no characters"):
        build_pain001(order(payment(1, 12_50, name="★★★")))


def test_remittance_text_is_at_most_140_characters():
    remittance = "Kindpakket afrekening B42 periode 01-05-2027 t/m 31-05-2027 — " + "Ærø café crème brûlée " * 10
    summary = parse_summary(build_pain001(order(payment(1, 12_50, remittance=remittance))))
    text = summary["payments"][0].remittance
    assert len(text) <= MAX_REMITTANCE and _EPC_TEXT.match(text)
    assert text.startswith("Kindpakket afrekening B42 periode 01-05-2027 t/m 31-05-2027 -- AEro cafe creme brulee")


def test_the_remittance_names_the_batch_and_the_period():
    summary = parse_summary(build_pain001(order()))
    assert summary["payments"][0].remittance == "Kindpakket afrekening B42 periode 01-05-2027 t/m 31-05-2027"


def test_the_schema_check_really_runs():
    xml = build_pain001(order())
    tampered = xml.replace(b"<NbOfTxs>3</NbOfTxs>", b"<NbOfTxs>three</NbOfTxs>", 1)
    assert tampered != xml
    with pytest.raises(SepaExportError, match="does not match pain.001.001.09"):
        validate_pain001(tampered)
    with pytest.raises(SepaExportError, match="does not match pain.001.001.03"):
        validate_pain001(xml, "pain.001.001.03")  # right file, wrong version
    with pytest.raises(SepaExportError, match="not well-formed"):
        validate_pain001(xml[:-20])


def test_markup_in_names_cannot_break_the_xml():
    summary = parse_summary(build_pain001(order(payment(1, 12_50, name="Kaas & Co <b>\"Top\"</b>"))))
    assert summary["payments"][0].name == "Kaas + Co b Top /b"


@settings(max_examples=40, deadline=None)
@given(
    names=st.lists(st.text(min_size=1, max_size=120), min_size=1, max_size=5),
    amounts=st.lists(st.integers(min_value=1, max_value=10**9), min_size=5, max_size=5),
)
def test_any_name_gives_a_valid_file_or_a_clear_refusal(names, amounts):
    payments = tuple(payment(i, amounts[i], name=name) for i, name in enumerate(names))
    try:
        xml = build_pain001(order(*payments))
    except SepaExportError as exc:
        assert "name has no characters a bank accepts" in exc.message
        return
    summary = parse_summary(xml)
    assert summary["nb_of_txs"] == len(names)
    assert summary["ctrl_sum_cents"] == sum(amounts[: len(names)])
    assert all(len(p.name) <= MAX_NAME and p.name and _EPC_TEXT.match(p.name) for p in summary["payments"])


def test_a_municipality_name_without_any_bank_characters_is_refused():
    with pytest.raises(SepaExportError, match="paying municipality's name '' has no characters"):
        build_pain001(order(debtor_name=""))
