"""The terminal progress of a run (pipeline/defs/progress.py): one line per finished step, counted
against the steps the run will execute, on a two-step job whose count is known."""

import multiprocessing
import os
import time
import uuid

import dagster as dg

from pipeline.defs.progress import COUNTERS, count_step_done, forget_counter, step_progress_logger


@dg.asset
def first() -> None:
    pass


@dg.asset(deps=[first])
def second() -> None:
    pass


@dg.asset(deps=[second])
def broken() -> None:
    raise ValueError("on purpose")


def _run(assets, total, capfd):
    job = dg.define_asset_job("two_steps", selection=dg.AssetSelection.all())
    defs = dg.Definitions(assets=assets, jobs=[job], loggers={"progress": step_progress_logger})
    result = defs.resolve_job_def("two_steps").execute_in_process(
        run_config={"loggers": {"progress": {"config": {"total_steps": total}}}}, raise_on_error=False
    )
    err = capfd.readouterr().err
    return result, [line for line in err.splitlines() if line.startswith("progress:")]


def test_one_line_per_finished_step(capfd):
    result, lines = _run([first, second], 2, capfd)
    assert result.success
    assert lines[0] == "progress: two_steps: 2 steps"
    assert [line.split(" done in ")[0] for line in lines[1:]] == ["progress: [1/2] first", "progress: [2/2] second"]


def test_a_failed_step_is_counted_and_named(capfd):
    result, lines = _run([first, second, broken], 3, capfd)
    assert not result.success
    assert lines[-1] == "progress: [3/3] broken FAILED"


def _count_many(args) -> list[int]:
    run_id, n, pause_s = args
    # widen the race: each append is followed by a pause before the count is read back, so a
    # count taken from the file's size (not from this descriptor's own offset) would see the
    # bytes other processes appended meanwhile and repeat or skip numbers
    write = os.write

    def slow_write(fd, data):
        written = write(fd, data)
        time.sleep(pause_s)
        return written

    os.write = slow_write
    return [count_step_done(run_id) for _ in range(n)]


def test_steps_in_separate_processes_are_counted_once_each():
    # on the multiprocess executor each step reports from its own process, with its own logger:
    # processes counting at once for one run get every count once (1..N), whatever the interleaving
    run_id = f"test-{uuid.uuid4().hex}"
    try:
        with multiprocessing.get_context("spawn").Pool(4) as pool:
            counts = [c for part in pool.map(_count_many, [(run_id, 25, 0.002)] * 4) for c in part]
        assert sorted(counts) == list(range(1, 101))
    finally:
        forget_counter(run_id)
    assert not (COUNTERS / run_id).exists()
