"""SEPA credit-transfer files (pain.001) for a settlement batch.

``build_pain001`` turns a ``PaymentOrder`` (plain values, no session) into
the XML that finance uploads to the municipality's bank: one batch-booked
payment information block, one transfer per merchant.

Three things here exist because the library does not do them:

* **Checks first.** sepaxml validates only against the XML schema; it accepts
  an IBAN with wrong check digits. Every IBAN goes through schwifty
  (``banking.normalise_iban``) and every id, amount and text is checked
  before a byte is built, with a message that names the merchant.
* **Deterministic output.** sepaxml puts a random ``MsgId`` and ``PmtInfId``
  and the wall-clock ``CreDtTm`` into the tree (the header as soon as it is
  constructed, the payment block inside ``export``). Banks refuse a second
  file with a known ``MsgId``, which is exactly the protection we want when
  finance exports the same batch twice, so all three are overwritten with
  values derived from the order: building the same order again gives the
  same bytes.
* **SEPA text.** Names and remittance text are reduced to the EPC basic
  Latin set (``a-z A-Z 0-9 / - ? : ( ) . , ' +`` and space) that every bank
  accepts, after transliteration, and cut to 70 and 140 characters.

The schema is loaded once per version and reused: parsing the XSD costs
about 0.2 s, more than building a file for 500 merchants.
"""
from __future__ import annotations

import functools
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import sepaxml
from sepaxml import SepaTransfer

from ..banking import MAX_BANK_NAME, InvalidIBAN, bank_name, normalise_iban, sepa_text
from ..clock import AMSTERDAM
from ..errors import PasdienstError

#: The pain.001 versions sepaxml ships schemas for. Which one a bank takes
#: is a per-bank setting (``PASDIENST_SEPA_SCHEMA``).
SUPPORTED_SCHEMAS = ("pain.001.001.03", "pain.001.001.09", "pain.001.001.10", "pain.001.001.11")
DEFAULT_SCHEMA = "pain.001.001.09"

MAX_ID = 35  # MsgId, PmtInfId, EndToEndId (Max35Text)
MAX_NAME = MAX_BANK_NAME  # EPC rulebook: names are at most 70 characters (banking.bank_name)
MAX_REMITTANCE = 140  # one unstructured remittance line
#: The largest amount one SEPA credit transfer may carry: 999,999,999.99.
MAX_AMOUNT_CENTS = 99_999_999_999

_SEPA_ID = re.compile(r"^[A-Za-z0-9/\-?:().,'+]+$")


class SepaExportError(PasdienstError):
    """The batch cannot become a payment file as it stands (a merchant's or
    the municipality's bank details, or the batch itself, need fixing).

    ``reasons`` (when known) says what, for the pages: pairs of a refusal code
    (``sepa.creditor_name_unusable``…) and its parameters.
    """

    code = "conflict"
    status = 409
    refusal = "sepa_export_failed"


@dataclass(frozen=True)
class Payment:
    """One credit transfer: what a merchant receives for a batch."""

    name: str
    iban: str
    bic: str | None
    amount_cents: int
    end_to_end_id: str
    remittance: str


@dataclass(frozen=True)
class PaymentOrder:
    """Everything a pain.001 file says, derived from one settlement batch."""

    batch_id: int
    message_id: str
    #: When the batch was approved/created: goes into ``CreDtTm``; must be aware.
    created_at: datetime
    execution_date: date
    debtor_name: str
    debtor_iban: str | None
    debtor_bic: str | None
    payments: tuple[Payment, ...]


class SummaryPayment(NamedTuple):
    iban: str
    amount_cents: int
    end_to_end_id: str
    remittance: str
    name: str
    bic: str | None


# --- ids and texts derived from a batch -------------------------------------


def message_id_for(batch_id: int, created_at: datetime) -> str:
    """``KP-20270601-B42``: stable for a batch, so a re-export is recognised.

    The batch's creation date is part of it so that two installations (or a
    rebuilt database) that both reach batch 42 do not send the same id.
    """
    return f"KP-{_local(created_at):%Y%m%d}-B{batch_id}"


def end_to_end_id_for(batch_id: int, merchant_id: int) -> str:
    """``KP-B42-M7``: comes back on the merchant's bank statement."""
    return f"KP-B{batch_id}-M{merchant_id}"


