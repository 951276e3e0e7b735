"""The JSON API under ``/api/v1``: flask-smorest, marshmallow, problem+json.

Schemas validate every input and generate the OpenAPI document served at
``/api/v1/openapi.json``. Errors of every kind leave through
``pasdienst.web.errors`` so they all share the RFC 9457 shape and the stable
``code`` values of CONTRACT.md.
"""
from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any, TypeVar

import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from flask import Flask
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response

F = TypeVar("F", bound=Callable[..., Any])

PROBLEM_JSON = "application/problem+json"

#: What every view behind ``@requires`` may answer besides its own errors.
ACCESS_PROBLEMS = {
    401: "unauthenticated: no credentials, or an unknown or revoked token",
    403: "forbidden: this role or municipality may not use it",
}


class ProblemSchema(ma.Schema):
    """An error (RFC 9457 problem details)."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True, metadata={"description": "Stable machine-readable code (CONTRACT.md)"})
    detail = ma.fields.String()
    errors = ma.fields.Dict(metadata={"description": "Per-field messages for validation_error"})
    reason = ma.fields.String(
        metadata={"description": "pass_blocked: `blocked` (lost or stolen, not replaced yet) or `replaced` (reissued: "
                  "the family has a new pass with a new QR code and code)"}
    )
    limit = ma.fields.String(
        metadata={"description": "rate_limited by wrong typed codes: `login` (this till's login or API token), "
                  "`merchant` (all tills of the merchant together) or `address`; QR codes still work"}
    )
    retry_after = ma.fields.Integer(metadata={"description": "rate_limited: seconds until it may be tried again (as Retry-After)"})


class _Converter(OpenAPIConverter):
    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        """Add a schema's ``Meta.openapi`` keywords: rules between fields that
        a ``@validates_schema`` checks (``oneOf``…) belong in the document too."""
        jsonschema = super().schema2jsonschema(schema)
        jsonschema.update(getattr(getattr(schema, "Meta", None), "openapi", {}))
        return jsonschema


class _MarshmallowPlugin(MarshmallowPlugin):
    Converter = _Converter


class PasdienstApi(Api):
    ERROR_SCHEMA = ProblemSchema
    # No catch-all "default" response: each operation lists the errors it
    # answers (``problems``), so a client and a fuzzer can hold it to them.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        # pasdienst.web.errors maps every error in one place.
        pass

    def _register_responses(self) -> None:
        """The shared responses (``UNPROCESSABLE_ENTITY`` for ``@blp.arguments``), as problem+json."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON if status >= 400 else self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)


_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds until the limit's window opens again",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def problems(blp: Blueprint, errors: dict[int, str], *, access: bool = True) -> Callable[[F], F]:
    """Document the problem+json errors a view answers: ``{status: "the codes and when"}``.

    ``access`` adds the 401 and 403 of ``@requires``. Put it under the
    ``@blp.response`` of the view::

        @problems(api, {409: "pass_blocked or pass_expired", 422: "validation_error or invalid_code"})
    """
    documented = {**(ACCESS_PROBLEMS if access else {}), **errors}

    def decorate(view: F) -> F:
        for status, description in sorted(documented.items(), reverse=True):
            view = blp.alt_response(
                status, schema=ProblemSchema, content_type=PROBLEM_JSON, description=description,
                headers=_RETRY_AFTER if status == 429 else None,
            )(view)
        return view

    return decorate


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
    return PasdienstApi(app, spec_kwargs={"marshmallow_plugin": _MarshmallowPlugin()})
