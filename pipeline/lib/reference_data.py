"""Reference data kept as data files rather than code: the CSV tables under pipeline/data/
(pipeline/data/README.md says what each holds and where its figures come from).

The alias map (importers/aliases.py) and the sample world (generate/world.py) read the same
model facts from pipeline/data/models.csv, so a release date or an official provider is stated
once. The files ship with the package (pyproject.toml, package-data) and are read through
importlib.resources, once per process.
"""

from __future__ import annotations

import csv
import functools
from importlib import resources


@functools.cache
def table(name: str) -> tuple[dict[str, str], ...]:
    """The rows of pipeline/data/<name> (a CSV with a header line; `/` for a subfolder) as
    dicts of strings, in file order; an empty cell is ''. Cached: callers must not mutate them."""
    path = resources.files("pipeline") / "data"
    for part in name.split("/"):
        path = path / part
    with path.open("r", encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))
