-- marts.provider_ttft (a view): "what is each provider's p90 time to first token?"
-- One row per (period, provider): percentiles of TTFT over all the provider's successful
-- latency probes in the period, every model pooled (linear interpolation, as in
-- marts.service_objects; per model, see marts.service_objects.ttft_p90_ms).
with probes as (
    select
        provider,
        model,
        ttft_ms,
        status,
        strftime(ts, '%Y') || 'Q' || cast(quarter(ts) as varchar) as quarter,
        strftime(ts, '%Y-%m') as month
    from staging.latency_probes
),

periods as (
    select quarter as period, 'quarter' as period_type, provider, model, ttft_ms, status from probes
    union all
    select month as period, 'month' as period_type, provider, model, ttft_ms, status from probes
)

select
    period,
    period_type,
    provider,
    count(distinct model) as models,
    count(*) filter (where status = 'ok' and ttft_ms is not null) as probes,
    quantile_cont(ttft_ms, 0.5) filter (where status = 'ok') as ttft_p50_ms,
    quantile_cont(ttft_ms, 0.9) filter (where status = 'ok') as ttft_p90_ms,
    quantile_cont(ttft_ms, 0.99) filter (where status = 'ok') as ttft_p99_ms
from periods
group by all
order by period_type desc, period, ttft_p90_ms
