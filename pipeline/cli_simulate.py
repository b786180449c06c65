"""`servicelens simulate`: replay one model's logged requests under a routing policy and a
what-if scenario, against the official provider."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from pipeline.cli_options import out_option, warehouse_option
from pipeline.lib import cli_checks
from pipeline.lib.cli_checks import Mistake


@click.command()
@click.option(
    "--policy",
    required=True,
    help="official, cheapest, fastest, sort_price_with_retries, price_weighted_balance, "
    "lowest_p90_ttft, cost_oracle or throughput_oracle.",
)
@click.option("--model", required=True, help="Model to replay, e.g. qwen3-32b.")
@click.option(
    "--scenario",
    default="observed",
    show_default=True,
    help="observed | provider_down:PROVIDER:START:END | rate_limits_x2 (any factor) | prices_asof:YYYY-MM-DD",
)
@warehouse_option("Warehouse whose staged Parquet (beside the file) is replayed.")
@out_option("Also write this case's per-request decisions and summaries here (Parquet).")
@click.option("--bucket-minutes", type=click.IntRange(min=1), default=60, show_default=True)
@click.option("--min-success", type=click.FloatRange(0, 1), default=0.9, show_default=True)
@click.option(
    "--availability-confidence",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.95,
    show_default=True,
    help="Down only when the bucket's probes show success below --min-success at this one-sided confidence; 0: the point rule.",
)
def simulate(
    policy: str,
    model: str,
    scenario: str,
    warehouse: Path,
    out_dir: Path | None,
    bucket_minutes: int,
    min_success: float,
    availability_confidence: float,
) -> None:
    """Replay one model's logged requests under a routing policy (and a what-if scenario) and
    print what the traffic would have cost and how fast it would have been, against the official
    provider, per quarter and month."""
    from pipeline.lib.routing import POLICIES, RoutingParams, parse_scenario
    from pipeline.lib.routing import simulate as replay_one
    from pipeline.paths import parquet_root

    if policy not in POLICIES:
        raise cli_checks.unknown("policy", policy, POLICIES, plural="policies")
    try:
        case = parse_scenario(scenario)
    except ValueError as exc:
        raise Mistake(str(exc)) from exc
    root = parquet_root(warehouse)
    if not (root / "staging" / "requests").exists():
        raise Mistake(
            f"no staged data under {root}: run `servicelens run --raw DROP --warehouse {shlex.quote(str(warehouse))}` first"
        )
    cli_checks.check_simulate(root, model, case)  # model, provider and window against the staged data
    params = RoutingParams(
        bucket_minutes=bucket_minutes, min_success=min_success, availability_confidence=availability_confidence
    )
    # only this model's requests and probes are replayed, into --out or a scratch folder: the
    # marts of a what-if never overwrite the warehouse's own
    counterfactual, policies = replay_one(root, model, policy, case, params, out_dir)
    rows = policies.filter(policies["policy"] == policy)
    if rows.is_empty():
        raise click.ClickException(
            f"{model} has no routable requests (it needs two providers with an endpoint and a price)"
        )
    click.echo(
        f"{model} under {policy}, scenario {case.name} (bucket {bucket_minutes} min, "
        + (
            f"down when probes show < {min_success:.0%} success at {availability_confidence:.0%} confidence):"
            if availability_confidence > 0.5
            else f"available at >= {min_success:.0%} probe success):"
        )
    )
    click.echo(
        f"{'period':<9} {'requests':>10} {'excluded':>9} {'cost USD':>11} {'vs official':>11} "
        f"{'decode tok/s':>12} {'vs official':>11} {'p90 TTFT ms':>11} {'success':>8}"
    )
    for r in rows.iter_rows(named=True):
        click.echo(
            f"{r['period']:<9} {r['requests_routed']:>10,.0f} {r['requests_excluded']:>9,.0f} {r['total_cost_usd'] or 0:>11,.2f} "
            f"{r['cost_change_pct'] or 0:>+10.1f}% {r['mean_decode_tps'] or 0:>12,.1f} {r['tps_change_pct'] or 0:>+10.1f}% "
            f"{r['p90_ttft_ms'] or 0:>11,.0f} {r['expected_success_rate'] or 0:>8.1%}"
        )
    contract = {
        "cost_oracle": ("cost", "oracle"),
        "cheapest": ("cost", "causal"),
        "throughput_oracle": ("throughput", "oracle"),
        "fastest": ("throughput", "causal"),
    }
    if policy in contract:
        objective, kind = contract[policy]
        for r in counterfactual.filter(
            (counterfactual["objective"] == objective) & (counterfactual["policy"] == kind)
        ).iter_rows(named=True):
            if r["change_pct"] is not None:
                click.echo(
                    f"{r['period']:<9} {objective} change {r['change_pct']:+.1f} % (95 % day-bootstrap interval {r['ci_low']:+.1f} to {r['ci_high']:+.1f})"
                )
    if out_dir:
        click.echo(f"per-request decisions: {out_dir / 'marts' / 'routing_decisions'}")
