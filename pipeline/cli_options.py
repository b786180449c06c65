"""The options the `servicelens` commands share: --warehouse and --raw (option, environment,
default) and the checks that run on a value before a command starts."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from pipeline.lib import cli_checks
from pipeline.paths import DEFAULT_RAW_DIR, DEFAULT_WAREHOUSE


def _source(ctx: click.Context, param: click.Parameter) -> str:
    """Where an option's value came from, for messages."""
    source = ctx.get_parameter_source(param.name)
    if source is ParameterSource.ENVIRONMENT:
        return f"${param.envvar}"
    return "the default" if source is ParameterSource.DEFAULT else param.opts[0]


def checked(check):
    """A click callback running check(value, where it came from) before the command starts."""
    return lambda ctx, param, value: value if value is None else check(value, _source(ctx, param))


def mirror_url_option(*decls: str, envvar: str, help: str, required: bool = False):
    """An fsspec URL a generation is mirrored to, checked (cli_checks.mirror_url) before the
    command starts."""
    return click.option(
        *decls,
        required=required,
        default=None,
        metavar="URL",
        envvar=envvar,
        show_envvar=True,
        callback=checked(cli_checks.mirror_url),
        help=help,
    )


def warehouse_option(help: str, check=cli_checks.warehouse_file):
    """--warehouse FILE: the option, then $SERVICELENS_WAREHOUSE, then data/warehouse.duckdb
    (as the Dagster resource, pipeline/defs/resources.py)."""
    return click.option(
        "--warehouse",
        type=click.Path(path_type=Path),
        metavar="FILE",
        default=DEFAULT_WAREHOUSE,
        envvar="SERVICELENS_WAREHOUSE",
        show_envvar=True,
        show_default=True,
        callback=checked(check),
        help=help,
    )


def raw_option(help: str, default: Path | None = DEFAULT_RAW_DIR, check=cli_checks.folder):
    """--raw DIR: the option, then $SERVICELENS_RAW_DIR, then data/raw."""
    return click.option(
        "--raw",
        "raw_dir",
        type=click.Path(path_type=Path),
        metavar="DIR",
        default=default,
        envvar="SERVICELENS_RAW_DIR",
        show_envvar=True,
        show_default=default is not None,
        callback=checked(check),
        help=help,
    )


def out_option(help: str):
    """--out DIR: a folder to write (created; checked writable), none by default."""
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(path_type=Path),
        callback=checked(cli_checks.folder),
        default=None,
        help=help,
    )
