"""``/api/v1/municipalities/<code>/merchants``: list and add merchants (staff)."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from ..access.web import current_actor, requires
from ..banking import InvalidIBAN
from ..errors import ValidationFailed
from ..web.api import CONTROL, LINE, LINES, WHITESPACE, Pattern, problems
from .merchants import add_merchant, list_merchants
from .models import CATEGORIES, MERCHANT_STATUSES, Merchant

api = Blueprint("merchants_api", __name__, url_prefix="/api/v1", description="Merchants (providers)")


#: ``access.services.normalise_email``'s rule, with ``\\s`` spelled out.
_NOT_IN_EMAIL = "@,;<>\"'" + CONTROL + WHITESPACE
_EMAIL = rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\.[^.{_NOT_IN_EMAIL}]{{2,}}$"


class MerchantSchema(ma.Schema):
    # The rules of redeem.merchants.add_merchant, so that the document states them.
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(
        required=True, validate=[ma.validate.Length(min=1, max=200), Pattern(LINE, error="a merchant needs a name on one line")]
    )
    categories = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(CATEGORIES)), required=True, validate=ma.validate.Length(min=1)
    )
    iban = ma.fields.String(
        required=True, validate=[ma.validate.Length(min=1, max=42), Pattern(LINE, error="a merchant needs an IBAN")]
    )
    bic = ma.fields.String(load_default=None, allow_none=True)
    status = ma.fields.String(load_default="approved", validate=ma.validate.OneOf(MERCHANT_STATUSES))
    kvk_number = ma.fields.String(
        load_default=None, allow_none=True, validate=Pattern(r"^ *(?:[0-9] *){8}$", error="a KvK number has 8 digits")
    )
    address = ma.fields.String(
        load_default=None, allow_none=True,
        validate=[ma.validate.Length(max=300), Pattern(LINES, error="an address cannot hold control characters")],
    )
    contact_email = ma.fields.String(
        load_default=None, allow_none=True,
        validate=[ma.validate.Length(max=254), Pattern(_EMAIL, error="not an e-mail address")],
    )


class MerchantQuerySchema(ma.Schema):
    category = ma.fields.String(load_default=None, validate=ma.validate.OneOf(CATEGORIES))
    status = ma.fields.String(
        load_default="approved", validate=ma.validate.OneOf((*MERCHANT_STATUSES, "all")),
        metadata={"description": "approved (default), pending, suspended or all"},
    )


def _as_dict(merchant: Merchant) -> dict[str, Any]:
    return {
        "id": merchant.id,
        "name": merchant.name,
        "categories": sorted(merchant.category_set, key=CATEGORIES.index),
        "iban": merchant.iban,
        "bic": merchant.bic,
        "status": merchant.status,
        "kvk_number": merchant.kvk_number,
        "address": merchant.address,
        "contact_email": merchant.contact_email,
    }


def _db():  # noqa: ANN202
    from ..web.app import get_db

    return get_db(current_app)


@api.route("/municipalities/<code>/merchants", methods=["GET"])
@requires("admin", "finance", "caseworker", scope="code")
@api.arguments(MerchantQuerySchema, location="query")
@api.response(200, MerchantSchema(many=True))
@problems(api, {422: "validation_error"})
def merchants_list(query: dict[str, Any], code: str) -> list[dict[str, Any]]:
    """The municipality's merchants, by name."""
    status = None if query["status"] == "all" else query["status"]
    with _db().read() as session:
        return [_as_dict(m) for m in list_merchants(session, code, category=query["category"], status=status)]


@api.route("/municipalities/<code>/merchants", methods=["POST"])
@requires("admin", scope="code")
@api.arguments(MerchantSchema)
@api.response(201, MerchantSchema)
@problems(api, {
    409: "conflict: the municipality already has a merchant of that name",
    422: "validation_error: e.g. an IBAN with wrong check digits or of an unknown bank",
})
def merchants_add(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Add a merchant; its IBAN is checked (check digits, known Dutch bank) and the BIC derived."""
    try:
        with _db().transaction() as session:
            merchant = add_merchant(session, code, actor=current_actor(), **body)
            return _as_dict(merchant)
    except InvalidIBAN as exc:
        field = "bic" if exc.message.startswith("BIC") else "iban"
        raise ValidationFailed(exc.message, errors={field: [exc.message]}) from None
