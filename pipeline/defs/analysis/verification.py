"""Vendor-verification marts (issue 4): tool-calling conformance vs the official API, in the
manner of Moonshot's K2 Vendor Verifier, and how providers treat over-long contexts."""

import dagster as dg
import polars as pl

from pipeline.defs.resources import ServicelensPaths
from pipeline.defs.schemas import described, table_specs
from pipeline.defs.thumbnails import name, number, safe_metadata
from pipeline.lib.periods import quarter_rows
from pipeline.lib.verification import (
    build_context_limit_behaviour,
    build_vendor_verification,
)
from pipeline.paths import marts_file


def verification_figures(df: pl.DataFrame) -> dict[str, str]:
    """Per quarter and model (tool_calls suite): the lowest provider F1, the threshold, the
    verdicts; and the models whose official provider answered no case (nothing to compare with)."""
    tc = quarter_rows(df).filter(pl.col("suite") == "tool_calls")
    q = tc.filter(pl.col("tool_call_f1").is_not_null())
    out = {}
    unpaired = (
        tc.group_by("period", "model").agg(pl.col("is_official").any()).filter(~pl.col("is_official")).sort("model")
    )
    for (period,), part in unpaired.group_by(["period"]):
        out[f"{period} models without official answers"] = ", ".join(name(m) for m in part["model"])
    for (period, model), part in q.sort("period", "model", "tool_call_f1").group_by(
        ["period", "model"], maintain_order=True
    ):
        low = part.row(0, named=True)
        thr = "no official rerun" if low["f1_threshold"] is None else f"threshold {number(low['f1_threshold'], '.3f')}"
        out[f"{period} {name(model)}"] = (
            f"lowest F1 {number(low['tool_call_f1'], '.3f')} ({name(low['provider'])}), {thr}, "
            f"of {part.height} providers: {(part['verdict'] == 'fail').sum()} fail, {(part['verdict'] == 'pass').sum()} pass, "
            f"{(part['verdict'] == 'undecided').sum()} undecided"
        )
    return out


def context_figures(df: pl.DataFrame) -> dict[str, str]:
    """Per quarter and behaviour: the providers showing it, with how many of their models do."""
    by = (
        quarter_rows(df)
        .group_by("period", "behaviour", "provider")
        .agg(models=pl.len())
        .sort("period", "behaviour", "provider")
    )
    return {
        f"{period} {name(behaviour)}": ", ".join(
            f"{name(p)} ({n} models)" for p, n in zip(part["provider"], part["models"], strict=True)
        )
        for (period, behaviour), part in by.group_by(["period", "behaviour"], maintain_order=True)
    }


@dg.multi_asset(group_name="marts", specs=table_specs("vendor_verification", "context_limit_behaviour"))
def verification_marts(paths: ServicelensPaths):
    vv = build_vendor_verification(paths.root)
    yield dg.MaterializeResult(
        asset_key="vendor_verification",
        metadata=safe_metadata(
            {
                "dagster/row_count": vv.height,
                **verification_figures(vv),
                "path": dg.MetadataValue.path(str(marts_file(paths.root, "vendor_verification"))),
            }
        ),
    )
    ctx = build_context_limit_behaviour(paths.root)
    yield dg.MaterializeResult(
        asset_key="context_limit_behaviour",
        metadata=safe_metadata(
            {
                "dagster/row_count": ctx.height,
                **context_figures(ctx),
                "path": dg.MetadataValue.path(str(marts_file(paths.root, "context_limit_behaviour"))),
            }
        ),
    )


VERIFICATION_ASSETS = [verification_marts]


@dg.definitions
def verification_defs() -> dg.Definitions:
    return dg.Definitions(assets=described(VERIFICATION_ASSETS))
