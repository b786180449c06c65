"""Hypothesis profiles for the hostile-drop fuzz suite.

- `ci` (default): a few examples per dataset, derandomized (the same drops on every run), no
  deadline (one example stages a drop with DuckDB); the whole folder stays under a minute.
- `campaign` (`make fuzz`, HYPOTHESIS_PROFILE=campaign): thousands of files, random seeds;
  FUZZ_STATS=path writes what was tried (files, rows, by format and kind) as JSON at the end.
"""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, Phase, settings

from tests.fuzz import model

# database=None: no .hypothesis/ folder in the working tree (failures print their seed blob).
_common = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile("ci", max_examples=25, derandomize=True, print_blob=True, **_common)
settings.register_profile(
    "campaign",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "600")),
    derandomize=False,
    print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    **_common,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("FUZZ_STATS")
    if path and model.STATS["examples"]:
        with open(path, "w") as fh:
            json.dump(model.STATS, fh, indent=1, sort_keys=True, default=int)
