"""What a job kind is given to work with."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from ..access.policy import Actor
from ..config import Settings
from ..db import Database
from .models import Job


@dataclass
class JobContext:
    """What a job kind gets: the database, settings, the job's parameters and a progress callback."""

    db: Database
    settings: Settings
    job_id: int
    municipality_code: str
    params: dict[str, Any]
    actor: Actor
    today: date
    #: What an earlier, interrupted attempt already recorded (see :meth:`save_summary`).
    summary: dict[str, Any]
    #: ``progress(done, total, step)``: how far the job is, for its progress bar.
    progress: Callable[[int, int, str], None]
    file: tuple[str, str, bytes] | None = field(default=None)

    def save_summary(self, session: Session, **values: Any) -> None:
        """Record part of the outcome in the caller's transaction, so that it
        commits with the work it describes and a retry finds it."""
        self.summary.update(values)
        session.execute(update(Job).where(Job.id == self.job_id).values(summary=dict(self.summary)))

    def attach(self, name: str, mime: str, data: bytes) -> None:
        self.file = (name, mime, data)


JobKind = Callable[[JobContext], None]
