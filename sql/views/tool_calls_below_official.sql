-- marts.tool_calls_below_official (a view): "who is below the official tool-call bar?"
-- One row per (period, model, provider) of the tool_calls suite whose tool-call F1 against the
-- official API is under the bar (f1_threshold: the official's lowest F1 against its own reruns),
-- with the verdict of its 95 % interval: `fail` when the whole interval is under the bar,
-- `undecided` when the point is under it but the interval reaches it.
select
    period,
    period_type,
    model,
    provider,
    verdict,
    tool_call_f1,
    tool_call_f1_ci_low,
    tool_call_f1_ci_high,
    f1_threshold,
    f1_threshold - tool_call_f1 as f1_gap,
    schema_accuracy,
    cases
from marts.vendor_verification
where suite = 'tool_calls' and not is_official and below_threshold
order by period_type desc, period, verdict, f1_gap desc, model, provider
