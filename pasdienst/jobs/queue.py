"""The huey queue behind the jobs, and the progress/heartbeat store beside it.

``PASDIENST_QUEUE_URL`` picks the backend: ``sqlite:///path`` (the embedded
default, ``instance/queue.db``: one host, no server) or ``redis://…``
(production: workers and web servers on several hosts share it). The queue
carries only job ids; everything that matters is in the ``job`` row.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from huey import Huey, RedisHuey, SqliteHuey

from ..config import ConfigError, Settings

QUEUE_NAME = "pasdienst"
RUN_TASK = "pasdienst.jobs.run"


def queue_url(settings: Settings) -> str:
    return settings.queue_url or f"sqlite:///{(settings.instance_path / 'queue.db').resolve()}"


def make_huey(settings: Settings) -> Huey:
    url = queue_url(settings)
    # ``?queue=NAME`` lets several installations (or test runs) share one Redis.
    base, _, query = url.partition("?")
    options = dict(parse_qsl(query))
    name = options.pop("queue", QUEUE_NAME)
    url = f"{base}?{urlencode(options)}" if options else base
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), results=False)
    raise ConfigError(f"PASDIENST_QUEUE_URL must be sqlite:///PATH or redis://HOST:PORT/DB, not {url!r}")


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    #: Unix time of the worker's last sign of life for this job.
    beat: float
    #: Which step of the job the count belongs to (a key of ``labels.JOB_STEP_TITLES``).
    step: str = ""

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


class JobQueue:
    """Enqueue job ids, and keep each running job's progress and heartbeat.

    ``runner`` is what a worker calls with a job id; the web side builds the
    queue with the same task name but never runs it.
    """

    def __init__(self, settings: Settings, runner: Callable[[int], None] | None = None) -> None:
        self.huey = make_huey(settings)
        self._runner = runner
        self._task = self.huey.task(name=RUN_TASK)(self._run)

    def _run(self, job_id: int) -> None:
        if self._runner is None:
            raise RuntimeError("this queue only enqueues; `pasdienst worker` runs the jobs")
        self._runner(job_id)

    def enqueue(self, job_id: int) -> None:
        self._task(job_id)
        self.huey.put(f"job-enqueued:{job_id}", time.time())

    def was_enqueued(self, job_id: int) -> bool:
        return self.huey.get(f"job-enqueued:{job_id}", peek=True) is not None

    def report(self, job_id: int, done: int, total: int, step: str = "") -> None:
        self.huey.put(f"job-progress:{job_id}", (done, total, time.time(), step))

    def beat(self, job_id: int) -> None:
        current = self.progress(job_id)
        if current is None:
            self.report(job_id, 0, 0)
        else:
            self.report(job_id, current.done, current.total, current.step)

    def progress(self, job_id: int) -> Progress | None:
        raw = self.huey.get(f"job-progress:{job_id}", peek=True)
        return Progress(*raw) if raw else None

    def forget(self, job_id: int) -> None:
        self.huey.delete(f"job-progress:{job_id}")
        self.huey.delete(f"job-enqueued:{job_id}")