def remittance_for(batch_id: int, period_from: date, period_until: date) -> str:
    """The text the merchant sees with the money; both dates inclusive."""
    return f"Kindpakket afrekening B{batch_id} periode {period_from:%d-%m-%Y} t/m {period_until:%d-%m-%Y}"


# --- the file ----------------------------------------------------------------


class _Transfer(SepaTransfer):
    """sepaxml's transfer with the values it would randomise fixed."""

    def __init__(self, config: dict[str, Any], schema: str, *, message_id: str, created: str) -> None:
        super().__init__(config, schema=schema, clean=True)
        self.msg_id = message_id
        header = self._xml.find(f"{self.root_el}/GrpHdr")
        _node(header, "MsgId").text = message_id
        _node(header, "CreDtTm").text = created

    def _finalize_batch(self) -> None:
        # sepaxml creates the payment information blocks (with a random
        # PmtInfId each) only here, inside export(), so they are fixed here.
        super()._finalize_batch()
        for number, node in enumerate(self._xml.findall(f"{self.root_el}/PmtInf/PmtInfId"), start=1):
            node.text = _payment_info_id(self.msg_id, number)


def build_pain001(order: PaymentOrder, *, schema: str = DEFAULT_SCHEMA) -> bytes:
    """The pain.001 credit-transfer file for ``order``, XSD-validated.

    Raises ``SepaExportError`` (nothing built) listing every problem found:
    the municipality has no IBAN, a merchant's IBAN or BIC is wrong, an
    amount is not positive whole cents, an id is too long or repeated, the
    schema version is not one of ``SUPPORTED_SCHEMAS``.
    """
    _check_schema(schema)
    debtor, payments = _checked(order)
    config: dict[str, Any] = {"name": debtor["name"], "IBAN": debtor["iban"], "batch": True, "currency": "EUR"}
    if debtor["bic"]:
        config["BIC"] = debtor["bic"]
    transfer = _Transfer(config, schema, message_id=order.message_id, created=_credttm(order.created_at))
    for payment in payments:
        transfer.add_payment(payment)
    xml = transfer.export(validate=False)
    validate_pain001(xml, schema)
    _self_check(xml, order, payments)
    return xml


def validate_pain001(xml: bytes, schema: str = DEFAULT_SCHEMA) -> None:
    """Raise ``SepaExportError`` unless ``xml`` is valid against ``schema``.

    The same XSD check as sepaxml's ``export(validate=True)``, with the
    parsed schema kept.
    """
    _check_schema(schema)
    import xmlschema  # sepaxml imports it lazily too (it patches ElementTree)

    try:
        _xsd(schema).validate(xml)
    except xmlschema.XMLSchemaValidationError as exc:
        raise SepaExportError(f"the payment file does not match {schema}: {exc.reason or exc.message}") from None
    except (ET.ParseError, xmlschema.XMLResourceError) as exc:
        raise SepaExportError(f"the payment file is not well-formed XML: {exc}") from None


