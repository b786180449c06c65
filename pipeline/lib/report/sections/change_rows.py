"""How a row of marts.service_changes reads in the report: each metric's name, its group in the
charts and its unit, and the cells of the table of changes (before -> after, the change with its
interval, the evidence)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.lib.changepoints import RULES
from pipeline.lib.labels import text as named
from pipeline.lib.report import fmt
from pipeline.lib.report.charts.changes import GROUPS

DETECTED = "pelt_l1"  # change points of a daily series (pipeline/lib/marts/service_changes.py)
ENDPOINT = "endpoint_state"


@dataclass(frozen=True)
class Metric:
    """How a metric of marts.service_changes reads: its name, its group in the charts, a value
    in its unit for the table, and for a daily series its axis title and d3 format."""

    name: str
    group: str
    show: Callable[[float | None], str]
    axis: str = ""
    axis_format: str = ""


def _usd(x: float | None) -> str:
    return fmt.DASH if fmt.usd(x) == fmt.DASH else f"{fmt.usd(x)}/Mtok"


def _tokens(x: float | None) -> str:
    return fmt.DASH if fmt.tokens(x) == fmt.DASH else f"{fmt.tokens(x)} tokens"


def _flag(x: float | None) -> str:
    return {1: "yes", 0: "no"}.get(x, fmt.DASH) if x is not None else fmt.DASH


def _share(x: float | None) -> str:
    return fmt.pct(x, 2)  # error and rate-limit rates live below a few percent


LATENCY, ERRORS, TOOLS, PRICE, ENDPOINTS = GROUPS
METRICS = {
    "ttft_p50_ms": Metric("TTFT p50", LATENCY, fmt.ms, "TTFT p50 (ms)", ",.0f"),
    "decode_tps_p50": Metric("decode throughput p50", LATENCY, fmt.tps, "decode p50 (tok/s)", ",.0f"),
    "probe_success_rate": Metric("probe success", ERRORS, _share, "probe success", ".1%"),
    "request_error_rate": Metric("provider-fault rate", ERRORS, _share, "provider faults", ".1%"),
    "rate_limit_rate": Metric("rate-limit rate", ERRORS, _share, "rate limits", ".1%"),
    "schema_accuracy": Metric("schema accuracy", TOOLS, fmt.pct, "schema accuracy", ".0%"),
    "tool_call_f1": Metric("tool-call F1", TOOLS, lambda x: fmt.num(x, 3), "F1 vs official", ".2f"),
    "input_usd_per_mtok": Metric("input price", PRICE, _usd),
    "output_usd_per_mtok": Metric("output price", PRICE, _usd),
    "cached_input_usd_per_mtok": Metric("cached input price", PRICE, _usd),
    "quantization": Metric("quantization", ENDPOINTS, fmt.num),
    "context_length": Metric("context length", ENDPOINTS, _tokens),
    "max_output_tokens": Metric("output cap", ENDPOINTS, _tokens),
    "supports_tools": Metric("tool calling", ENDPOINTS, _flag),
    "supports_json_mode": Metric("JSON mode", ENDPOINTS, _flag),
    "supports_streaming": Metric("streaming", ENDPOINTS, _flag),
    "supports_reasoning": Metric("reasoning", ENDPOINTS, _flag),
}
# A metric the mart gains later still reads, by how it was found.
GROUP_OF_DETECTOR = {"price_snapshot": PRICE, ENDPOINT: ENDPOINTS}
EVIDENCE = {"price_snapshot": "exact: price snapshots", ENDPOINT: "exact: endpoint states"}


def metric(name: str, detector: str | None = None) -> Metric:
    return METRICS.get(name) or Metric(named(name), GROUP_OF_DETECTOR.get(detector, ERRORS), fmt.num)


def before_after(r: dict) -> str:
    if r["before_text"] is not None or r["after_text"] is not None:  # a category (quantization)
        return f"{named(r['before_text'] or fmt.DASH)} \u2192 {named(r['after_text'] or fmt.DASH)}"
    show = metric(r["metric"], r["detector"]).show
    return f"{show(r['before_value'])} \u2192 {show(r['after_value'])}"


def signed(pct: float | None, digits: int = 1, text: str | None = None) -> str:
    """A change in percent with its sign, '+50.0 %' (fmt writes a minus only); `text`: the
    formatted change (with its interval) to sign."""
    text = text or fmt.pct_value(pct, digits)
    return f"+{text}" if text != fmt.DASH and round(pct, digits) > 0 else text


def in_points(r: dict) -> bool:
    """A rate (success, errors, schema accuracy, F1) changes by points: a percent of a rate that
    rose from near 0 (+4,638 %) says nothing a reader can use."""
    rule = RULES.get(r["metric"])
    return rule is not None and not rule.relative and r["before_value"] is not None and r["after_value"] is not None


def points(r: dict, digits: int = 1) -> str:
    """after - before of a rate, in percentage points with its sign: '+5.8 points'."""
    d = 100 * (r["after_value"] - r["before_value"])
    return f"{'+' if round(d, digits) > 0 else ''}{fmt.num(d, digits)} points"


def short_change(r: dict, digits: int = 0) -> str:
    """The change in a few characters, for a chart: points for a rate, else percent."""
    return points(r, digits).replace(" points", " pts") if in_points(r) else signed(r["change_pct"], digits)


def change(r: dict) -> str:
    if r["detector"] == ENDPOINT:  # a state changed: before -> after says it, a percent would not
        return fmt.DASH
    if in_points(r):
        return points(r)
    return signed(r["change_pct"], text=fmt.pct_value_ci(r["change_pct"], r["change_ci_low"], r["change_ci_high"]))


def evidence(r: dict) -> str:
    if r["detector"] != DETECTED:
        return EVIDENCE.get(r["detector"], named(r["detector"]))
    return (
        f"{fmt.count(r['days_before'])} / {fmt.count(r['days_after'])} days, "
        f"{fmt.count(r['samples_before'])} / {fmt.count(r['samples_after'])} samples"
    )


def effects() -> str:
    """The minimum effects of changepoints.RULES, in words: '10 % for TTFT p50, ...'."""
    by: dict[str, list[str]] = {}
    for name, rule in RULES.items():
        size = f"{100 * rule.min_effect:g} %" if rule.relative else f"{100 * rule.min_effect:g} points"
        by.setdefault(size, []).append(metric(name).name)
    return "; ".join(f"{size} for {and_list(names)}" for size, names in by.items())


def and_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
