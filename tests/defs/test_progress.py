"""The terminal progress of a run (pipeline/defs/progress.py): one line per finished step, counted
against the steps the run will execute, on a two-step job whose count is known."""

import json
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg

from pipeline.defs.progress import COUNTERS, forget_counter, step_progress_logger


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


# One counting process: N counts for the run, each append followed by a pause before the count is
# read back. The pause widens the race: a count taken from the file's size (not from this
# descriptor's own offset) would see the bytes other processes appended meanwhile and repeat or
# skip numbers.
COUNTER_SCRIPT = """
import json, os, sys, time
from pipeline.defs.progress import count_step_done
run_id, n, pause_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
write = os.write
def slow_write(fd, data):
    written = write(fd, data)
    time.sleep(pause_s)
    return written
os.write = slow_write
print(json.dumps([count_step_done(run_id) for _ in range(n)]))
"""


def test_steps_in_separate_processes_are_counted_once_each():
    # on the multiprocess executor each step reports from its own process, with its own logger:
    # processes counting at once for one run get every count once (1..N), whatever the interleaving.
    # Plain subprocesses (not a multiprocessing pool, whose shutdown was seen to hang under
    # pytest-xdist)
    run_id = f"test-{uuid.uuid4().hex}"
    repo = Path(__file__).resolve().parents[2]
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", COUNTER_SCRIPT, run_id, "25", "0.002"],
                cwd=repo,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        counts = []
        for proc in procs:
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0
            counts += json.loads(out)
        assert sorted(counts) == list(range(1, 101))
    finally:
        forget_counter(run_id)
    assert not (COUNTERS / run_id).exists()