def parse_summary(xml: bytes) -> dict[str, Any]:
    """The figures of a pain.001 file we built: for tests and previews.

    Keys: ``schema``, ``message_id``, ``created_at`` (as written),
    ``nb_of_txs``, ``ctrl_sum_cents``, ``debtor_name``, ``debtor_iban``,
    ``debtor_bic``, ``execution_date``, ``payment_info_ids`` and
    ``payments`` (``SummaryPayment`` tuples: iban, amount_cents,
    end_to_end_id, remittance, name, bic). Meant for files this module
    wrote, not for untrusted uploads.
    """
    root = ET.fromstring(xml)
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    prefix = "urn:iso:std:iso:20022:tech:xsd:"

    def q(path: str) -> str:
        return "/".join(f"{{{namespace}}}{part}" if namespace else part for part in path.split("/"))

    def text(node: ET.Element, path: str) -> str | None:
        found = node.find(q(path))
        return found.text if found is not None else None

    initiation = root.find(q("CstmrCdtTrfInitn"))
    if initiation is None:
        raise ValueError("not a pain.001 credit-transfer file")
    header = initiation.find(q("GrpHdr"))
    if header is None:
        raise ValueError("a pain.001 file without its group header")
    infos = initiation.findall(q("PmtInf"))
    first = infos[0] if infos else None
    payments = [
        SummaryPayment(
            iban=text(tx, "CdtrAcct/Id/IBAN") or "",
            amount_cents=_cents(text(tx, "Amt/InstdAmt") or ""),
            end_to_end_id=text(tx, "PmtId/EndToEndId") or "",
            remittance=text(tx, "RmtInf/Ustrd") or "",
            name=text(tx, "Cdtr/Nm") or "",
            bic=text(tx, "CdtrAgt/FinInstnId/BICFI") or text(tx, "CdtrAgt/FinInstnId/BIC"),
        )
        for info in infos
        for tx in info.findall(q("CdtTrfTxInf"))
    ]
    execution = None
    if first is not None:
        raw = text(first, "ReqdExctnDt/Dt") or text(first, "ReqdExctnDt")
        execution = date.fromisoformat(raw.strip()) if raw and raw.strip() else None
    return {
        "schema": namespace[len(prefix):] if namespace.startswith(prefix) else namespace,
        "message_id": text(header, "MsgId"),
        "created_at": text(header, "CreDtTm"),
        "nb_of_txs": int(text(header, "NbOfTxs") or 0),
        "ctrl_sum_cents": _cents(text(header, "CtrlSum") or "0"),
        "debtor_name": text(first, "Dbtr/Nm") if first is not None else None,
        "debtor_iban": text(first, "DbtrAcct/Id/IBAN") if first is not None else None,
        "debtor_bic": (text(first, "DbtrAgt/FinInstnId/BICFI") or text(first, "DbtrAgt/FinInstnId/BIC")) if first is not None else None,
        "execution_date": execution,
        "payment_info_ids": [text(info, "PmtInfId") for info in infos],
        "payments": payments,
    }


# --- internals ---------------------------------------------------------------


def _check_schema(schema: str) -> None:
    if schema not in SUPPORTED_SCHEMAS:
        raise SepaExportError(f"SEPA schema {schema!r} is not supported; use one of {', '.join(SUPPORTED_SCHEMAS)}")


@functools.cache
def _xsd(schema: str) -> Any:
    import xmlschema

    return xmlschema.XMLSchema(os.path.join(os.path.dirname(sepaxml.__file__), "schemas", f"{schema}.xsd"))


