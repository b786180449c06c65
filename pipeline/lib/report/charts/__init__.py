"""The report's charts: Altair specifications built from the frames the sections read, and
their rendering to SVG (inlined into the HTML) and PNG (files beside it) with vl-convert,
which bundles its own Vega engine, so nothing is fetched.

Units go into the axis titles. Text in the charts comes from data (provider and model
names); vl-convert writes it into the SVG as escaped XML text. Every string column a chart
receives is passed through `labels.label` first (control and bidi characters out, at most 60
characters, a hash where it was changed), and `render` checks every string of the spec's data
again, so no value can abort the renderer (a NUL) or stall it (a 3 MB label measured over and
over). The marts keep the values as they are.

By what they show: base (theme, rendering, axes), demand, service, changes, routing (and regimes).
"""

from __future__ import annotations

from pipeline.lib.report.charts.base import (
    BIN_LABEL,
    FONT,
    PALETTE,
    SHARE_CLASSES,
    SHARE_COLOURS,
    SHARE_LABELS,
    SPEC_LIMIT,
    THEME,
    VL_VERSION,
    WIDTH,
    drawn,
    log_axis,
    log_domain,
    log_ticks,
    render,
    safe_spec,
    share_classes,
)
from pipeline.lib.report.charts.changes import change_series, change_timeline
from pipeline.lib.report.charts.demand import family_shares, inertia, lorenz, supply_use
from pipeline.lib.report.charts.routing import regimes, routing_changes, routing_policies
from pipeline.lib.report.charts.service import anchoring, error_rates, price_speed, service_dots, tool_call_f1

__all__ = [
    "BIN_LABEL",
    "FONT",
    "PALETTE",
    "SHARE_CLASSES",
    "SHARE_COLOURS",
    "SHARE_LABELS",
    "SPEC_LIMIT",
    "THEME",
    "VL_VERSION",
    "WIDTH",
    "drawn",
    "log_axis",
    "log_domain",
    "log_ticks",
    "render",
    "safe_spec",
    "share_classes",
    "change_series",
    "change_timeline",
    "family_shares",
    "inertia",
    "lorenz",
    "supply_use",
    "anchoring",
    "error_rates",
    "price_speed",
    "service_dots",
    "tool_call_f1",
    "regimes",
    "routing_changes",
    "routing_policies",
]
