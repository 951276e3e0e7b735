"""The one place where a refusal becomes Dutch: its code looked up in the ``nl`` catalogue.

Services say no with an error that carries a stable code (``exc.refusal``,
e.g. ``pass_block_reason_missing``; by default the error's API code such as
``pass_blocked``) and its parameters (``exc.details``), beside an English
``message`` for the command line and the API's ``detail``. They never write
Dutch, and nothing decides by matching their text. The pages and the error
pages turn the code into a Dutch sentence here: :func:`refusal` reads
``pasdienst/translations/nl/LC_MESSAGES/messages.po``, whose ``msgid`` is the
code and whose ``msgstr`` names its parameters (``%(pass)s``); amounts
(``*_cents``), dates, states and categories among them are written the Dutch
way (``labels.py``) first. The import's row problems and the scheme file's
problems (codes of their own) are said here too.

What a page tells after a form post went well is said the same way: a view
names a :class:`Notice`, a key and its parameters (``notice("budget_raised",
added_cents=cents)``), and :func:`told` looks up ``notice.<key>`` in the same
catalogue and writes its parameters the Dutch way. No view holds a Dutch
sentence of its own (``tests/test_dutch.py`` reads the views for it).

The catalogue is read with Babel and the locale ``nl`` named explicitly
(``catalogue.py``, which also compiles it), so a job, a test, a service or a
page reads the same sentences (Flask-Babel's ``gettext`` would silently
answer the code itself outside a request). Flask-Babel serves the pages' side
(``nl``, Europe/Amsterdam, ``_()`` in templates) from the same compiled
catalogue.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import Flask
from flask_babel import Babel

from .. import labels
from ..catalogue import LOCALE, sentence
# Where the catalogue is and how it is compiled live in ``catalogue.py``, below the services that read it too.
from ..catalogue import TRANSLATIONS as TRANSLATIONS
from ..catalogue import catalogue as catalogue
from ..catalogue import compile_catalogue as compile_catalogue
from ..catalogue import compiled as compiled
from ..errors import PasdienstError
from ..wallet.children import RowProblem
from ..wallet.schemes import SchemeProblem

def init_app(app: Flask) -> None:
    """Flask-Babel for the pages: Dutch as the only locale, Amsterdam's time, the compiled catalogue."""
    Babel(app, default_locale=LOCALE, default_timezone=labels.TIMEZONE,
          default_translation_directories=str(compiled()))
    app.jinja_env.filters["refusal"] = refusal
    app.jinja_env.globals["till_messages"] = till_messages


def _dutch_value(name: str, value: object) -> object:
    if isinstance(value, RowProblem):
        return row_problem(value)
    if name == "reasons" and isinstance(value, list | tuple):
        # Several sub-refusals, each a (code, parameters) pair: said one after the other.
        return "; ".join(_sentence(code, params) for code, params in value)
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if name.endswith("_cents") and isinstance(value, int):
        return labels.euros(value)
    if name == "count" and isinstance(value, int):
        return labels.number(value)
    if isinstance(value, datetime):
        return labels.moment(value)
    if isinstance(value, date):
        return labels.day(value)
    if name == "status" and isinstance(value, str):
        return labels.status_title(value)
    if name == "category" and isinstance(value, str):
        return labels.category_title(value)
    if name == "role" and isinstance(value, str):
        return labels.ROLE_TITLES.get(value, value)
    if name == "field" and isinstance(value, str):
        return labels.field_title(value)
    if isinstance(value, list | tuple):
        return ", ".join(str(_dutch_value(name, item)) for item in value)
    return value


def say(code: str, params: Mapping[str, object] | None = None) -> str | None:
    """The catalogue's sentence for ``code`` with ``params`` filled in Dutch; None when it has none."""
    try:
        return _sentence(code, params or {})
    except LookupError:
        return None


def refusal(exc: PasdienstError) -> str:
    """What a page says for ``exc``: the catalogue's sentence for its refusal code, else the one for its
    kind of error (``not_found``, ``validation_error``, …). Never its English message."""
    for code in (exc.refusal, exc.code, PasdienstError.code):
        found = say(code, exc.details)
        if found is not None:
            return found
    raise LookupError(f"the nl catalogue has no sentence for {PasdienstError.code!r}")


@dataclass(frozen=True)
class Notice:
    """What a page tells after a form post: the key of its sentence (``notice.<key>`` in the catalogue)
    and the parameters to fill in, each written the Dutch way as a refusal's are."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict)


def notice(key: str, **params: object) -> Notice:
    """``notice("budget_raised", added_cents=500)``: the catalogue's ``notice.budget_raised`` with its parameters."""
    return Notice(key, params)


def told(message: Notice) -> str:
    """The Dutch sentence of ``message``; a key the catalogue lacks is a bug (``tests/test_dutch.py``), not a 500
    the person caused, so it raises ``LookupError`` like an unknown refusal."""
    return _sentence(f"notice.{message.key}", message.params)


#: The refusals the till (``/merchant``) says by the API's problem code; ``pass_replaced`` for a
#: ``pass_blocked`` whose ``reason`` is ``replaced``. The page gets their sentences in its HTML.
TILL_CODES = (
    "invalid_code", "pass_blocked", "pass_replaced", "pass_expired", "not_accepted_here", "insufficient_balance",
    "rate_limited", "storage_full", "void_window_closed", "idempotency_key_reused", "validation_error", "forbidden",
    "not_found",
)


def till_messages() -> dict[str, str]:
    """The till's refusals in Dutch by code, from the catalogue (the page has no parameters to fill in)."""
    return {code: _sentence(code, {}) for code in TILL_CODES}


def job_failure(code: str | None) -> str:
    """Why a background job failed, from its stored error code: ``job.<code>`` (what it means for the job,
    e.g. that nothing was issued), else the refusal's own sentence, else "something unexpected"."""
    for key in (f"job.{code}", code or ""):
        found = say(key)
        if found is not None:
            return found
    return say("job.internal_error") or "Dit kan niet."


def row_problem(problem: RowProblem) -> str:
    """Why a row of the children CSV was rejected, in Dutch (``row.<code>``)."""
    params = dict(problem.params)
    if "column" in params:
        params["column"] = labels.CHILD_COLUMN_TITLES.get(str(params["column"]), params["column"])
    return _sentence(f"row.{problem.code}", params)


def scheme_problem(problem: SchemeProblem) -> str:
    """A problem of a scheme file, in Dutch (``scheme.<code>``): its key path as the file writes it, then what is wrong.

    Values are shown as the file has them (a date as ``2027-01-01``), numbers with a decimal comma.
    """
    params = {name: labels.decimal(value) if isinstance(value, float) else value for name, value in problem.params.items()}
    message = _sentence(f"scheme.{problem.code}", params, as_written=True)
    return f"{problem.path}: {message}" if problem.path != "file" else message[:1].upper() + message[1:]


def _sentence(code: str, params: Mapping[str, object], *, as_written: bool = False) -> str:
    values = params if as_written else {name: _dutch_value(name, value) for name, value in params.items()}
    return sentence(code, values)
