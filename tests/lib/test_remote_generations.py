"""The Parquet record on object storage (pipeline/lib/generations/remote.py): a generation mirrored
to an fsspec URL file for file, `current` moved only once it is complete, old generations pruned,
and DuckDB reading the tables there through the same fsspec filesystem. fsspec's in-memory
filesystem stands in for S3 here (the same calls; s3fs is what an s3:// URL takes)."""

from __future__ import annotations

import os
import uuid

import fsspec
import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.lib.generations import Store
from pipeline.lib.generations.remote import connect_remote, mirror, remote_generation


def _generation(store: Store, name: str, requests: int) -> None:
    """A published generation with a day-partitioned staged dataset, a dimension, a mart file and
    a per-day mart folder, `requests` staged requests over two days."""
    root = store.gen_parquet(name)
    for day, n in (("2025-10-01", requests // 2), ("2025-10-02", requests - requests // 2)):
        folder = root / "staging" / "requests" / f"date={day}"
        folder.mkdir(parents=True)
        pl.DataFrame({"request_id": [f"{day}-{i}" for i in range(n)], "input_tokens": list(range(n))}).write_parquet(
            folder / "part-0.parquet"
        )
        groups = root / "marts" / "routing_groups" / f"date={day}"
        groups.mkdir(parents=True)
        pl.DataFrame({"model": ["m"], "w_requests": [float(n)]}).write_parquet(groups / "part-0.parquet")
    (root / "staging" / "models").mkdir(parents=True)
    pl.DataFrame({"model": ["m", "n"]}).write_parquet(root / "staging" / "models" / "models.parquet")
    pl.DataFrame({"dataset": ["requests"], "rows_loaded": [requests]}).write_parquet(
        root / "marts" / "ingest_audit.parquet"
    )
    store.current_link.unlink(missing_ok=True)
    os.symlink(f"generations/{name}", store.current_link)


@pytest.fixture
def url():
    # a fresh folder of the process-wide in-memory filesystem per test
    u = f"memory://servicelens-{uuid.uuid4().hex}"
    yield u
    fs, base = fsspec.core.url_to_fs(u)
    if fs.exists(base):
        fs.rm(base, recursive=True)


def test_a_mirrored_generation_reads_as_the_local_one(tmp_path, url):
    store = Store(tmp_path / "wh.duckdb")
    _generation(store, "20251002T000000Z-aaaa", 10)
    assert mirror(store, url) == "20251002T000000Z-aaaa"
    assert remote_generation(url) == "20251002T000000Z-aaaa"
    fs, base = fsspec.core.url_to_fs(url)
    local = sorted(
        p.relative_to(store.gen_parquet("20251002T000000Z-aaaa")).as_posix()
        for p in store.gen_parquet("20251002T000000Z-aaaa").rglob("*.parquet")
    )
    there = sorted(p.split("/parquet/", 1)[1] for p in fs.find(f"{base}/generations/20251002T000000Z-aaaa/parquet"))
    assert there == local
    con = connect_remote(url)
    assert con.execute("select count(*), sum(input_tokens) from staging.requests").fetchone() == (10, 2 * sum(range(5)))
    # the day folders are hive partitions, as in the warehouse file
    assert con.execute("select count(distinct date) from staging.requests").fetchone() == (2,)
    assert con.execute("select count(*) from staging.models").fetchone() == (2,)
    assert con.execute("select rows_loaded from marts.ingest_audit").fetchone() == (10,)
    assert con.execute("select sum(w_requests) from marts.routing_groups").fetchone() == (10.0,)


def test_current_moves_only_to_a_complete_generation_and_old_ones_are_pruned(tmp_path, url):
    store = Store(tmp_path / "wh.duckdb")
    names = [f"2025100{i}T000000Z-{i}" for i in (1, 2, 3)]
    _generation(store, names[0], 4)
    mirror(store, url, keep=2)
    fs, base = fsspec.core.url_to_fs(url)
    # a mirror of the next generation that dies after some files: `current` still names the first
    _generation(store, names[1], 6)
    fs.makedirs(f"{base}/generations/{names[1]}/parquet", exist_ok=True)
    fs.pipe_file(f"{base}/generations/{names[1]}/parquet/partial.parquet", b"half")
    assert remote_generation(url) == names[0]
    assert connect_remote(url).execute("select count(*) from staging.requests").fetchone() == (4,)
    # the next mirror writes it whole (an incomplete generation is written again, its stray
    # files gone) and moves `current`
    mirror(store, url, keep=2)
    assert remote_generation(url) == names[1]
    assert not fs.exists(f"{base}/generations/{names[1]}/parquet/partial.parquet")
    assert connect_remote(url).execute("select count(*) from staging.requests").fetchone() == (6,)
    _generation(store, names[2], 8)
    mirror(store, url, keep=2)
    kept = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{base}/generations", detail=False))
    assert kept == names[1:]  # the oldest complete one is gone, the two newest stay
    assert connect_remote(url).execute("select count(*) from staging.requests").fetchone() == (8,)


def test_the_next_generation_uploads_only_what_changed(tmp_path, url, monkeypatch):
    # a daily run shares every day it did not rebuild with the generation before (hard links):
    # those are copied within the store, and only the rebuilt day, the new day and the marts go
    # up; the mirror reads as the local generation all the same
    from pipeline.lib.generations.build import snapshot

    store = Store(tmp_path / "wh.duckdb")
    first, second = "20251002T000000Z-aaaa", "20251003T000000Z-bbbb"
    _generation(store, first, 10)
    mirror(store, url)
    assert snapshot(store.gen_parquet(first), store.gen_parquet(second)) == 6
    root = store.gen_parquet(second)
    changed = {
        "staging/requests/date=2025-10-02/part-0.parquet": 7,  # the day rebuilt
        "staging/requests/date=2025-10-03/part-0.parquet": 4,  # the day added
        "marts/routing_groups/date=2025-10-02/part-0.parquet": 7,
    }
    for rel, n in changed.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(".new.parquet")
        frame = (
            pl.DataFrame({"model": ["m"], "w_requests": [float(n)]})
            if rel.startswith("marts")
            else pl.DataFrame({"request_id": [f"{rel}-{i}" for i in range(n)], "input_tokens": [100] * n})
        )
        frame.write_parquet(tmp)
        tmp.replace(target)  # as every writer does: a new file renamed over the old
    store.current_link.unlink()
    os.symlink(f"generations/{second}", store.current_link)

    fs, base = fsspec.core.url_to_fs(url)
    uploaded: list[str] = []
    put = fs.put_file
    monkeypatch.setattr(fs, "put_file", lambda lpath, rpath, **kw: (uploaded.append(rpath), put(lpath, rpath, **kw)))
    # one shared file gone from the store (removed by hand): uploaded again, not an error
    fs.rm(f"{base}/generations/{first}/parquet/staging/models/models.parquet")
    said: list[str] = []
    assert mirror(store, url, log=said.append) == second
    assert sorted(u.split("/parquet/", 1)[1] for u in uploaded) == sorted([*changed, "staging/models/models.parquet"])
    assert "4 of 7 files uploaded" in said[-1] and f"3 unchanged since {first}" in said[-1]
    con = connect_remote(url)
    # day 1 (5 requests, tokens 0..4) unchanged, day 2 and day 3 rewritten at 100 tokens each
    assert con.execute("select count(*), sum(input_tokens) from staging.requests").fetchone() == (16, 10 + 1100)
    assert con.execute("select sum(w_requests) from marts.routing_groups").fetchone() == (12.0,)
    assert con.execute("select count(*) from staging.models").fetchone() == (2,)
    # the first generation, still kept there, is untouched (but for the file removed by hand)
    assert sorted(fs.find(f"{base}/generations/{first}/parquet")) == sorted(
        f"{base}/generations/{first}/parquet/{p.relative_to(store.gen_parquet(first)).as_posix()}"
        for p in store.gen_parquet(first).rglob("*.parquet")
        if p.name != "models.parquet"
    )


def test_the_cli_mirrors_and_queries_the_mirror(tmp_path, url):
    from pipeline.cli import main

    store = Store(tmp_path / "wh.duckdb")
    _generation(store, "20251002T000000Z-aaaa", 10)
    runner = CliRunner()
    out = runner.invoke(main, ["generations", "mirror", "--to", url, "--warehouse", str(store.warehouse)])
    assert out.exit_code == 0, out.output
    assert f"{url} now serves generation 20251002T000000Z-aaaa" in out.output
    out = runner.invoke(
        main, ["query", "select count(*) as n from staging.requests", "--remote", url, "--format", "csv"]
    )
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == ["n", "10"]
    # a query that writes files is refused before anything runs
    out = runner.invoke(main, ["query", "copy staging.requests to 'x.csv'", "--remote", url])
    assert out.exit_code != 0 and "does not write files" in out.output
    # nor does it read past the generation: no local file, no ATTACH
    for sql in ("select * from read_text('/etc/hostname')", f"attach '{tmp_path / 'x.db'}'"):
        out = runner.invoke(main, ["query", sql, "--remote", url])
        assert out.exit_code != 0 and "disabled" in out.output, (sql, out.output)
    assert not (tmp_path / "x.db").exists()
    # nothing mirrored there: one line that says so
    out = runner.invoke(main, ["query", "select 1", "--remote", url + "-empty"])
    assert out.exit_code != 0 and "holds no mirrored generation" in out.output


def test_an_s3_bucket_served_by_moto_takes_the_mirror_and_duckdb_reads_it(tmp_path, monkeypatch):
    """The same through the S3 protocol: s3fs against moto's S3 server on loopback (not AWS)."""
    import socket

    import s3fs
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:  # a free port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(key, "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        # fsspec's per-protocol defaults: what FSSPEC_S3_ENDPOINT_URL sets for a shell
        monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": f"http://127.0.0.1:{port}"})
        s3fs.S3FileSystem.clear_instance_cache()
        s3fs.S3FileSystem().mkdir("servicelens-test")
        store = Store(tmp_path / "wh.duckdb")
        _generation(store, "20251002T000000Z-aaaa", 10)
        url = "s3://servicelens-test/quarter"
        assert mirror(store, url) == "20251002T000000Z-aaaa"
        con = connect_remote(url)
        assert con.execute("select count(*), count(distinct date) from staging.requests").fetchone() == (10, 2)
        assert con.execute("select sum(w_requests) from marts.routing_groups").fetchone() == (10.0,)
        # the next generation: its unchanged files by S3's server-side copy, one new file uploaded
        from pipeline.lib.generations.build import snapshot

        second = "20251003T000000Z-bbbb"
        snapshot(store.gen_parquet("20251002T000000Z-aaaa"), store.gen_parquet(second))
        pl.DataFrame({"rows_loaded": [11]}).write_parquet(store.gen_parquet(second) / "marts" / ".new")
        (store.gen_parquet(second) / "marts" / ".new").replace(
            store.gen_parquet(second) / "marts" / "ingest_audit.parquet"
        )
        store.current_link.unlink()
        os.symlink(f"generations/{second}", store.current_link)
        said: list[str] = []
        assert mirror(store, url, log=said.append) == second
        assert "1 of 6 files uploaded" in said[-1]
        con = connect_remote(url)
        assert con.execute("select count(*), count(distinct date) from staging.requests").fetchone() == (10, 2)
        assert con.execute("select rows_loaded from marts.ingest_audit").fetchone() == (11,)
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


def test_a_mirror_that_fails_after_a_run_says_what_the_url_serves_in_one_line(tmp_path, url, monkeypatch):
    import click

    from pipeline.cli import _mirror_after_run
    from pipeline.lib.generations import remote

    store = Store(tmp_path / "wh.duckdb")
    _generation(store, "20251002T000000Z-aaaa", 4)
    mirror(store, url)
    _generation(store, "20251003T000000Z-bbbb", 6)

    def fails(*_a, **_k):
        raise RuntimeError("the store said no\nsecond line")

    monkeypatch.setattr(remote, "mirror", fails)
    with pytest.raises(click.ClickException) as caught:
        _mirror_after_run(store.warehouse, url)
    message = caught.value.format_message()
    assert "\n" not in message
    assert message.startswith(f"published 20251003T000000Z-bbbb locally, but the mirror to {url} failed")
    assert "RuntimeError: the store said no" in message and "it serves generation 20251002T000000Z-aaaa" in message
    assert message.endswith(f"`servicelens generations mirror --to {url} --warehouse {store.warehouse}`")


def test_without_the_generation_mirrored_before_held_here_every_file_is_uploaded(tmp_path, url):
    # the store keeps its newest generations only: a mirror after more runs than that finds no
    # local generation to tell which files are shared, and uploads them all
    import shutil

    from pipeline.lib.generations.build import snapshot

    store = Store(tmp_path / "wh.duckdb")
    first, second = "20251002T000000Z-aaaa", "20251003T000000Z-bbbb"
    _generation(store, first, 10)
    mirror(store, url)
    snapshot(store.gen_parquet(first), store.gen_parquet(second))
    store.current_link.unlink()
    os.symlink(f"generations/{second}", store.current_link)
    shutil.rmtree(store.gen_dir(first))
    said: list[str] = []
    assert mirror(store, url, log=said.append) == second
    assert said[-1].endswith("6 of 6 files uploaded (0.0 MB)")
    assert connect_remote(url).execute("select count(*) from staging.requests").fetchone() == (10,)


def test_record_sources_list_the_same_tables_on_disk_and_in_an_object_store(tmp_path, url):
    """A table is a folder holding a Parquet file at any depth, whichever filesystem holds it: the
    local walk stops at the first file it finds, the object store lists the prefix, and both name
    the same tables (an empty first day, a file only in a later day, a folder of other files, a
    Parquet file three folders down)."""
    from pipeline.lib.record_sources import local_record_sources, record_sources

    tree = {
        "staging/requests/date=2025-10-01/notes.txt": b"x",
        "staging/requests/date=2025-10-02/part-0.parquet": b"",
        "staging/latency_probes/date=2025-10-01/README": b"x",
        "staging/models/data.parquet": b"",
        "marts/routing_groups/date=2025-10-01/a/b/part-0.parquet": b"",
        "marts/routing_cache_rates/date=2025-10-01/part-0.txt": b"",
        "marts/ingest_audit.parquet": b"",
    }
    fs, base = fsspec.core.url_to_fs(url)
    for rel, data in tree.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
        fs.pipe_file(f"{base}/{rel}", data)
    (tmp_path / "staging" / "compat_probes" / "date=2025-10-01").mkdir(parents=True)
    local, remote = local_record_sources(tmp_path), record_sources(fs, base)

    def relative(sources, root: str):
        strip = lambda d: {k: v.removeprefix(root.rstrip("/") + "/") for k, v in d.items()}  # noqa: E731
        return strip(sources.staged), strip(sources.mart_files), strip(sources.mart_folders)

    assert (
        relative(local, str(tmp_path))
        == relative(remote, base)
        == (
            {"requests": "staging/requests/**/*.parquet", "models": "staging/models/data.parquet"},
            {"ingest_audit": "marts/ingest_audit.parquet"},
            {"routing_groups": "marts/routing_groups/**/*.parquet"},
        )
    )
