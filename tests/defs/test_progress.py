"""The terminal progress of a run (pipeline/defs/progress.py): one line per finished step, counted
against the steps the run will execute, on a two-step job whose count is known."""

import dagster as dg

from pipeline.defs.progress import step_progress_logger


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


@dg.asset
def left() -> None:
    pass


@dg.asset
def right() -> None:
    pass


@dg.asset(deps=[left, right])
def joined() -> None:
    pass


def three_steps_job():
    """Module level, so that each step process of the multiprocess executor can load it again."""
    job = dg.define_asset_job("three_steps", selection=dg.AssetSelection.all())
    defs = dg.Definitions(assets=[left, right, joined], jobs=[job], loggers={"progress": step_progress_logger})
    return defs.resolve_job_def("three_steps")


def test_steps_in_separate_processes_are_counted_once_each(capfd):
    # each step reports from its own process, with its own logger: the count is shared
    with dg.DagsterInstance.local_temp() as instance:
        result = dg.execute_job(
            dg.reconstructable(three_steps_job),
            instance,
            run_config={
                "loggers": {"progress": {"config": {"total_steps": 3}}},
                "execution": {"config": {"multiprocess": {"max_concurrent": 2}}},
            },
        )
    assert result.success
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("progress: [")]
    assert sorted(line.split("]")[0] for line in lines) == ["progress: [1/3", "progress: [2/3", "progress: [3/3"]
    assert lines[-1].startswith("progress: [3/3] joined done in ")
