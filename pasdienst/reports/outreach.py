"""Reach over time, per district and after reminders: the usage report's extra tables (issue 15).

* **by week**: the scheme's weeks (Monday to Sunday, Amsterdam time; the
  first and last week cut at ``valid_from`` and ``valid_until``), each with
  its redemptions, money spent, distinct children who paid that week, the
  children who paid for the first time that week (``new_children``) and the
  children reached so far (``reached_children``: a running total of those),
  so the school-start and December peaks show.
* **by district**: the postcode area, the four digits of the child's postcode
  from the import (``unknown`` for children without one, last): children
  with a pass, of them children who used it, redemptions and money.
* **reminders**: per reminder moment of the year with e-mails sent, the
  households (messages) and children reached by it, and of those how many
  used a pass afterwards: a redemption that counts, on a pass of the year of
  a child the e-mail named, from the moment that e-mail was sent until
  ``REMINDER_WEEKS`` weeks after the moment's first e-mail. ``window_closed``
  says whether those weeks are over (until then the figure can still grow).

Every redemption here counts as in the rest of the report (``usage.counted``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, case, distinct, exists, func, select
from sqlalchemy.orm import Session

from ..clock import AMSTERDAM
from ..redeem.models import Redemption
from ..reminders.models import SENT, ReminderChild, ReminderMoment, ReminderSend
from ..wallet.models import Child, ChildPass

#: How long after a reminder a payment counts as "used the pass afterwards".
REMINDER_WEEKS = 4
UNKNOWN_DISTRICT = "unknown"


@dataclass(frozen=True)
class WeekRow:
    week: str  # ISO week of its first day, "2027-W36"
    starts: date
    redemptions: int
    spent_cents: int
    children_with_redemption: int
    new_children: int
    reached_children: int


@dataclass(frozen=True)
class DistrictRow:
    district: str  # "9251", or "unknown"
    eligible_children: int
    children_with_redemption: int
    redemptions: int
    spent_cents: int


@dataclass(frozen=True)
class ReminderRow:
    moment_id: int
    title: str
    send_on: date
    #: When its first e-mail went out (UTC).
    sent_at: datetime
    households: int
    children: int
    households_used: int
    children_used: int
    window_weeks: int
    window_closed: bool


def week_starts(first: date, last: date) -> list[date]:
    """``first``, every Monday after it up to ``last``, and the day after ``last``: the weeks' bounds."""
    days = [first]
    monday = first + timedelta(days=7 - first.weekday())
    while monday <= last:
        days.append(monday)
        monday += timedelta(days=7)
    days.append(last + timedelta(days=1))
    return days


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=AMSTERDAM).astimezone(timezone.utc)


def by_week(
    session: Session, municipality_id: int, year: int, first: date, last: date, counted: ColumnElement[bool],
    bucket: Callable[[Any, Sequence[datetime]], ColumnElement[int]],
) -> tuple[WeekRow, ...]:
    """The weeks of ``first``..``last``. ``bucket(column, bounds)`` is the usage report's balanced CASE."""
    starts = week_starts(first, last)
    bounds = [_midnight(d) for d in starts]
    of_year = (ChildPass.municipality_id == municipality_id) & (ChildPass.year == year)
    in_range = (Redemption.created_at >= bounds[0]) & (Redemption.created_at < bounds[-1])
    paid = (
        select(
            bucket(Redemption.created_at, bounds).label("week"),
            ChildPass.child_id.label("child_id"),
            Redemption.amount_cents.label("amount"),
        )
        .join(ChildPass, ChildPass.id == Redemption.pass_id)
        .where(of_year, counted, in_range)
        .subquery()
    )
    per_week = {
        int(week): (int(count), int(spent or 0), int(children))
        for week, count, spent, children in session.execute(
            select(paid.c.week, func.count(), func.sum(paid.c.amount), func.count(distinct(paid.c.child_id)))
            .group_by(paid.c.week)
        )
    }
    # A child's first payment of the year (within the scheme's weeks), then per week.
    firsts = (
        select(ChildPass.child_id.label("child_id"), func.min(Redemption.created_at).label("first_at"))
        .join(ChildPass, ChildPass.id == Redemption.pass_id)
        .where(of_year, counted, in_range)
        .group_by(ChildPass.child_id)
        .subquery()
    )
    first_week = select(bucket(firsts.c.first_at, bounds).label("week")).subquery()
    new = {
        int(week): int(count)
        for week, count in session.execute(select(first_week.c.week, func.count()).group_by(first_week.c.week))
    }
    rows, reached = [], 0
    for i, start in enumerate(starts[:-1]):
        reached += new.get(i, 0)
        iso = start.isocalendar()
        count, spent, children = per_week.get(i, (0, 0, 0))
        rows.append(WeekRow(f"{iso.year}-W{iso.week:02d}", start, count, spent, children, new.get(i, 0), reached))
    return tuple(rows)


