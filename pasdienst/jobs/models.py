"""The ``job`` table: one row per background job a staff member started."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from ..clock import now_utc
from ..db import Base

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
STATES: tuple[str, ...] = (QUEUED, RUNNING, DONE, FAILED)
FINISHED: tuple[str, ...] = (DONE, FAILED)


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="known_state"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_job_municipality_id_created_at", "municipality_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    #: A key of :data:`pasdienst.jobs.kinds.KINDS`.
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("access_user.id"))
    requested_by_email: Mapped[str] = mapped_column(String(254))
    #: How often a worker has started it (a crash makes the reaper start it again).
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: What the job did, for the job page (counts and amounts, no personal data).
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: A failed job's error code (a ``PasdienstError.code``) and its English detail.
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_detail: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_mime: Mapped[str | None] = mapped_column(String(100))
    #: The job's download (a PDF or CSV), in the database so that every web host can serve it.
    file_data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))

    @property
    def finished(self) -> bool:
        return self.state in FINISHED
