from __future__ import annotations

import logging
from datetime import timedelta

import click

from ..jobs.services import STALE_AFTER
from ..jobs.worker import make_consumer
from .base import Context, main, pass_ctx


@main.command("worker")
@click.option("--threads", type=click.IntRange(1, 16), default=1, show_default=True, help="Jobs run at the same time.")
@click.option(
    "--stale-after", type=click.IntRange(1), default=int(STALE_AFTER.total_seconds()), show_default=True,
    help="Seconds without a heartbeat after which a running job's worker is taken for dead and the job queued again.",
)
@pass_ctx
def worker(ctx: Context, threads: int, stale_after: int) -> None:
    """Run the background jobs started from the web (issuing passes, letters, year end).

    Reads PASDIENST_QUEUE_URL (default: the SQLite file instance/queue.db);
    with Redis, run workers on as many hosts as you like.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    consumer = make_consumer(ctx.settings, ctx.db, threads=threads, stale_after=timedelta(seconds=stale_after))
    click.echo(f"worker running {threads} job(s) at a time; Ctrl-C stops it after the running job", err=True)
    consumer.run()
