"""How a page writes: one unit of work in one transaction, repeated after a deadlock.

``write`` runs a unit of work in a write transaction of the app's database
(``Database.run``): when PostgreSQL picks it as a deadlock's victim, or a
serializable transaction fails to serialize, the whole unit runs again on a
fresh session. That is only safe because the unit is *all* the work: it may
read the request and the database and write through its session, but it
must not send mail, queue a job or touch a file. Those come after ``write``
returns, once the transaction committed. A refusal (``PasdienstError``) is
never repeated: it is the answer.

``change`` is the back office's form post built on it (POST-redirect-GET):
run the unit, flash what it did (a ``dutch.Notice``, said from the catalogue)
or, for a refused input, why not in Dutch (``dutch.refusal``), and redirect.
"Not found" and "not allowed" (401, 403, 404) stay errors of their own, so
another municipality's records are not even confirmed to exist.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, flash, redirect
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ..errors import PasdienstError
from . import dutch
from .dutch import Notice
from .extensions import get_db

T = TypeVar("T")

#: Refusals that are errors of their own rather than a message on the form's page.
_NOT_YOURS = (401, 403, 404)


def write(work: Callable[[Session], T]) -> T:
    """Run ``work`` in one write transaction of this app's database, again after a deadlock
    or serialization failure; return what it returned once committed."""
    return get_db(current_app).run(work)


def change(
    work: Callable[[Session], T],
    *,
    success: Notice | Callable[[T], Notice],
    target: str | Callable[[T], str],
    back: str | None = None,
    code: int = 302,
    said: tuple[type[PasdienstError], ...] = (),
) -> Response:
    """Run ``work`` (``write``), flash ``success`` and redirect to ``target``; a refusal is
    flashed in Dutch and redirects to ``back`` (by default ``target``).

    ``said``: refusals the page says although their status is one of "not allowed" (the four-eyes
    rule: the page already shows the batch, and a colleague has to act instead).

    ``success`` and ``target`` may be worked out from ``work``'s result; they run inside the
    transaction, where the rows it returns can still load what they refer to.
    """
    if back is None:
        if callable(target):
            raise TypeError("a target worked out from the result needs a 'back' for a refusal")
        back = target

    def unit(session: Session) -> tuple[str, str]:
        result = work(session)
        said = success(result) if callable(success) else success
        return dutch.told(said), (target(result) if callable(target) else target)

    try:
        message, where = write(unit)
    except PasdienstError as exc:
        return refused(exc, back, said=said)
    flash(message, "success")
    return redirect(where, code=code)


def tell(message: Notice, category: str = "success") -> None:
    """Flash ``message`` in Dutch (``category``: ``success``, or ``error`` for a form the view itself sends back)."""
    flash(dutch.told(message), category)


def refused(exc: PasdienstError, back: str, *, said: tuple[type[PasdienstError], ...] = ()) -> Response:
    """The answer ``change`` gives to a refusal, for a post that cannot use it as a whole
    (it answers with a page, or queues a job after the commit)."""
    if exc.status in _NOT_YOURS and not isinstance(exc, said):
        raise exc
    flash(dutch.refusal(exc), "error")
    return redirect(back)
