"""The report's own index on a table that ``redeem`` owns.

Every redemption query of the usage report starts from the year's passes and
reads each pass's redemptions: whether they were voided, when, how much, at
which merchant, from which voucher. With all of those in one index SQLite
answers from the index alone instead of fetching each (wide) redemption row;
PostgreSQL mostly hashes and scans, and loses nothing. Declared here, on
``Redemption.__table__``, so the model and migration 0006 agree.
"""
from __future__ import annotations

from sqlalchemy import Index

from ..redeem.models import Redemption

report_index = Index(
    "ix_redemption_report",
    Redemption.pass_id,
    Redemption.voided_at,
    Redemption.created_at,
    Redemption.amount_cents,
    Redemption.merchant_id,
    Redemption.voucher_id,
)
