"""`servicelens export`: write a learned routing recommendation (marts.routing_recommendations)
as a LiteLLM router config or OpenRouter provider preferences."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli_options import warehouse_option
from pipeline.lib import cli_checks
from pipeline.lib.cli_checks import Mistake

MART = "marts.routing_recommendations"


def recommendation(warehouse: Path, model: str, segment: str | None, objective: str) -> dict:
    """The mart's row for (model, segment, objective); Mistake (one line) when the warehouse has
    no such mart, model or segment. Without a segment: the model's whole traffic, `(all)`."""
    import duckdb

    from pipeline.lib.marts.routing_recommendations import ALL_TRAFFIC

    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        raise Mistake(f"cannot open {warehouse}: {cli_checks.one_line(exc)}") from None
    try:
        has = (
            con.execute(
                "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = 'routing_recommendations'"
            ).fetchone()[0]
            + con.execute(
                "select count(*) from duckdb_views() where schema_name = 'marts' and view_name = 'routing_recommendations'"
            ).fetchone()[0]
        )
        if not has:
            raise Mistake(f"{warehouse} has no {MART}: build it with `servicelens run` (this version) first")
        models = [m for (m,) in con.execute(f"select distinct model from {MART} order by model").fetchall()]
        if model not in models:
            raise Mistake(
                f"no recommendation for model {model!r} in {warehouse}; models: {', '.join(models) or 'none'}"
            )
        seg = ALL_TRAFFIC if segment is None else segment
        rows = con.execute(
            f"select * from {MART} where model = $m and segment = $s and objective = $o",
            {"m": model, "s": seg, "o": objective},
        ).pl()
        if rows.is_empty():
            segments = [
                s
                for (s,) in con.execute(
                    f"select distinct segment from {MART} where model = $m order by 1", {"m": model}
                ).fetchall()
            ]
            raise Mistake(
                f"no recommendation for {model} segment {seg!r} ({objective}); segments: {', '.join(segments)}"
            )
        return rows.row(0, named=True)
    finally:
        con.close()


@click.command()
@click.option("--format", "fmt", type=click.Choice(["litellm", "openrouter"]), required=True)
@click.option("--model", required=True, help="Model, e.g. qwen3-32b.")
@click.option(
    "--segment",
    default=None,
    help="An application (e.g. chat) or token regime (e.g. long-context).  [default: the model's whole traffic, (all)]",
)
@click.option("--objective", type=click.Choice(["cost", "throughput"]), default="cost", show_default=True)
@warehouse_option("Warehouse to read marts.routing_recommendations from.", check=cli_checks.existing_warehouse)
@click.option(
    "--out", "out_file", type=click.Path(path_type=Path), default=None, help="File to write.  [default: stdout]"
)
def export(fmt: str, model: str, segment: str | None, objective: str, warehouse: Path, out_file: Path | None) -> None:
    """Write the learned provider order of a model (and segment) as a LiteLLM router config (YAML)
    or OpenRouter provider preferences (JSON), e.g.
    servicelens export --format litellm --model qwen3-32b --segment chat --out litellm.yaml."""
    from pipeline.lib.export import render

    rec = recommendation(warehouse, model, segment, objective)
    if not rec["providers"]:
        raise Mistake(f"the recommendation for {model} / {rec['segment']} ({objective}) lists no provider")
    text = render(rec, fmt)
    if out_file is None:
        click.echo(text, nl=False)
        return
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise Mistake(f"cannot write {out_file}: {exc.strerror or exc}") from None
    click.echo(f"wrote {out_file}: {model} / {rec['segment']} ({objective}): {' > '.join(rec['providers'])}")
