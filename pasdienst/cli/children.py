from __future__ import annotations

from pathlib import Path

import click

from ..csvsafe import write_csv
from ..wallet.children import rejected_rows
from ..wallet.services import import_children
from ..access.policy import CLI_ACTOR
from .base import Context, main, pass_ctx
from ._files import read_bytes

_SHOWN = 20


@main.group("children")
def children_group() -> None:
    """Children: the municipality's export of eligible children."""


def rejected_path(file: str) -> Path:
    path = Path(file)
    stem = path.name[: -len(".csv")] if path.name.lower().endswith(".csv") else path.name
    return path.with_name(f"{stem}.rejected.csv")


@children_group.command("import")
@click.argument("municipality")
@click.argument("file")
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@pass_ctx
def import_cmd(ctx: Context, municipality: str, file: str, dry_run: bool) -> None:
    """Import FILE.csv; rejected rows and their reasons go to FILE.rejected.csv."""
    data = read_bytes(file)
    if dry_run:
        with ctx.db.read() as session:
            result = import_children(session, municipality, data, settings=ctx.settings, today=ctx.today, dry_run=True)
    else:
        result = ctx.db.run(lambda session: import_children(
            session, municipality, data, settings=ctx.settings, today=ctx.today, file_name=Path(file).name,
            actor=CLI_ACTOR,
        ))
    for rejected in result.rejected[:_SHOWN]:
        click.echo(f"line {rejected.line}: {rejected.reason}")
    if len(result.rejected) > _SHOWN:
        click.echo(f"... and {len(result.rejected) - _SHOWN} more")
    target = rejected_path(file)
    if dry_run:
        click.echo("dry run: nothing written")
    elif result.rejected:
        header, rows = rejected_rows(result)
        write_csv(target, header, rows, delimiter=result.delimiter)
        click.echo(f"rejected rows written to {target}")
    else:
        # A file left from an earlier run would list rows that are fine now.
        target.unlink(missing_ok=True)
    click.echo(result.summary())
