"""`servicelens tables`: what the warehouse publishes, from the registry of outputs."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.lib.cli_checks import Mistake
from pipeline.lib.registry import RegistryError, columns_reference, output, outputs, with_reference

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
COLUMNS_DOC = REPO / "docs" / "tables.md"


@click.command()
@click.argument("table", required=False)
@click.option(
    "--write",
    is_flag=True,
    help="Regenerate the README's table reference and docs/tables.md from pipeline/registry/.",
)
def tables(table: str | None, write: bool) -> None:
    """List the published tables, or show one table's columns (e.g. `servicelens tables
    service_objects`): grain, the file that builds it, each column's type, unit and meaning."""
    if write:
        README.write_text(with_reference(README.read_text()))
        COLUMNS_DOC.write_text(columns_reference())
        click.echo(f"wrote {README.relative_to(REPO)} (table reference) and {COLUMNS_DOC.relative_to(REPO)}")
        return
    if table is None:
        for o in outputs().values():
            click.echo(f"{o.table:<36} {', '.join(o.grain)}")
        return
    try:
        o = output(table)
    except RegistryError as exc:
        raise Mistake(str(exc)) from exc
    click.echo(f"{o.table}: {o.description}")
    click.echo(f"grain: {', '.join(o.grain)}; built by {', '.join(o.built_by)}")
    width = max(len(c.name) for c in o.columns)
    for c in o.columns:
        click.echo(f"  {c.name:<{width}}  {c.type:<10} {c.comment}")
