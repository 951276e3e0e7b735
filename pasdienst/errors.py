"""The base of every domain error.

Each error carries a stable ``code`` (the strings of CONTRACT.md) so that the
web layer can map it to an HTTP status in one place and the CLI can print it
as a one-line reason. Services raise these; they never build responses.

Beside it, ``refusal`` names the one refusal (``pass_block_reason_missing``;
by default the ``code`` itself) and ``details`` its parameters: the pages say
it in Dutch from those (``web/dutch.py`` and the ``nl`` catalogue), while the
English ``message`` is for the command line and the API's ``detail``. Nothing
decides by matching a message's text.
"""
from __future__ import annotations


class PasdienstError(Exception):
    code = "error"
    status = 400
    #: Details the API adds to its problem document as extension members
    #: (RFC 9457), beside ``code``: facts a till acts on, never anything secret.
    public: tuple[str, ...] = ()

    #: Which refusal this is: a code of the ``nl`` catalogue, with ``details`` as its parameters.
    #: A class may name its own (else it is ``code``), a raise a more precise one.
    refusal = ""

    def __init__(self, message: str, *, refusal: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.refusal = refusal or type(self).refusal or self.code


class ValidationFailed(PasdienstError):
    code = "validation_error"
    status = 422


class NotFound(PasdienstError):
    code = "not_found"
    status = 404


class Conflict(PasdienstError):
    code = "conflict"
    status = 409
