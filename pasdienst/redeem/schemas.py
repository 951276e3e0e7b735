"""Marshmallow schemas of the scan and redemption API (and its OpenAPI)."""
from __future__ import annotations

import re
from datetime import date

import marshmallow as ma
from marshmallow import validate

from ..web.validators import CONTROL, MAX_ID, NO_NUL, Pattern
from ..merchants.models import CATEGORIES

# A redemption above this is a typo (an extra zero), not a purchase.
MAX_AMOUNT_CENTS = 1_000_000


class ScanIn(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "The QR payload (the pass URL) or the typed code XXXX-XXXX-XXXX", **NO_NUL},
    )


class VoucherOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(["budget", "punchcard", "cheque"]))
    category = ma.fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    balance_cents = ma.fields.Integer(required=True)
    strips_left = ma.fields.Integer(allow_none=True)
    valid_until = ma.fields.Date(required=True)
    code = ma.fields.String(
        allow_none=True,
        metadata={"description": "The scheme's code of a punch card or cheque (e.g. zwemmen, fashioncheque); null for a budget",
                  "example": "zwemmen"},
    )


class ScanOut(ma.Schema):
    pass_id = ma.fields.String(
        required=True,
        metadata={"description": "The pass number, as on the letter, the pages, the exports and every command", "example": "KP-2027-000123"},
    )
    first_name = ma.fields.String(required=True)
    age = ma.fields.Integer(required=True)
    vouchers = ma.fields.List(ma.fields.Nested(VoucherOut), required=True)


class IdempotencyHeader(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key",
        required=True,
        validate=[validate.Length(min=1, max=200), Pattern(rf"^[^{CONTROL}]*$", error="no control characters")],
        metadata={"description": "Made by the till for each redemption and reused on every retry of it"},
    )


class RedeemIn(ma.Schema):
    class Meta:
        openapi = {"oneOf": [{"required": ["amount_cents"]}, {"required": ["strips"]}]}

    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=500), metadata=NO_NUL)
    voucher_id = ma.fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    amount_cents = ma.fields.Integer(
        strict=True, validate=validate.Range(min=1, max=MAX_AMOUNT_CENTS), metadata={"description": "For budgets and cheques"}
    )
    strips = ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=100), metadata={"description": "For punch cards"})

    @ma.validates_schema
    def _amount_or_strips(self, data: dict, **_kwargs: object) -> None:
        if ("amount_cents" in data) == ("strips" in data):
            raise ma.ValidationError("give either amount_cents or strips", field_name="amount_cents")


class RedemptionOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    receipt_no = ma.fields.String(required=True)
    amount_cents = ma.fields.Integer(required=True)
    balance_after_cents = ma.fields.Integer(required=True)
    strips_left = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime(required=True)


class VoidOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    receipt_no = ma.fields.String(required=True)
    voided_at = ma.fields.DateTime(required=True)
    balance_after_cents = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "What the voucher holds now the amount is back (after a reissue: the child's current "
                  "pass); null once its year is closed and the amount went back to the fund"},
    )
    strips_left = ma.fields.Integer(allow_none=True, metadata={"description": "Punch cards: strips left now"})


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class TodayOrDate(ma.fields.Field):
    """``today``, or a calendar date written YYYY-MM-DD (loaded as a ``date``)."""

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> str | date:
        if value == "today":
            return "today"
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise ma.ValidationError("today or a date YYYY-MM-DD")


class DayQuery(ma.Schema):
    date = TodayOrDate(
        load_default="today",
        metadata={
            "description": "today (default) or YYYY-MM-DD",
            "oneOf": [{"type": "string", "enum": ["today"]}, {"type": "string", "format": "date"}],
        },
    )


class DayItem(ma.Schema):
    id = ma.fields.Integer(required=True)
    receipt_no = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    amount_cents = ma.fields.Integer(required=True)
    strips = ma.fields.Integer(allow_none=True)
    kind = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    voided = ma.fields.Boolean(required=True)
    can_void = ma.fields.Boolean(required=True)


class DayOut(ma.Schema):
    date = ma.fields.Date(required=True)
    items = ma.fields.List(ma.fields.Nested(DayItem), required=True)
    total_cents = ma.fields.Integer(required=True, metadata={"description": "Sum of the redemptions not voided"})
