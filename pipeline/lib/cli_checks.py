"""What the `servicelens` command checks before it starts work, so that every mistake a user
can make ends in one line that says what is wrong and, where it can, what was probably meant.

Each check raises `Mistake` (a click.ClickException: the CLI prints `Error: <message>` and
exits 1; `BadValue`, an option's value that cannot be used at all, exits 2 as click's usage
errors do). The checks read the drop or the warehouse; none writes anything.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import shlex
from pathlib import Path

import click
import duckdb


class Mistake(click.ClickException):
    """A user mistake: printed as one line `Error: <message>`, exit status 1."""


class BadValue(Mistake):
    """An option's value that cannot be used at all (a missing folder, a file for a folder):
    exit status 2, as click's own usage errors."""

    exit_code = 2


def one_line(text: str) -> str:
    """A message on one line: DuckDB's errors carry the query and a caret on later lines (dropped
    after the first blank line); other line breaks become spaces."""
    head = re.split(r"\n\s*\n", str(text).strip(), maxsplit=1)[0]
    return " ".join(part.strip() for part in head.splitlines() if part.strip())


def closest(name: str, names: list[str] | set[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """The known names nearest to `name`: the same name in another case, else difflib's closest
    (those about as close as the best one, at most n)."""
    names = sorted(set(names))
    exact = [k for k in names if k.lower() == name.lower()]
    if exact:
        return exact[:n]
    scored = sorted(
        ((difflib.SequenceMatcher(None, name.lower(), k.lower()).ratio(), k) for k in names),
        key=lambda x: (-x[0], x[1]),
    )
    best = scored[0][0] if scored else 0.0
    return [k for score, k in scored if score >= 0.6 and score >= best - 0.05][:n]


def _names(names: list[str], limit: int = 12) -> str:
    names = sorted(names)
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def unknown(kind: str, name: str, names: list[str] | set[str] | tuple[str, ...], plural: str | None = None) -> Mistake:
    """`unknown model 'qwen3-32B'; did you mean qwen3-32b?`, or the known names when none is close."""
    near = closest(name, names)
    if near:
        return Mistake(f"unknown {kind} {name!r}; did you mean {' or '.join(near)}?")
    return Mistake(f"unknown {kind} {name!r}; known {plural or kind + 's'}: {_names(list(names)) or 'none'}")


# ------------------------------------------------------------------------------ options


def memory_limit(value: str, source: str = "--memory-limit") -> str:
    """A DuckDB memory limit (3GB, 500MB, 80%), checked by DuckDB itself before any run starts."""
    try:
        duckdb.connect(config={"memory_limit": value}).close()
    except duckdb.Error:
        raise BadValue(f"{source} {value!r} is not a memory size DuckDB understands, e.g. 3GB, 500MB or 50%") from None
    return value


def mirror_url(url: str, source: str = "--mirror") -> str:
    """An fsspec URL whose filesystem this machine has (s3:// needs s3fs) and can reach (one
    listing call: credentials, endpoint and bucket), checked before a run rather than after it.
    A prefix that does not exist yet is fine: the mirror creates it."""
    import fsspec

    if not url.strip():
        raise BadValue(f"{source} is empty: give a URL such as s3://bucket/prefix")
    try:
        fs, base = fsspec.core.url_to_fs(url)
    except ImportError as exc:
        hint = " (pip install 'servicelens[s3]')" if url.startswith(("s3://", "s3a://")) else ""
        raise BadValue(f"{source} {url!r}: {one_line(str(exc))}{hint}") from None
    except (ValueError, OSError) as exc:
        raise BadValue(f"{source} {url!r} is not a URL fsspec can open: {one_line(str(exc))}") from None
    if not base.strip("/"):
        raise BadValue(f"{source} {url!r} names no bucket or folder, e.g. s3://bucket/prefix")
    try:
        fs.exists(base)
    except Exception as exc:  # noqa: BLE001 (a store's own error types: botocore's, gcsfs's)
        raise BadValue(f"{source} {url!r} cannot be reached: {type(exc).__name__}: {one_line(str(exc))}") from None
    return url


def glob_problem(path: Path, source: str) -> str | None:
    """Why `path` cannot hold a drop or a warehouse, or None: it has glob characters (* ? [ ] { },
    the ones a drop's own file names may not hold either: pipeline/lib/ingest/discovery.py), as
    written or as resolved. The record is read through patterns such as <folder>/**/*.parquet,
    where a folder named `run[1]` reads as `run1`."""
    from pipeline.lib.ingest.discovery import GLOB_CHARS

    for form in dict.fromkeys((Path(path).absolute(), Path(path).resolve())):
        found = sorted(GLOB_CHARS & set(str(form)))  # in ASCII order: * ? [ ] { }
        if found:
            where = "" if form == Path(path).absolute() else f" (resolved: {form})"
            return (
                f"{path} ({source}) has {' '.join(found)} in its path{where}: servicelens reads its files through "
                "glob patterns, where these characters are special; use a folder whose path has none of * ? [ ] { }"
            )
    return None


def plain_path(path: Path, source: str) -> Path:
    """A path without glob characters (glob_problem), refused in one line before anything runs,
    not midway through a run in a traceback."""
    problem = glob_problem(path, source)
    if problem:
        raise BadValue(problem)
    return path


def warehouse_file(path: Path, source: str = "--warehouse") -> Path:
    """A path that can name a warehouse file (existing or not)."""
    if path.is_dir():
        raise BadValue(f"{path} ({source}) is a folder; a warehouse is a file such as data/warehouse.duckdb")
    return plain_path(path, source)


def existing_warehouse(path: Path, source: str = "--warehouse") -> Path:
    """A warehouse file that exists; says how to build one when it does not."""
    if not warehouse_file(path, source).exists():
        raise BadValue(
            f"warehouse {path} ({source}) does not exist: build one with `servicelens run --raw DROP --warehouse {shlex.quote(str(path))}`"
        )
    return path


def replaceable_warehouse(path: Path, source: str = "--warehouse") -> Path:
    """`run` publishes over its warehouse: refuse a file there that is not a DuckDB database."""
    if warehouse_file(path, source).is_file() and path.stat().st_size and not _is_duckdb(path):
        raise BadValue(
            f"{path} ({source}) exists and is not a DuckDB warehouse: `servicelens run` would replace it; "
            "choose another --warehouse"
        )
    return path


def _is_duckdb(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(12)[8:12] == b"DUCK"


def folder(path: Path, source: str) -> Path:
    """A path that, when it exists, is a folder."""
    if path.exists() and not path.is_dir():
        raise BadValue(f"{path} ({source}) is a file; it should name a folder")
    return path


# ------------------------------------------------------------------------------ drops


def drop(raw: Path, source: str = "--raw") -> Path:
    """A drop: a folder with at least one dataset folder holding a data file. Anything else (a
    missing or empty folder, the wrong folder) is refused before a run starts: running it would
    publish an empty warehouse."""
    from pipeline.lib.contract import DATASETS
    from pipeline.lib.ingest import FORMATS, discover

    if not raw.exists():
        raise BadValue(f"drop folder {raw} ({source}) does not exist")
    folder(raw, source)
    plain_path(raw, source)
    if any(f.fmt != "unknown" for name in DATASETS for f in discover(raw, name)):
        return raw
    folders = ", ".join(f"{name}/" for name in DATASETS)
    kinds = ", ".join(f"*{s}" for s in FORMATS)
    raise BadValue(
        f"{raw} ({source}) is not a drop: a drop has one or more dataset folders ({folders}) holding {kinds} files"
    )


# ------------------------------------------------------------------------------ report


def report_period(warehouse: Path, period: str | None) -> None:
    """--period must be a quarter the warehouse holds; the message lists the ones it does."""
    from pipeline.lib.report.source import QUARTER, Warehouse

    try:
        with Warehouse(warehouse) as wh:
            held = wh.quarters()
    except duckdb.Error as exc:
        raise Mistake(f"cannot read {warehouse}: {one_line(exc)}") from None
    if not held:
        raise Mistake(f"{warehouse} holds no quarter to report on: is it a servicelens warehouse?")
    if period is None or period in held:
        return
    what = "is not in this warehouse" if QUARTER.match(period) else "is not a quarter like 2025Q4"
    raise Mistake(f"period {period!r} {what}; {warehouse} holds {', '.join(held)}")


# ------------------------------------------------------------------------------ simulate


def check_simulate(root: Path, model: str, scenario) -> None:
    """Before a replay: the model is staged and routable (two providers with an endpoint and a
    price, at the scenario's prices), it has requests, and a provider_down scenario names a
    provider that serves the model while some of its requests fall in the window."""
    from pipeline.lib.duck import connect, staged_glob
    from pipeline.lib.routing import routable_models
    from pipeline.sql import load_sql

    try:
        files = {name: staged_glob(root, name) for name in ("models", "endpoints", "prices", "requests")}
    except FileNotFoundError as exc:
        raise Mistake(f"{exc}: rebuild the warehouse with `servicelens run`") from None
    con = connect()
    try:
        models = [m for (m,) in con.execute("select model from read_parquet($f)", {"f": files["models"]}).fetchall()]

        def routable_at(price_asof: dt.datetime | None) -> list[str]:
            con.execute(
                "create or replace temp table segments as " + load_sql("core/core_routing__segments"),
                {"endpoints": files["endpoints"], "prices": files["prices"], "price_asof": price_asof},
            )
            return routable_models(con)

        routable = routable_at(None)
        if model not in models:
            near = closest(model, models)
            near = [m for m in near if m in routable] or near
            if near:
                raise Mistake(f"unknown model {model!r}; did you mean {' or '.join(near)}?")
            raise Mistake(f"unknown model {model!r}; routable models: {_names(routable, 40)}")
        if model not in routable:
            near = [m for m in closest(model, routable) if m != model]
            hint = f"; did you mean {' or '.join(near)}?" if near else f"; routable models: {_names(routable, 40)}"
            raise Mistake(f"{model} cannot be routed: it never has two providers with an endpoint and a price{hint}")
        if scenario.price_asof and model not in routable_at(scenario.price_asof):
            firsts = [
                t
                for (t,) in con.execute(
                    "select min(snapshot_ts) as t from read_parquet($f, hive_partitioning = true) "
                    "where model = $m group by provider order by t",
                    {"f": files["prices"], "m": model},
                ).fetchall()
            ]
            second = (
                firsts[1]
                if firsts[1].time() == dt.time()
                else dt.datetime.combine(firsts[1].date() + dt.timedelta(days=1), dt.time())
            )
            raise Mistake(
                f"{model} cannot be routed at the prices of {scenario.price_asof:%Y-%m-%d %H:%M}: fewer than two of its "
                f"providers had a price then; use prices_asof:{second:%Y-%m-%d} or later"
            )
        first, last, n = con.execute(
            "select min(ts), max(ts), count(*) from read_parquet($f, hive_partitioning = true) where model = $m",
            {"f": files["requests"], "m": model},
        ).fetchone()
        if not n:
            raise Mistake(f"{model} has no logged requests to replay")
        if scenario.down_provider:
            _check_down(con, files["endpoints"], files["requests"], model, scenario, first, last)
    finally:
        con.close()


def _check_down(
    con, endpoints: str, requests: str, model: str, scenario, first: dt.datetime, last: dt.datetime
) -> None:
    provider, start, end = scenario.down_provider, scenario.down_start, scenario.down_end
    listed = con.execute(
        "select provider, model, valid_from, valid_to from read_parquet($f)", {"f": endpoints}
    ).fetchall()
    providers = {p for p, *_ in listed}
    serving = {p for p, m, *_ in listed if m == model}
    if provider not in providers:
        raise unknown("provider", provider, providers)
    if provider not in serving:
        near = [p for p in closest(provider, serving) if p != provider]
        hint = f"did you mean {' or '.join(near)}? " if near else ""
        raise Mistake(f"{provider} does not serve {model}; {hint}its providers: {_names(list(serving))}")
    spans = [(f, t) for p, m, f, t in listed if p == provider and m == model]
    if not any(f < end and (t is None or start < t) for f, t in spans):
        since = min(f for f, _ in spans)
        until = max((t for _, t in spans), default=None) if all(t is not None for _, t in spans) else None
        listed_when = f"from {since:%Y-%m-%d}" + (f" to {until:%Y-%m-%d}" if until else "")
        raise Mistake(
            f"{provider} lists {model} only {listed_when}, not between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M}"
        )
    n = con.execute(
        "select count(*) from read_parquet($f, hive_partitioning = true) where model = $m and ts >= $s and ts < $e",
        {"f": requests, "m": model, "s": start, "e": end},
    ).fetchone()[0]
    if not n:
        raise Mistake(
            f"no {model} requests between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} (they run from "
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d}): taking {provider} down then changes nothing"
        )


def day_span(text: str, source: str = "--days") -> tuple[str, str]:
    """FROM..TO (or one day) as two ISO dates, FROM <= TO."""
    import datetime as dt

    first, _, last = text.partition("..")
    try:
        a, b = dt.date.fromisoformat(first.strip()), dt.date.fromisoformat((last or first).strip())
    except ValueError:
        raise BadValue(f"{text!r} ({source}) is not a day or a span of days like 2025-10-01..2025-10-31") from None
    if b < a:
        raise BadValue(f"{text!r} ({source}): {b} is before {a}")
    return a.isoformat(), b.isoformat()
