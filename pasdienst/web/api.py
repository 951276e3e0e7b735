"""The JSON API under ``/api/v1``: flask-smorest, marshmallow, problem+json.

Schemas validate every input and generate the OpenAPI document served at
``/api/v1/openapi.json``. Errors of every kind leave through
``pasdienst.web.errors`` so they all share the RFC 9457 shape and the stable
``code`` values of CONTRACT.md.
"""
from __future__ import annotations

import marshmallow as ma
from flask import Flask
from flask_smorest import Api


class ProblemSchema(ma.Schema):
    """An error (RFC 9457 problem details)."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True, metadata={"description": "Stable machine-readable code (CONTRACT.md)"})
    detail = ma.fields.String()
    errors = ma.fields.Dict(metadata={"description": "Per-field messages for validation_error"})


class PasdienstApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        # pasdienst.web.errors maps every error in one place.
        pass


def init_api(app: Flask) -> PasdienstApi:
    app.config.update(
        API_TITLE="pasdienst",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "Kindpakket passes, redemptions and usage. Amounts are integer cents."},
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "session": {"type": "apiKey", "in": "cookie", "name": "pasdienst_session"},
                }
            },
            "security": [{"bearer": []}, {"session": []}],
        },
    )
    return PasdienstApi(app)
