"""The routing policies are named in SQL as identifiers (a column per policy in the grouped
replay, a struct per policy where the decisions are unpivoted), so the list in
pipeline/lib/routing/settings.py POLICIES is written out again in those files. A policy added to
one place and not the others would silently drop out of a mart: every list must be the same."""

from __future__ import annotations

import re

from pipeline.lib.routing.settings import POLICIES
from pipeline.paths import SQL_DIR


def _policy_structs(sql: str) -> list[str]:
    return re.findall(r"'policy'\s*:\s*'([a-z0-9_]+)'", sql)


def test_every_unpivoting_list_names_every_policy_once_in_order():
    for name in ("views/routing_decisions.sql", "core/core_routing__policy_daily.sql"):
        assert _policy_structs((SQL_DIR / name).read_text()) == list(POLICIES), name


def test_the_grouped_replay_has_a_provider_column_per_policy():
    sql = (SQL_DIR / "core" / "core_routing__groups.sql").read_text()
    columns = re.findall(r"\bas ([a-z0-9_]+)_provider\b", sql)
    assert [c for c in columns if c in POLICIES] == list(POLICIES)
