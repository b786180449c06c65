-- core_routing__validation: per UTC day, replayed model, provider and metric, what the replay
-- assumes for the requests the logs show that provider serving, beside what the logs observed
-- for them (issue 17: the gap between probes and production traffic).
-- The replay's view of a provider in a request's time bucket ($bucket_minutes) is the bucket's
-- probes (`buckets`: core_routing__buckets): TTFT and decode throughput are the bucket's medians
-- and the chance a call fails is 1 - its probe success rate. A logged request gives its own TTFT,
-- its decode throughput, output_tokens / ((latency_ms - ttft_ms) / 1000), as the contract defines
-- it for probes, and whether it failed (client errors, auth and invalid_request, are the caller's
-- and count on neither side). Weighted by 1 / sample_rate; sums, so any period adds its days.
-- Plain parallel sums (their last bits may differ between runs): nothing is decided on them, and
-- sorting every request's terms cost the replay ~10 s a quarter at 10M requests.
-- A request whose bucket has no probe of its provider has no prediction: counted apart
-- (unpredicted), on neither side.
-- Parameters: $bucket_minutes, $model_filter. Tables: pass_requests (the pass's staged
-- requests), buckets.
with r as (
    select
        date,
        model,
        provider,
        status,
        ttft_ms,
        1.0 / sample_rate as w,
        time_bucket(to_minutes($bucket_minutes), ts) as bucket,
        case
            when status = 'ok' and output_tokens > 0 and latency_ms > ttft_ms
                then output_tokens / ((latency_ms - ttft_ms) / 1000.0)
        end as decode_tps
    from pass_requests
    where
        list_contains($model_filter, model)
        and coalesce(error_type, '') not in ('auth', 'invalid_request')
),

j as (
    select
        r.*,
        b.ttft_p50_ms,
        b.decode_tps_p50,
        1.0 - b.success_rate as failure_p
    from r
    left join buckets as b on r.model = b.model and r.provider = b.provider and r.bucket = b.bucket
),

-- one pass over the requests: per (day, model, provider) the sums of each metric, filtered
sums as (
    select
        date,
        model,
        provider,
        count(*) filter (where t_ok and ttft_p50_ms is not null) as t_n,
        sum(w) filter (where t_ok and ttft_p50_ms is not null) as t_w,
        sum(w * w) filter (where t_ok and ttft_p50_ms is not null) as t_w2,
        sum(w * ttft_p50_ms) filter (where t_ok and ttft_p50_ms is not null) as t_pred,
        sum(w * ttft_ms) filter (where t_ok and ttft_p50_ms is not null) as t_obs,
        sum(w) filter (where t_ok and ttft_p50_ms is null) as t_unpred,
        count(*) filter (where decode_tps is not null and decode_tps_p50 is not null) as d_n,
        sum(w) filter (where decode_tps is not null and decode_tps_p50 is not null) as d_w,
        sum(w * w) filter (where decode_tps is not null and decode_tps_p50 is not null) as d_w2,
        sum(w * decode_tps_p50) filter (where decode_tps is not null and decode_tps_p50 is not null) as d_pred,
        sum(w * decode_tps) filter (where decode_tps is not null and decode_tps_p50 is not null) as d_obs,
        sum(w) filter (where decode_tps is not null and decode_tps_p50 is null) as d_unpred,
        count(*) filter (where failure_p is not null) as f_n,
        sum(w) filter (where failure_p is not null) as f_w,
        sum(w * w) filter (where failure_p is not null) as f_w2,
        sum(w * failure_p) filter (where failure_p is not null) as f_pred,
        sum(w * (status = 'error')::double) filter (where failure_p is not null) as f_obs,
        sum(w) filter (where failure_p is null) as f_unpred
    from (select *, status = 'ok' and ttft_ms is not null as t_ok from j) as flagged
    group by date, model, provider
),

pairs as (
    select date, model, provider, 'ttft_ms' as metric, t_n as n, t_w as w, t_w2 as w2, t_pred as pred, t_obs as obs,
        t_unpred as unpred
    from sums
    where t_n > 0 or t_unpred > 0
    union all
    select date, model, provider, 'decode_tps', d_n, d_w, d_w2, d_pred, d_obs, d_unpred
    from sums
    where d_n > 0 or d_unpred > 0
    union all
    select date, model, provider, 'failure_rate', f_n, f_w, f_w2, f_pred, f_obs, f_unpred
    from sums
    where f_n > 0 or f_unpred > 0
)

select
    date,
    month_label(date) as month,
    quarter_label(date) as quarter,
    model,
    provider,
    metric,
    n as requests_logged,
    coalesce(w, 0) as w,
    coalesce(w2, 0) as w2,
    coalesce(pred, 0) as predicted_sum,
    coalesce(obs, 0) as observed_sum,
    coalesce(unpred, 0) as unpredicted
from pairs
