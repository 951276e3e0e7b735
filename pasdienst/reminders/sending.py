"""A reminder run: the ``reminders`` job kind's work (``jobs/kinds.py`` calls :func:`send_moment`).

1. Who: the households on the list of ``reports.nonusers`` for the moment's
   year and amount, with spending counted up to the run's day; one e-mail per
   address (the household's; two households that share an address get one
   message naming all their children). Skipped and counted: households
   without an address, addresses that opted out, and addresses this moment
   already wrote to (a run started again sends only what is left).
2. In chunks of ``CHUNK`` addresses: one transaction claims them (a
   ``reminder_send`` row each, ``sending``, with the children it names in
   ``reminder_child``), then the messages go out over one SMTP connection,
   then one transaction records each outcome (``sent``, ``failed`` with the
   server's reply code) with the job's summary and progress.
3. A worker that dies between claim and outcome leaves ``sending`` rows; the
   next run of the moment marks them ``unknown`` and does not send them again:
   a family gets a reminder at most once per moment.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from .. import faults
from ..clock import now as clock_now
from ..errors import NotFound
from ..jobs.context import JobContext
from ..municipalities.models import Municipality
from ..reports.nonusers import ChildRow, Criteria, all_non_users
from ..wallet import tokens
from ..wallet.models import ChildPass
from .mail import MailUnavailable, Outbox, PassLink, Refused, reminder_message
from .models import FAILED, SENDING, SENT, UNKNOWN, ReminderChild, ReminderMoment, ReminderSend
from .optout import all_opted_out, email_hash, opt_out_url

#: Addresses claimed, written and recorded together.
CHUNK = 200
#: The progress bar's step (``jobs.labels.JOB_STEP_TITLES``).
STEP_MAIL = "mail"


@dataclass
class Recipient:
    email: str
    children: list[ChildRow] = field(default_factory=list)


def _by_address(households: list[Any]) -> tuple[list[Recipient], int]:
    """One recipient per address, in the list's order; and how many households had no address."""
    found: dict[str, Recipient] = {}
    no_address = 0
    for household in households:
        if household.email is None:
            no_address += 1
            continue
        recipient = found.setdefault(household.email, Recipient(household.email))
        known = {c.child_id for c in recipient.children}
        recipient.children.extend(c for c in household.children if c.child_id not in known)
    return list(found.values()), no_address


