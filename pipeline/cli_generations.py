"""`servicelens generations`: list the kept generations of a warehouse, roll back to one, and
mirror the current one to object storage."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from pipeline.cli_options import mirror_url_option
from pipeline.paths import DEFAULT_WAREHOUSE

WAREHOUSE = click.option(
    "--warehouse",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_WAREHOUSE,
    show_default=True,
    envvar="SERVICELENS_WAREHOUSE",
    show_envvar=True,
    help="The warehouse path readers open.",
)


def _store(warehouse: Path):
    from pipeline.lib.generations import Store

    # absolute, symlinks not followed: the path is a link into the current generation
    store = Store(Path(os.path.abspath(warehouse)))
    if not store.generations.is_dir():
        raise click.ClickException(f"{warehouse} has no generations (build one with `servicelens run`)")
    return store


@click.group()
def generations() -> None:
    """The published generations of a warehouse: every run publishes a whole new one, the last
    few are kept (SERVICELENS_KEEP_GENERATIONS, default 3)."""


@generations.command("list")
@WAREHOUSE
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_generations(warehouse: Path, fmt: str) -> None:
    """The kept generations, oldest first; `*` marks the one readers see."""
    store = _store(warehouse)
    rows = store.listing()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=1, default=str))
        return
    click.echo(f"  {'generation':<32} {'built (UTC)':<21} {'published (UTC)':<21} {'requests':>12}  database")
    for r in rows:
        requests = r["rows"].get("staging.requests")
        click.echo(
            f"{'*' if r['current'] else ' '} {r['generation']:<32} {r['built_at'] or '-':<21} {r['published_at'] or '-':<21} "
            f"{requests if requests is not None else '-':>12}  {r['db']}"
        )


@generations.command("rollback")
@click.argument("name", required=False)
@WAREHOUSE
def rollback_generation(name: str | None, warehouse: Path) -> None:
    """Point readers at an earlier kept generation: NAME, or by default the one published
    before the current one. Nothing is deleted; the next run publishes a new generation."""
    from pipeline.lib.generations import GenerationError, WarehouseBusy, rollback

    store = _store(warehouse)
    try:
        result = rollback(store, name)
    except (GenerationError, WarehouseBusy) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{warehouse} now shows generation {result['generation']} (was {result['previous']})")


@generations.command("mirror")
@mirror_url_option(
    "--to",
    "url",
    required=True,
    envvar="SERVICELENS_REMOTE",
    help="Any fsspec URL: s3://bucket/prefix (pip install 'servicelens[s3]'), gs://..., file:///path.",
)
@click.option(
    "--keep", type=click.IntRange(min=1), default=2, show_default=True, help="Complete generations kept there."
)
@WAREHOUSE
def mirror_generation(url: str, keep: int, warehouse: Path) -> None:
    """Copy the generation readers see to object storage: its Parquet record file for file, then
    a `_complete` marker, then the `current` pointer (readers never see half a generation), then
    remove generations beyond --keep. Query it with `servicelens query --remote URL`."""
    from pipeline.lib.generations.remote import mirror

    store = _store(warehouse)
    try:
        name = mirror(store, url, keep=keep, log=click.echo)
    except (ValueError, OSError, ImportError) as exc:
        raise click.ClickException(f"cannot mirror to {url}: {exc}") from exc
    click.echo(f"{url} now serves generation {name}")
