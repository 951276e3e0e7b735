"""``/api/v1/municipalities/<code>/merchants``: list and add merchants (staff)."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, current_app, jsonify
from flask_smorest import Blueprint

from ..access.web import current_actor, requires
from ..banking import InvalidIBAN
from ..errors import ValidationFailed
from ..web.api import problems
from ..web.validators import CONTROL, LINE, LINES, WHITESPACE, Pattern
from ..foureyes.requests import add_merchant_for_approval
from ..db import Database
from ..web.extensions import get_db
from .models import CATEGORIES, MERCHANT_STATUSES, Merchant
from .records import list_merchants, sees_payee

api = Blueprint("merchants_api", __name__, url_prefix="/api/v1", description="Merchants (providers)")


#: ``access.accounts.normalise_email``'s rule, with ``\\s`` spelled out.
_NOT_IN_EMAIL = "@,;<>\"'" + CONTROL + WHITESPACE
_EMAIL = rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\.[^.{_NOT_IN_EMAIL}]{{2,}}$"


class MerchantSchema(ma.Schema):
    # The rules of records.add_merchant, so that the document states them.
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(
        required=True, validate=[ma.validate.Length(min=1, max=200), Pattern(LINE, error="a merchant needs a name on one line")],
        metadata={"description": "The name the bank knows the account by: at least one letter or digit must survive "
                                 "SEPA transliteration (emoji and symbols are dropped), else 422 validation_error"},
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


class MerchantRequestSchema(ma.Schema):
    """A merchant an admin added, waiting for a second admin to confirm its approval (four eyes)."""

    id = ma.fields.Integer(metadata={"description": "the request's id (confirmed at /admin/verzoeken)"})
    kind = ma.fields.String(metadata={"description": "merchant.approve"})
    status = ma.fields.String(metadata={"description": "pending until a second admin confirms or rejects it"})
    requested_by = ma.fields.String(metadata={"description": "the e-mail address of the admin who asked"})
    merchant = ma.fields.Nested(MerchantSchema, metadata={"description": "the merchant, pending until then"})


class ListedMerchantSchema(MerchantSchema):
    iban = ma.fields.String(
        allow_none=True, metadata={"description": "null for caseworkers: only admin and finance see payees"}
    )
    bic = ma.fields.String(allow_none=True, metadata={"description": "null for caseworkers, as iban"})


def _as_dict(merchant: Merchant, *, payee: bool = True) -> dict[str, Any]:
    return {
        "id": merchant.id,
        "name": merchant.name,
        "categories": sorted(merchant.category_set, key=CATEGORIES.index),
        "iban": merchant.iban if payee else None,
        "bic": merchant.bic if payee else None,
        "status": merchant.status,
        "kvk_number": merchant.kvk_number,
        "address": merchant.address,
        "contact_email": merchant.contact_email,
    }


def _db() -> Database:
    return get_db(current_app)


@api.route("/municipalities/<code>/merchants", methods=["GET"])
@requires("admin", "finance", "caseworker", scope="code")
@api.arguments(MerchantQuerySchema, location="query")
@api.response(200, ListedMerchantSchema(many=True))
@problems(api, {422: "validation_error"})
def merchants_list(query: dict[str, Any], code: str) -> list[dict[str, Any]]:
    """The municipality's merchants, by name (caseworkers get no IBAN or BIC)."""
    status = None if query["status"] == "all" else query["status"]
    payee = sees_payee(current_actor())
    with _db().read() as session:
        found = list_merchants(session, code, category=query["category"], status=status)
        return [_as_dict(m, payee=payee) for m in found]


@api.route("/municipalities/<code>/merchants", methods=["POST"])
@requires("admin", scope="code")
@api.arguments(MerchantSchema)
@api.response(201, MerchantSchema, description="added as asked: status pending or suspended")
@api.alt_response(
    202, schema=MerchantRequestSchema, success=True,
    description="status approved (the default) asks for approval: the merchant is pending until a second admin "
    "confirms the request on /admin/verzoeken (four eyes; its IBAN becomes a payee)",
)
@problems(api, {
    409: "conflict: the municipality already has a merchant of that name",
    422: "validation_error: e.g. an IBAN with wrong check digits or of an unknown bank",
})
def merchants_add(body: dict[str, Any], code: str) -> dict[str, Any] | Response:
    """Add a merchant; its IBAN is checked (check digits, known Dutch bank) and the BIC derived.

    A merchant to be approved waits for a second admin: the answer is 202 with the request.
    """
    actor = current_actor()
    try:
        with _db().transaction() as session:
            merchant, request = add_merchant_for_approval(session, actor, code, **body)
            if request is None:
                return _as_dict(merchant)
            answer = {"id": request.id, "kind": request.kind, "status": request.status,
                      "requested_by": actor.email, "merchant": _as_dict(merchant)}
        response = jsonify(MerchantRequestSchema().dump(answer))
        response.status_code = 202
        return response
    except InvalidIBAN as exc:
        raise ValidationFailed(exc.message, refusal=exc.refusal, errors={exc.field: [exc.message]}) from None
