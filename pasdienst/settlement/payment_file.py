"""A payment file as it leaves pasdienst: a settlement batch's or a
cooperation's payment run's pain.001 and its CSV, built and checked.

Both are made the same way (``build_payment_file``): the pain.001 from a
``PaymentOrder`` (``sepa.build_pain001``: schwifty-checked accounts,
sepaxml, XSD-validated), read back to prove it adds up to what the batch or
run pays, and carried with the values that are fixed at the first export
(execution date, schema version, debtor), which the caller stores then.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .sepa import PaymentOrder, build_pain001, parse_summary


@dataclass(frozen=True)
class PaymentFile:
    """The files of one batch or run, built and checked, not yet written."""

    #: The batch's id, or the run's (``PaymentOrder.batch_id`` carries either).
    id: int
    sepa: bytes
    csv: bytes
    #: Values fixed at the first export (and stored then).
    execution_date: date
    schema: str
    debtor_name: str
    debtor_iban: str
    debtor_bic: str | None
    nb_of_txs: int
    ctrl_sum_cents: int


def build_payment_file(order: PaymentOrder, csv: bytes, *, schema: str, total_cents: int) -> PaymentFile:
    """The pain.001 of ``order`` with ``csv``, refused unless the file pays
    ``total_cents`` in one transfer per payment of the order.

    Raises ``SepaExportError`` (from ``build_pain001``) when the order cannot
    become a file; a file that does not add up is a bug, not a refusal.
    """
    xml = build_pain001(order, schema=schema)
    summary = parse_summary(xml)
    if summary["nb_of_txs"] != len(order.payments) or summary["ctrl_sum_cents"] != total_cents:
        raise RuntimeError(f"the payment file {order.message_id} does not add up to what it was built from")
    return PaymentFile(
        order.batch_id, xml, csv, order.execution_date, schema, order.debtor_name, order.debtor_iban or "",
        order.debtor_bic, summary["nb_of_txs"], summary["ctrl_sum_cents"],
    )
