"""Malformed input is refused before any view runs.

Some input is wrong whatever the field, and letting it through breaks things
far from the form it came in by:

* a NUL character: PostgreSQL text cannot hold one, so a search, a login or a
  sign-up with one would fail in the database (SQLite would store it);
* JSON nested deeper than ``MAX_JSON_DEPTH``: Python's parser recurses;
* a JSON number of more than ``MAX_JSON_DIGITS`` digits: Python refuses to
  convert one of thousands of digits with a ``ValueError`` that no JSON
  parser reports as malformed JSON, and no amount or id is that long.

One check of the query, the form (values, names, file names) and a JSON body
answers the stable ``validation_error`` (422, problem+json) on the API and a
plain Dutch page (400) elsewhere. It runs after the rate limiter and the CSRF
check. The JSON body is scanned as bytes, without parsing it: on the tills'
small bodies that costs a few hundred nanoseconds.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator

from flask import Flask, Response, render_template, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import MultiDict

from . import dutch
from .errors import problem, wants_problem_json

MAX_JSON_DEPTH = 32
MAX_JSON_DIGITS = 100

#: A JSON string, an opening or closing bracket, or a run of too many digits outside strings.
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]|[0-9]{%d,}' % (MAX_JSON_DIGITS + 1))
_LONG_DIGITS = re.compile(rb"[0-9]{%d}" % (MAX_JSON_DIGITS + 1))
#: ``\u0000`` that is an escape of its own (not the text ``\\u0000``).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")



class Malformed(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def json_problem(data: bytes) -> tuple[str, str] | None:
    """(field, message) for a JSON body that no view should get, else None.

    ``field`` names the place as well as bytes allow: ``json`` for the body,
    or the member whose text holds a NUL.
    """
    # Three cheap looks first: a till's body has no reason to be scanned further.
    suspicious_depth = data.count(b"[") + data.count(b"{") > MAX_JSON_DEPTH
    nul = b"\\u0000" in data and _NUL_ESCAPE.search(data) is not None
    long_number = len(data) > MAX_JSON_DIGITS and _LONG_DIGITS.search(data) is not None
    if not (suspicious_depth or nul or long_number):
        return None
    depth = 0
    for match in _JSON_TOKENS.finditer(data):
        token = match.group()
        first = token[:1]
        if first == b'"':
            continue
        if first in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return "json", f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
        elif first in (b"]", b"}"):
            depth -= 1
        else:
            return "json", f"a number of more than {MAX_JSON_DIGITS} digits"
    if nul:
        return _nul_member(data), "text cannot contain a NUL character"
    return None


def _nul_member(data: bytes) -> str:
    """The dotted path of the first text with a NUL (the body is small and sane by now)."""
    try:
        document = json.loads(data)
    except ValueError:
        return "json"  # not JSON at all: the parser of the view says so
    for path, text in _texts(document, ()):
        if "\x00" in text:
            return ".".join(path) or "json"
    return "json"


def _texts(value: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path, key
            yield from _texts(item, (*path, str(key)))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _texts(item, (*path, str(number)))


def check_request() -> None:
    """Raise ``Malformed`` for input that is wrong in any field."""
    req = request._get_current_object()  # type: ignore[attr-defined] # one proxy look-up, not one per field
    # (An API path names a municipality that the access check compares with
    # the caller's own before anything reads the database.)
    path = req.path
    if "\x00" in path and not path.startswith("/api/"):
        raise Malformed("path", "the address cannot contain a NUL character")
    if req.query_string:
        _check_fields(req.args)
    mimetype = req.mimetype
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _check_fields(req.form)
        for name, upload in req.files.items(multi=True):
            if "\x00" in name or "\x00" in (upload.filename or ""):
                raise Malformed(name.replace("\x00", ""), "a file name cannot contain a NUL character")
    elif mimetype == "application/json" or mimetype.endswith("+json"):
        found = json_problem(req.get_data(cache=True))
        if found is not None:
            raise Malformed(*found)


def _check_fields(fields: MultiDict[str, str]) -> None:
    for name, value in fields.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise Malformed(name.replace("\x00", ""), "text cannot contain a NUL character")


class _JSONProvider(DefaultJSONProvider):
    """``request.get_json`` that reports JSON too deep for Python's parser as
    malformed (a ``ValueError``, which ``silent=True`` turns into None) rather
    than raising ``RecursionError``: hooks that run before the guard (the
    rate limiter's filter of the till reads the body) must not crash on it."""

    def loads(self, s: str | bytes, **kwargs: object) -> object:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def init_app(app: Flask) -> None:
    """Register the check; call it after the rate limiter and CSRF are set up."""
    app.json = _JSONProvider(app)

    @app.before_request
    def _guard() -> Response | tuple[str, int] | None:
        try:
            check_request()
        except Malformed as exc:
            if wants_problem_json():
                return problem(422, "validation_error", "the request is not valid: see errors", errors={exc.field: [exc.message]})
            return render_template("error.html", status=400, title=dutch.told(dutch.notice("input_invalid_title")),
                                   detail=dutch.told(dutch.notice("input_invalid"))), 400
        return None
