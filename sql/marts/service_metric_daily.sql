-- marts.service_metric_daily: one row per UTC day x provider x model x metric, the daily series
-- the change-point detector reads (pipeline/lib/changepoints.py) and the report charts.
-- A day is the unit: it averages the diurnal cycle away, and a short outage moves one day only.
--   from latency probes: ttft_p50_ms and decode_tps_p50 (medians of the day's successful probes),
--     probe_success_rate (ok probes / probes);
--   from logged requests (core_requests__hourly, weighted): request_error_rate and rate_limit_rate,
--     over the requests that were not client errors (as in marts.service_objects);
--   from compat probes (every suite): schema_accuracy = schema-valid tool calls / answers that
--     ended in tool calls; tool_call_f1 = 2TP / (2TP + FP + FN) of "ended in a tool call" against
--     the official provider's first answer to the same suite and case on the same day.
-- samples: the observations behind value (probes, cases, or the Kish effective number of
-- weighted requests). Days without an observation have no row.
-- Parameters: $probes, $compat, $models (staged), $hourly (core_requests__hourly Parquet).
with probe_days as (
    select
        cast(ts as date) as date,
        provider,
        model,
        count(*) as probes,
        count(*) filter (where status = 'ok') as probes_ok,
        quantile_cont(ttft_ms, 0.5) filter (where status = 'ok') as ttft_p50_ms,
        quantile_cont(decode_tps, 0.5) filter (where status = 'ok') as decode_tps_p50,
        count(ttft_ms) filter (where status = 'ok') as ttft_samples,
        count(decode_tps) filter (where status = 'ok') as decode_samples
    from read_parquet($probes, hive_partitioning = true)
    group by all
),

request_days as (
    select
        date,
        provider,
        model,
        sum(requests - client_errors) as base,
        sum(provider_faults) as faults,
        sum(rate_limits) as limits,
        sum(rate_base_w2) as base_w2
    from read_parquet($hourly)
    group by all
),

answers as (
    select
        cast(ts as date) as date,
        provider,
        model,
        suite,
        case_id,
        finish_reason = 'tool_calls' as called,
        schema_valid,
        row_number() over (partition by provider, model, suite, case_id, cast(ts as date) order by ts) as nth
    from read_parquet($compat, hive_partitioning = true)
),

paired as (
    select
        a.date,
        a.provider,
        a.model,
        coalesce(a.called, false) as called,
        coalesce(o.called, false) as official_called
    from answers as a
    inner join read_parquet($models) as m on a.model = m.model and a.provider != m.official_provider
    inner join answers as o
        on
            o.provider = m.official_provider and o.model = a.model and o.suite = a.suite
            and o.case_id = a.case_id and o.date = a.date and o.nth = 1
),

compat_days as (
    select
        date,
        provider,
        model,
        count(*) filter (where called) as tool_calls,
        count(*) filter (where called and schema_valid) as valid_calls
    from answers
    group by all
),

f1_days as (
    select
        date,
        provider,
        model,
        count(*) as cases,
        count(*) filter (where called and official_called) as tp,
        count(*) filter (where called and not official_called) as fp,
        count(*) filter (where not called and official_called) as fn
    from paired
    group by all
),

long as (
    select date, provider, model, 'ttft_p50_ms' as metric, ttft_p50_ms as value, ttft_samples as samples
    from probe_days where ttft_samples > 0
    union all
    select date, provider, model, 'decode_tps_p50', decode_tps_p50, decode_samples
    from probe_days where decode_samples > 0
    union all
    select date, provider, model, 'probe_success_rate', probes_ok / probes, probes
    from probe_days
    union all
    select date, provider, model, 'request_error_rate', faults / base, round(base * base / base_w2)
    from request_days where base > 0 and base_w2 > 0
    union all
    select date, provider, model, 'rate_limit_rate', limits / base, round(base * base / base_w2)
    from request_days where base > 0 and base_w2 > 0
    union all
    select date, provider, model, 'schema_accuracy', valid_calls / tool_calls, tool_calls
    from compat_days where tool_calls > 0
    union all
    select date, provider, model, 'tool_call_f1', 2 * tp / (2 * tp + fp + fn), cases
    from f1_days where tp + fp + fn > 0
)

select date, provider, model, metric, value, cast(samples as bigint) as samples
from long
-- no inf or nan is published (a hostile drop can make a median or a share not finite)
where isfinite(value)
order by provider, model, metric, date