def _district() -> ColumnElement[str]:
    return func.coalesce(func.substr(Child.postcode, 1, 4), UNKNOWN_DISTRICT)


def by_district(session: Session, municipality_id: int, year: int, counted: ColumnElement[bool]) -> tuple[DistrictRow, ...]:
    """Children with a pass for ``year`` and those who used it, and the redemptions, per postcode area."""
    of_year = (ChildPass.municipality_id == municipality_id) & (ChildPass.year == year)
    has_paid = exists(select(Redemption.id).where(Redemption.pass_id == ChildPass.id, counted))
    per_pass = select(ChildPass.child_id.label("child_id"), case((has_paid, 1), else_=0).label("used")).where(of_year).subquery()
    per_child = (
        select(per_pass.c.child_id, func.max(per_pass.c.used).label("used")).group_by(per_pass.c.child_id).subquery()
    )
    placed = select(_district().label("district"), per_child.c.used).join(Child, Child.id == per_child.c.child_id).subquery()
    children = {
        district: (int(eligible), int(used or 0))
        for district, eligible, used in session.execute(
            select(placed.c.district, func.count(), func.sum(placed.c.used)).group_by(placed.c.district)
        )
    }
    paid = (
        select(_district().label("district"), Redemption.amount_cents.label("amount"))
        .select_from(Redemption)
        .join(ChildPass, ChildPass.id == Redemption.pass_id)
        .join(Child, Child.id == ChildPass.child_id)
        .where(of_year, counted)
        .subquery()
    )
    money = {
        district: (int(count), int(spent or 0))
        for district, count, spent in session.execute(
            select(paid.c.district, func.count(), func.sum(paid.c.amount)).group_by(paid.c.district)
        )
    }
    order = sorted(children, key=lambda d: (d == UNKNOWN_DISTRICT, d))
    return tuple(DistrictRow(d, *children[d], *money.get(d, (0, 0))) for d in order)


def after_reminders(
    session: Session, municipality_id: int, year: int, counted: ColumnElement[bool], *, now: datetime,
    weeks: int = REMINDER_WEEKS,
) -> tuple[ReminderRow, ...]:
    """Per moment of ``year`` that sent e-mails: households and children reached, and who used a pass afterwards."""
    moments = session.execute(
        select(ReminderMoment.id, ReminderMoment.title, ReminderMoment.send_on, func.min(ReminderSend.at))
        .join(ReminderSend, ReminderSend.moment_id == ReminderMoment.id)
        .where(ReminderMoment.municipality_id == municipality_id, ReminderMoment.year == year, ReminderSend.outcome == SENT)
        .group_by(ReminderMoment.id, ReminderMoment.title, ReminderMoment.send_on)
        .order_by(ReminderMoment.send_on, ReminderMoment.id)
    ).all()
    rows = []
    for moment_id, title, send_on, first_at in moments:
        first_at = first_at if first_at.tzinfo else first_at.replace(tzinfo=timezone.utc)
        end = first_at + timedelta(weeks=weeks)
        used = exists(
            select(Redemption.id)
            .join(ChildPass, ChildPass.id == Redemption.pass_id)
            .where(
                ChildPass.child_id == ReminderChild.child_id, ChildPass.year == year, counted,
                Redemption.created_at >= ReminderSend.at, Redemption.created_at < end,
            )
        )
        per_child = (
            select(ReminderSend.id.label("send_id"), case((used, 1), else_=0).label("used"))
            .join(ReminderChild, ReminderChild.send_id == ReminderSend.id)
            .where(ReminderSend.moment_id == moment_id, ReminderSend.outcome == SENT)
            .subquery()
        )
        per_send = (
            select(per_child.c.send_id, func.count().label("children"), func.max(per_child.c.used).label("used"),
                   func.sum(per_child.c.used).label("children_used"))
            .group_by(per_child.c.send_id)
            .subquery()
        )
        households, children, households_used, children_used = session.execute(
            select(func.count(), func.sum(per_send.c.children), func.sum(per_send.c.used), func.sum(per_send.c.children_used))
        ).one()
        rows.append(ReminderRow(
            moment_id, title, send_on, first_at, int(households), int(children or 0), int(households_used or 0),
            int(children_used or 0), weeks, now >= end,
        ))
    return tuple(rows)


def reminders_figures(rows: Sequence[ReminderRow]) -> list[dict[str, Any]]:
    return [
        {
            "moment_id": r.moment_id, "title": r.title, "send_on": r.send_on.isoformat(),
            "sent_at": r.sent_at.isoformat(), "households": r.households, "children": r.children,
            "households_used": r.households_used, "children_used": r.children_used,
            "window_weeks": r.window_weeks, "window_closed": r.window_closed,
        }
        for r in rows
    ]
