from __future__ import annotations

import os
import sys

import click

from .base import main


@main.command("serve")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="$HOST or 127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "8000")), type=int, show_default="$PORT or 8000")
@click.option("--workers", type=int, help="Gunicorn workers (default: from the number of cores).")
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the web app and API with gunicorn."""
    args = [sys.executable, "-m", "gunicorn", "-c", "python:pasdienst.gunicorn_conf", "--bind", f"{host}:{port}"]
    if workers:
        args += ["--workers", str(workers)]
    args.append("pasdienst.web.app:create_app()")
    click.echo(f"serving on http://{host}:{port}", err=True)
    os.execv(sys.executable, args)
