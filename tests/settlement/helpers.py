"""Payment orders for the export tests, with IBANs that really validate."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

from schwifty import IBAN

from pasdienst.settlement.sepa import Payment, PaymentOrder, end_to_end_id_for, message_id_for, remittance_for

MUNICIPALITY_IBAN = "NL91ABNA0417164300"
CREATED = datetime(2027, 6, 1, 8, 30, tzinfo=timezone.utc)
PERIOD = (date(2027, 5, 1), date(2027, 5, 31))
_BANKS = ("RABO", "INGB", "ABNA", "SNSB", "TRIO", "ASNB")


def iban(number: int) -> str:
    """A different valid Dutch IBAN for every ``number``."""
    return IBAN.generate("NL", bank_code=_BANKS[number % len(_BANKS)], account_code=f"{100000 + number:010d}").compact


def payment(merchant_id: int, amount_cents: int, *, name: str | None = None, batch_id: int = 42, **changes: object) -> Payment:
    made = Payment(
        name=name or f"Sportwinkel {merchant_id}",
        iban=iban(merchant_id),
        bic=None,
        amount_cents=amount_cents,
        end_to_end_id=end_to_end_id_for(batch_id, merchant_id),
        remittance=remittance_for(batch_id, *PERIOD),
    )
    return replace(made, **changes) if changes else made


def order(*payments: Payment, batch_id: int = 42, **changes: object) -> PaymentOrder:
    made = PaymentOrder(
        batch_id=batch_id,
        message_id=message_id_for(batch_id, CREATED),
        created_at=CREATED,
        execution_date=date(2027, 6, 3),
        debtor_name="Gemeente Opsterland",
        debtor_iban=MUNICIPALITY_IBAN,
        debtor_bic=None,
        payments=payments or (payment(1, 12_50), payment(2, 4_50), payment(3, 75_00)),
    )
    return replace(made, **changes) if changes else made
