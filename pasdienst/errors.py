"""The base of every domain error.

Each error carries a stable ``code`` (the strings of CONTRACT.md) so that the
web layer can map it to an HTTP status in one place and the CLI can print it
as a one-line reason. Services raise these; they never build responses.
"""
from __future__ import annotations


class PasdienstError(Exception):
    code = "error"
    status = 400
    #: Details the API adds to its problem document as extension members
    #: (RFC 9457), beside ``code``: facts a till acts on, never anything secret.
    public: tuple[str, ...] = ()

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationFailed(PasdienstError):
    code = "validation_error"
    status = 422


class NotFound(PasdienstError):
    code = "not_found"
    status = 404


class Conflict(PasdienstError):
    code = "conflict"
    status = 409