def _chunks(items: list[Recipient], size: int) -> Iterator[list[Recipient]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def send_moment(ctx: JobContext) -> None:
    """Write the reminders of moment ``ctx.params["moment_id"]``; the outcome goes in the job's summary."""
    moment_id = int(ctx.params["moment_id"])
    settings = ctx.settings
    with ctx.db.transaction() as session:
        moment = session.get(ReminderMoment, moment_id)
        if moment is None:
            raise NotFound(f"no reminder moment {moment_id}")
        municipality = session.get(Municipality, moment.municipality_id)
        assert municipality is not None
        # What an earlier run of this moment claimed but never recorded: not sent again.
        session.execute(
            update(ReminderSend).where(ReminderSend.moment_id == moment_id, ReminderSend.outcome == SENDING)
            .values(outcome=UNKNOWN)
        )
        criteria = Criteria(moment.year, ctx.today, moment.under_cents)
        year = moment.year
    with ctx.db.read() as session:
        households = all_non_users(session, municipality.id, criteria, settings=settings)
        stopped = all_opted_out(session, municipality.id)
        done_before = set(session.scalars(select(ReminderSend.email).where(ReminderSend.moment_id == moment_id)))
        # The moment's totals so far (an earlier run's): the summary counts the whole moment.
        before = dict(session.execute(
            select(ReminderSend.outcome, func.count()).where(ReminderSend.moment_id == moment_id).group_by(ReminderSend.outcome)
        ).all())
        named_before = session.scalar(
            select(func.count()).select_from(ReminderChild).join(ReminderSend, ReminderSend.id == ReminderChild.send_id)
            .where(ReminderSend.moment_id == moment_id)
        ) or 0
    recipients, no_address = _by_address(households)
    opted_out = [r for r in recipients if email_hash(settings, r.email) in stopped]
    stopped_addresses = {r.email for r in opted_out}
    todo = [r for r in recipients if r.email not in stopped_addresses and r.email not in done_before]
    summary = {
        "year": year, "moment_id": moment_id, "households": len(households), "addresses": len(recipients),
        "no_email": no_address, "opted_out": len(opted_out), "already": len(done_before),
        "to_send": len(todo), "sent": int(before.get(SENT, 0)), "failed": int(before.get(FAILED, 0)),
        "unknown": int(before.get(UNKNOWN, 0)), "children": int(named_before),
    }
    ctx.summary.update(summary)
    ctx.progress(0, len(todo), STEP_MAIL)
    if not todo:
        return
    with Outbox(settings) as outbox:
        done = 0
        for chunk in _chunks(todo, CHUNK):
            send_ids = _claim(ctx, municipality.id, moment_id, chunk)
            outcomes: dict[int, tuple[str, str | None]] = {}
            handles = _handles(ctx, [c.pass_id for r in chunk for c in r.children])
            try:
                for recipient, send_id in zip(chunk, send_ids, strict=True):
                    message = reminder_message(
                        settings=settings, to=recipient.email, municipality_name=municipality.name,
                        passes=[PassLink(c.first_name, tokens.payload_for(settings, handles[c.pass_id]), c.valid_until)
                                for c in recipient.children],
                        unsubscribe_url=opt_out_url(settings, municipality.id, recipient.email),
                    )
                    try:
                        outbox.send(message)
                    except Refused as exc:
                        outcomes[send_id] = (FAILED, exc.reason)
                    else:
                        outcomes[send_id] = (SENT, None)
                    faults.checkpoint("reminders.after_first_send")
            except MailUnavailable:
                # Record what did go out; the rest of the chunk was never tried: unclaim it.
                _record(ctx, outcomes, unclaim=[i for i in send_ids if i not in outcomes])
                raise
            _record(ctx, outcomes, children=sum(len(r.children) for r in chunk))
            done += len(chunk)
            ctx.progress(done, len(todo), STEP_MAIL)


def _claim(ctx: JobContext, municipality_id: int, moment_id: int, chunk: list[Recipient]) -> list[int]:
    with ctx.db.transaction() as session:
        rows = [
            ReminderSend(municipality_id=municipality_id, moment_id=moment_id, job_id=ctx.job_id, email=r.email,
                         children=len(r.children), outcome=SENDING, at=clock_now(ctx.settings.today))
            for r in chunk
        ]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
        session.execute(
            insert(ReminderChild),
            [{"send_id": send_id, "child_id": c.child_id} for send_id, r in zip(ids, chunk, strict=True) for c in r.children],
        )
        return ids


def _handles(ctx: JobContext, pass_ids: list[int]) -> dict[int, str]:
    with ctx.db.read() as session:
        return dict(session.execute(select(ChildPass.id, ChildPass.handle).where(ChildPass.id.in_(pass_ids))).all())


def _record(ctx: JobContext, outcomes: dict[int, tuple[str, str | None]], *, children: int | None = None,
            unclaim: list[int] | None = None) -> None:
    """The outcomes of a chunk, and the summary, in one transaction; ``unclaim``: rows never tried, removed."""
    sent = [i for i, (outcome, _) in outcomes.items() if outcome == SENT]
    failed = {i: reason for i, (outcome, reason) in outcomes.items() if outcome == FAILED}
    now = clock_now(ctx.settings.today)  # PASDIENST_TODAY moves it, as it moves receipts
    with ctx.db.transaction() as session:
        if sent:
            session.execute(update(ReminderSend).where(ReminderSend.id.in_(sent)).values(outcome=SENT, at=now))
        for send_id, reason in failed.items():
            session.execute(update(ReminderSend).where(ReminderSend.id == send_id).values(outcome=FAILED, error=reason, at=now))
        if unclaim:
            session.execute(delete(ReminderChild).where(ReminderChild.send_id.in_(unclaim)))
            session.execute(delete(ReminderSend).where(ReminderSend.id.in_(unclaim)))
        if children is None:  # a chunk cut short: count the children of the messages that were tried
            children = int(session.scalar(
                select(func.count()).select_from(ReminderChild).where(ReminderChild.send_id.in_(list(outcomes)))
            ) or 0) if outcomes else 0
        ctx.save_summary(
            session, sent=ctx.summary["sent"] + len(sent), failed=ctx.summary["failed"] + len(failed),
            children=ctx.summary["children"] + children,
        )
