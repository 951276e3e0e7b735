#!/usr/bin/env python
"""Time to build and XSD-validate a pain.001 file for many merchants.

Prints, per payee count, the median and best of several runs of
``build_pain001`` (checks with schwifty, sepaxml build, XSD validation with
the cached schema, read-back self-check), and the share of that spent in
validation. The first, cold call also parses the XSD; it is shown apart.

Usage: .venv/bin/python -m scripts.bench_sepa [--payees 1000 5000] [--runs 5] [--schema pain.001.001.09]
"""
from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, datetime, timezone

from schwifty import IBAN

from pasdienst.settlement import sepa

_BANKS = ("RABO", "INGB", "ABNA", "SNSB", "TRIO", "ASNB")


def _order(payees: int) -> sepa.PaymentOrder:
    created = datetime(2027, 6, 1, 8, 30, tzinfo=timezone.utc)
    payments = tuple(
        sepa.Payment(
            name=f"Sportvereniging Ünïón {n}",
            iban=IBAN.generate("NL", bank_code=_BANKS[n % len(_BANKS)], account_code=f"{100000 + n:010d}").compact,
            bic=None,
            amount_cents=1_000 + n,
            end_to_end_id=sepa.end_to_end_id_for(42, n),
            remittance=sepa.remittance_for(42, date(2027, 5, 1), date(2027, 5, 31)),
        )
        for n in range(1, payees + 1)
    )
    return sepa.PaymentOrder(
        batch_id=42,
        message_id=sepa.message_id_for(42, created),
        created_at=created,
        execution_date=date(2027, 6, 3),
        debtor_name="Gemeente Opsterland",
        debtor_iban="NL91ABNA0417164300",
        debtor_bic=None,
        payments=payments,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payees", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--schema", default=sepa.DEFAULT_SCHEMA, choices=sepa.SUPPORTED_SCHEMAS)
    args = parser.parse_args()

    started = time.perf_counter()
    sepa.build_pain001(_order(1), schema=args.schema)
    print(f"cold start (parse the {args.schema} XSD, one payee): {time.perf_counter() - started:.3f} s")

    for payees in args.payees:
        order = _order(payees)
        totals, validations = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            xml = sepa.build_pain001(order, schema=args.schema)
            totals.append(time.perf_counter() - started)
            started = time.perf_counter()
            sepa.validate_pain001(xml, args.schema)
            validations.append(time.perf_counter() - started)
        summary = sepa.parse_summary(xml)
        assert summary["nb_of_txs"] == payees and summary["ctrl_sum_cents"] == sum(p.amount_cents for p in order.payments)
        median = statistics.median(totals)
        print(
            f"{payees:>6} payees: build + validate median {median:.3f} s, best {min(totals):.3f} s "
            f"({len(xml) / 1024:.0f} KiB; XSD validation {statistics.median(validations) / median:.0%} of it)"
        )


if __name__ == "__main__":
    main()
