from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from ..db import sqlite_file
from ..errors import ValidationFailed
from .base import Context, main, pass_ctx


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def backup(ctx: Context, file: Path) -> None:
    """Copy the embedded SQLite database to FILE while the service runs.

    Uses SQLite's online backup API: a consistent snapshot, even with writers
    busy. For PostgreSQL use pg_dump (README, "Backups").
    """
    source_path = sqlite_file(ctx.settings.database_url)
    if source_path is None:
        raise ValidationFailed("backup copies the SQLite database; for PostgreSQL use pg_dump (see README, Backups)")
    if not source_path.exists():
        raise ValidationFailed(f"no database at {source_path}")
    if file.exists():
        raise ValidationFailed(f"{file} exists already; choose a new file name")
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(file.name + ".partial")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    target = sqlite3.connect(partial)
    try:
        with target:
            source.backup(target, pages=4096)
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        source.close()
        target.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise ValidationFailed(f"the copy failed its integrity check ({check}); nothing was written")
    partial.rename(file)
    click.echo(f"backed up {source_path} to {file} ({file.stat().st_size:,} bytes, integrity ok)")
    click.echo(str(file))