def _checked(order: PaymentOrder) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
    """Everything validated and cleaned, or one error listing every problem."""
    problems: list[str] = []
    #: What the pages say of it (``SepaExportError.reasons``); anything but names and accounts is "other".
    reasons: list[tuple[str, dict[str, Any]]] = []
    problems += _id_problems("message id", order.message_id)
    if not isinstance(order.created_at, datetime) or order.created_at.tzinfo is None:
        problems.append("the creation time must be a timezone-aware datetime")
    if isinstance(order.execution_date, datetime) or not isinstance(order.execution_date, date):
        problems.append("the execution date must be a date")

    debtor: dict[str, str | None] = {"name": bank_name(order.debtor_name), "iban": None, "bic": None}
    if not debtor["name"]:
        problems.append(f"the paying municipality's name {order.debtor_name!r} has no characters a bank accepts")
        reasons.append(("sepa.debtor_name_unusable", {}))
    if not (order.debtor_iban or "").strip():
        problems.append(
            f"the municipality {order.debtor_name!r} has no IBAN to pay from; "
            "give it one with: pasdienst municipality set-iban CODE --iban IBAN"
        )
        reasons.append(("sepa.debtor_iban_missing", {}))
    else:
        try:
            account = normalise_iban(order.debtor_iban or "", order.debtor_bic)
            debtor["iban"], debtor["bic"] = account.iban, account.bic
        except InvalidIBAN as exc:
            problems.append(f"the municipality's account: {exc.message}")
            reasons.append(("sepa.debtor_iban", {}))

    if not order.payments:
        problems.append(f"batch {order.batch_id} has no payments")
    payments: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, payment in enumerate(order.payments, start=1):
        who = f"merchant {payment.name!r} (line {number}, {payment.end_to_end_id or 'no end-to-end id'})"
        mine: list[str] = []
        name = bank_name(payment.name)
        if not name:
            mine.append("its name has no characters a bank accepts")
            reasons.append(("sepa.creditor_name_unusable", {"name": payment.name}))
        remittance = sepa_text(payment.remittance, MAX_REMITTANCE)
        if not remittance:
            mine.append("the remittance text is empty")
        amount = payment.amount_cents
        if not isinstance(amount, int) or isinstance(amount, bool):
            mine.append(f"amount {amount!r} is not whole cents")
        elif amount <= 0:
            mine.append(f"amount {amount} cents is not positive")
        elif amount > MAX_AMOUNT_CENTS:
            mine.append(f"amount {amount} cents is more than one SEPA transfer may carry")
        mine += _id_problems("end-to-end id", payment.end_to_end_id)
        if payment.end_to_end_id in seen:
            mine.append(f"end-to-end id {payment.end_to_end_id!r} is also used on line {seen[payment.end_to_end_id]}")
        else:
            seen[payment.end_to_end_id] = number
        iban = bic = None
        try:
            account = normalise_iban(payment.iban, payment.bic)
            iban, bic = account.iban, account.bic
        except InvalidIBAN as exc:
            mine.append(exc.message)
            reasons.append(("sepa.creditor_iban", {"name": payment.name}))
        problems += [f"{who}: {problem}" for problem in mine]
        if not mine:
            entry: dict[str, Any] = {
                "name": name,
                "IBAN": iban,
                "amount": amount,
                "execution_date": order.execution_date,
                "description": remittance,
                "endtoend_id": payment.end_to_end_id,
            }
            if bic:
                entry["BIC"] = bic
            payments.append(entry)
    if problems:
        if len(reasons) < len(problems):
            reasons.append(("sepa.other", {}))
        raise SepaExportError(
            f"cannot export batch {order.batch_id} as SEPA: " + "; ".join(problems), errors=problems, reasons=reasons
        )
    return debtor, payments


def _id_problems(label: str, value: str) -> list[str]:
    if not isinstance(value, str) or not value:
        return [f"the {label} is missing"]
    if len(value) > MAX_ID:
        return [f"the {label} {value!r} is longer than {MAX_ID} characters"]
    if not _SEPA_ID.match(value) or value.startswith("/") or value.endswith("/") or "//" in value:
        return [f"the {label} {value!r} has characters a bank refuses (letters, digits and -/?:().,'+ only)"]
    return []


def _payment_info_id(message_id: str, number: int) -> str:
    suffix = f"-P{number}"
    return message_id[: MAX_ID - len(suffix)] + suffix


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise SepaExportError("the creation time must be a timezone-aware datetime")
    return moment.astimezone(AMSTERDAM)


def _credttm(moment: datetime) -> str:
    # Dutch banks' implementation guides show local time without an offset
    # (sepaxml writes it that way too); the seconds are enough.
    return f"{_local(moment):%Y-%m-%dT%H:%M:%S}"


def _node(parent: ET.Element | None, tag: str) -> ET.Element:
    found = parent.find(tag) if parent is not None else None
    if found is None:  # a sepaxml release that builds the header differently
        raise RuntimeError(f"sepaxml did not write a {tag} element where expected")
    return found


def _cents(text: str) -> int:
    try:
        value = Decimal(text.strip()) * 100
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} has more than two decimals")
    return int(value)


def _self_check(xml: bytes, order: PaymentOrder, payments: list[dict[str, Any]]) -> None:
    # The totals and ids a bank checks, read back from the bytes we built:
    # catches a sepaxml change that would otherwise send a different file.
    summary = parse_summary(xml)
    expected_ids = [_payment_info_id(order.message_id, 1)]
    if (
        summary["message_id"] != order.message_id
        or summary["payment_info_ids"] != expected_ids
        or summary["created_at"] != _credttm(order.created_at)
        or summary["nb_of_txs"] != len(payments)
        or summary["ctrl_sum_cents"] != sum(p["amount"] for p in payments)
        or [(p.iban, p.amount_cents, p.end_to_end_id) for p in summary["payments"]]
        != [(p["IBAN"], p["amount"], p["endtoend_id"]) for p in payments]
    ):
        raise RuntimeError(f"the SEPA file built for batch {order.batch_id} does not match the batch")
