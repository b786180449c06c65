-- marts.service_objects: one row per (period, provider, model) that was listed, probed or used
-- in the period; period is a quarter (2025Q4) or a month (2025-11), every one from the first to
-- the last day with a probe, a request or a price snapshot.
--   prices: in force, USD (staging converted them at the snapshot date's fx rate): the
--     time-weighted mean over the part of the period a price was in force, and the last one;
--     a snapshot holds until the next snapshot of the same (provider, model).
--   blended_usd_per_mtok: the price of one million tokens at the model's observed token mix in
--     the period (all providers' weighted input and output tokens); 3:1 input:output when the
--     model had no traffic (blend_basis says which).
--   endpoint: the state in force at the end of the period (the latest valid_from among the
--     endpoint rows overlapping it); listed_days = days of the period some row was valid.
--   latency: percentiles over the period's successful probes (linear interpolation);
--     uptime = a day's probe success rate, averaged over the period's probed days, and the worst day.
--   requests: weighted; error classes from core_requests__hourly.
--   intervals: 95 % Wilson score intervals (<rate>_ci_low / _high); probe_success_rate on the
--     number of probes, the request rates on their effective sample size requests_effective =
--     (sum w)^2 / sum w^2 over the rates' denominator (requests outside client errors; Kish),
--     which is the logged count when every row has one sample rate. thin = requests_effective
--     under 1,000: one logged request moves such a rate by more than 0.1 percentage points.
--   Extreme values: means of prices are computed range-safe (no overflow near 1e308); a figure
--     that is still not finite (inf/nan) is published as null.
-- Parameters: $probes, $prices, $endpoints, $models (staged), $hourly (core_requests__hourly).
with probes as (
    select
        provider,
        model,
        date,
        month_label(date) as month,
        quarter_label(date) as quarter,
        status = 'ok' as ok,
        ttft_ms,
        decode_tps,
        e2e_tps
    from read_parquet($probes, hive_partitioning = true)
),

hourly as (
    select * from read_parquet($hourly)
),

days as (
    -- every day from the first to the last probe, request or price snapshot: a month with
    -- prices in force but no traffic (a price-history-only drop) is still a period
    select cast(unnest(range(min(d), max(d) + interval 1 day, interval 1 day)) as date) as date
    from (
        select min(date) as d from probes
        union all
        select max(date) from probes
        union all
        select min(date) from hourly
        union all
        select max(date) from hourly
        union all
        select cast(min(snapshot_ts) as date) from read_parquet($prices, hive_partitioning = true)
        union all
        select cast(max(snapshot_ts) as date) from read_parquet($prices, hive_partitioning = true)
    ) as bounds
),

periods as (
    select distinct
        'quarter' as period_type,
        quarter_label(date) as period,
        cast(date_trunc('quarter', date) as timestamp) as period_start,
        cast(date_trunc('quarter', date) as timestamp) + interval 3 month as period_end
    from days
    union all
    select distinct
        'month',
        month_label(date),
        cast(date_trunc('month', date) as timestamp),
        cast(date_trunc('month', date) as timestamp) + interval 1 month
    from days
),

probe_stats as (
    select
        coalesce(quarter, month) as period,
        provider,
        model,
        count(*) as probes,
        avg(ok::double) as probe_success_rate,
        quantile_cont(ttft_ms, 0.5) as ttft_p50_ms,
        quantile_cont(ttft_ms, 0.9) as ttft_p90_ms,
        quantile_cont(ttft_ms, 0.99) as ttft_p99_ms,
        quantile_cont(decode_tps, 0.5) as decode_tps_p50,
        quantile_cont(decode_tps, 0.9) as decode_tps_p90,
        quantile_cont(e2e_tps, 0.5) as e2e_tps_p50
    from probes
    group by grouping sets ((quarter, provider, model), (month, provider, model))
),

uptime_daily as (
    select quarter, month, provider, model, date, avg(ok::double) as uptime
    from probes
    group by all
),

uptime as (
    select coalesce(quarter, month) as period, provider, model,
           avg(uptime) as uptime_mean, min(uptime) as uptime_min_day
    from uptime_daily
    group by grouping sets ((quarter, provider, model), (month, provider, model))
),

request_stats as (
    select
        coalesce(quarter, month) as period,
        provider,
        model,
        sum(requests) as requests,
        sum(client_errors) as client_errors,
        sum(rate_limits) as rate_limits,
        sum(provider_faults) as provider_faults,
        sum(rate_base_w2) as rate_base_w2
    from hourly
    group by grouping sets ((quarter, provider, model), (month, provider, model))
),

token_mix as (
    select coalesce(quarter, month) as period, model,
           sum(input_tokens) / nullif(sum(input_tokens + output_tokens), 0) as input_share
    from hourly
    group by grouping sets ((quarter, model), (month, model))
),

price_spans as (
    select
        provider,
        model,
        snapshot_ts as span_start,
        lead(snapshot_ts, 1, 'infinity'::timestamp) over (partition by provider, model order by snapshot_ts) as span_end,
        input_usd_per_mtok,
        output_usd_per_mtok,
        cached_input_usd_per_mtok
    from read_parquet($prices, hive_partitioning = true)
),

price_parts as (
    -- each price divided by a power of two near the largest of its object's period (dividing by a
    -- power of two loses no precision), so price x seconds cannot overflow near 1e308
    select
        pe.period,
        s.provider,
        s.model,
        s.span_start,
        s.input_usd_per_mtok,
        s.output_usd_per_mtok,
        s.cached_input_usd_per_mtok,
        secs,
        max(s.input_usd_per_mtok) over obj as input_max,
        max(s.output_usd_per_mtok) over obj as output_max
    from periods as pe
    inner join price_spans as s on s.span_start < pe.period_end and s.span_end > pe.period_start,
        lateral (select epoch(least(s.span_end, pe.period_end)) - epoch(greatest(s.span_start, pe.period_start)) as secs) as span
    window obj as (partition by pe.period, s.provider, s.model)
),

price_scaled as (
    -- 2^floor(log2(max)), kept within the finite doubles (log2 of 1.8e308 rounds up to 1024)
    select
        *,
        case when input_max > 0 then pow(2.0, greatest(least(floor(log2(input_max)), 1023), -1074)) else 1.0 end as input_scale,
        case when output_max > 0 then pow(2.0, greatest(least(floor(log2(output_max)), 1023), -1074)) else 1.0 end as output_scale
    from price_parts
),

prices as (
    select
        period,
        provider,
        model,
        any_value(input_scale) * (sum(input_usd_per_mtok / input_scale * secs) / sum(secs)) as input_usd_per_mtok,
        any_value(output_scale) * (sum(output_usd_per_mtok / output_scale * secs) / sum(secs)) as output_usd_per_mtok,
        arg_max(input_usd_per_mtok, span_start) as input_usd_per_mtok_last,
        arg_max(output_usd_per_mtok, span_start) as output_usd_per_mtok_last,
        arg_max(cached_input_usd_per_mtok, span_start) as cached_input_usd_per_mtok_last,
        count(*) as price_snapshots
    from price_scaled
    group by period, provider, model
),

priced as (
    -- the blend's power-of-two scale, as above: input x share + output x (1 - share) <= the larger price
    select *,
        case when greatest(input_usd_per_mtok, output_usd_per_mtok) > 0
            then pow(2.0, greatest(least(floor(log2(greatest(input_usd_per_mtok, output_usd_per_mtok))), 1023), -1074)) else 1.0 end as blend_scale
    from prices
),

endpoints as (
    select
        pe.period,
        e.provider,
        e.model,
        sum(epoch(least(coalesce(e.valid_to, 'infinity'::timestamp), pe.period_end))
            - epoch(greatest(e.valid_from, pe.period_start))) / 86400 as listed_days,
        arg_max(e.context_length, e.valid_from) as context_length,
        arg_max(e.max_output_tokens, e.valid_from) as max_output_tokens,
        arg_max(e.quantization, e.valid_from) as quantization,
        arg_max(e.supports_tools, e.valid_from) as supports_tools,
        arg_max(e.supports_json_mode, e.valid_from) as supports_json_mode,
        arg_max(e.supports_streaming, e.valid_from) as supports_streaming,
        arg_max(e.supports_reasoning, e.valid_from) as supports_reasoning
    from periods as pe
    inner join read_parquet($endpoints) as e
        on e.valid_from < pe.period_end and coalesce(e.valid_to, 'infinity'::timestamp) > pe.period_start
    group by all
),

objects as (
    select period, provider, model from endpoints
    union
    select period, provider, model from probe_stats
    union
    select period, provider, model from request_stats
),

result as (
    select
        pe.period,
        pe.period_type,
        o.provider,
        o.model,
        o.provider = m.official_provider as is_official,
        pr.input_usd_per_mtok,
        pr.output_usd_per_mtok,
        pr.input_usd_per_mtok_last,
        pr.output_usd_per_mtok_last,
        pr.cached_input_usd_per_mtok_last,
        pr.price_snapshots,
        coalesce(tm.input_share, 0.75) as blend_input_share,
        case when tm.input_share is null then 'default_3_to_1' else 'observed' end as blend_basis,
        pr.blend_scale * (pr.input_usd_per_mtok / pr.blend_scale * coalesce(tm.input_share, 0.75)
            + pr.output_usd_per_mtok / pr.blend_scale * (1 - coalesce(tm.input_share, 0.75))) as blended_usd_per_mtok,
        e.listed_days,
        e.context_length,
        e.max_output_tokens,
        e.quantization,
        e.supports_tools,
        e.supports_json_mode,
        e.supports_streaming,
        e.supports_reasoning,
        coalesce(ps.probes, 0) as probes,
        ps.probe_success_rate,
        ps.ttft_p50_ms,
        ps.ttft_p90_ms,
        ps.ttft_p99_ms,
        ps.decode_tps_p50,
        ps.decode_tps_p90,
        ps.e2e_tps_p50,
        u.uptime_mean,
        u.uptime_min_day,
        coalesce(rs.requests, 0) as requests,
        rs.provider_faults / nullif(rs.requests - rs.client_errors, 0) as request_error_rate,
        rs.rate_limits / nullif(rs.requests - rs.client_errors, 0) as rate_limit_rate,
        rs.client_errors / nullif(rs.requests, 0) as client_error_rate,
        (rs.requests - rs.client_errors) ** 2 / nullif(rs.rate_base_w2, 0) as requests_effective
    from objects as o
    inner join periods as pe on pe.period = o.period
    left join read_parquet($models) as m on m.model = o.model
    left join priced as pr on pr.period = o.period and pr.provider = o.provider and pr.model = o.model
    left join token_mix as tm on tm.period = o.period and tm.model = o.model
    left join endpoints as e on e.period = o.period and e.provider = o.provider and e.model = o.model
    left join probe_stats as ps on ps.period = o.period and ps.provider = o.provider and ps.model = o.model
    left join uptime as u on u.period = o.period and u.provider = o.provider and u.model = o.model
    left join request_stats as rs on rs.period = o.period and rs.provider = o.provider and rs.model = o.model
),

-- No inf or nan is published: a figure that is not finite after arithmetic (an inf throughput of
-- a probe timed at 5e-324 ms, a sum of weights past 1.8e308) is null.
finite as (
    select * replace (
        case when isfinite(input_usd_per_mtok) then input_usd_per_mtok end as input_usd_per_mtok,
        case when isfinite(output_usd_per_mtok) then output_usd_per_mtok end as output_usd_per_mtok,
        case when isfinite(input_usd_per_mtok_last) then input_usd_per_mtok_last end as input_usd_per_mtok_last,
        case when isfinite(output_usd_per_mtok_last) then output_usd_per_mtok_last end as output_usd_per_mtok_last,
        case when isfinite(cached_input_usd_per_mtok_last) then cached_input_usd_per_mtok_last end as cached_input_usd_per_mtok_last,
        case when isfinite(blend_input_share) then blend_input_share end as blend_input_share,
        case when isfinite(blended_usd_per_mtok) then blended_usd_per_mtok end as blended_usd_per_mtok,
        case when isfinite(ttft_p50_ms) then ttft_p50_ms end as ttft_p50_ms,
        case when isfinite(ttft_p90_ms) then ttft_p90_ms end as ttft_p90_ms,
        case when isfinite(ttft_p99_ms) then ttft_p99_ms end as ttft_p99_ms,
        case when isfinite(decode_tps_p50) then decode_tps_p50 end as decode_tps_p50,
        case when isfinite(decode_tps_p90) then decode_tps_p90 end as decode_tps_p90,
        case when isfinite(e2e_tps_p50) then e2e_tps_p50 end as e2e_tps_p50,
        case when isfinite(requests) then requests end as requests,
        case when isfinite(request_error_rate) then request_error_rate end as request_error_rate,
        case when isfinite(rate_limit_rate) then rate_limit_rate end as rate_limit_rate,
        case when isfinite(client_error_rate) then client_error_rate end as client_error_rate,
        case when isfinite(requests_effective) then requests_effective end as requests_effective
    )
    from result
)

select
    *,
    wilson_low(probe_success_rate, probes) as probe_success_rate_ci_low,
    wilson_high(probe_success_rate, probes) as probe_success_rate_ci_high,
    wilson_low(request_error_rate, requests_effective) as request_error_rate_ci_low,
    wilson_high(request_error_rate, requests_effective) as request_error_rate_ci_high,
    wilson_low(rate_limit_rate, requests_effective) as rate_limit_rate_ci_low,
    wilson_high(rate_limit_rate, requests_effective) as rate_limit_rate_ci_high,
    requests_effective < 1000 as thin
from finite
order by period_type desc, period, model, provider
