from __future__ import annotations

import marshmallow as ma

from ..web.validators import MAX_BIG_ID


class MeSchema(ma.Schema):
    email = ma.fields.String(required=True)
    role = ma.fields.String(required=True, metadata={"description": "admin, finance, caseworker, merchant or fund"})
    municipality = ma.fields.String(allow_none=True, metadata={"description": "municipality code"})
    merchant_id = ma.fields.Integer(allow_none=True)
    merchant_name = ma.fields.String(allow_none=True)
    must_change_password = ma.fields.Boolean()
    csrf_token = ma.fields.String(
        allow_none=True,
        metadata={"description": "For session callers: send it as X-CSRFToken on POST. None with a Bearer token."},
    )


class AuditQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=500))
    before_id = ma.fields.Integer(
        load_default=None, allow_none=True, validate=ma.validate.Range(min=1, max=MAX_BIG_ID),
        metadata={"description": "page backwards"},
    )


class AuditEventSchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.DateTime()
    actor_email = ma.fields.String()
    action = ma.fields.String()
    entity_type = ma.fields.String()
    entity_id = ma.fields.String(allow_none=True)
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)
