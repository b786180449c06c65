"""The one partitioning of servicelens: the UTC day.

Dynamic partitions named `day` (YYYY-MM-DD), added from the dates in the drop rather than a
`DailyPartitionsDefinition`: a drop may hold a quarter of 2025 or the Azure traces of 2023, and a
fixed start date would either miss such data or show thousands of empty days. The CLI run and the
sensor add each new day when its first file arrives (pipeline/lib/plan.py).

Every partitioned asset takes a whole range of days in one run (`BackfillPolicy.single_run()`):
staging and the core aggregates are set-based over the days given, so a quarter is one query per
asset rather than 92, and a backfill from the UI over any range is one run. On a cluster the steps
of that run fan out over the workers (docs/scaling.md); a range split over several runs
(a multi-run backfill) waits until the per-dataset audit merge is safe under concurrent runs.
"""

import warnings

import dagster as dg

DAYS = dg.DynamicPartitionsDefinition(name="day")
SINGLE_RUN = dg.BackfillPolicy.single_run()
# `backfill_policy` is marked beta on @asset in dagster 1.13 (the policy itself is stable since 1.6)
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)


def partitioned(**kwargs) -> dict:
    """The asset keyword arguments every day-partitioned asset shares."""
    return {"partitions_def": DAYS, "backfill_policy": SINGLE_RUN, **kwargs}
