-- core_routing__validation: per UTC day, replayed model, provider and metric, what the replay
-- assumes for the requests the logs show that provider serving, beside what the logs observed
-- for them (issue 17: the gap between probes and production traffic).
-- The replay's view of a provider in a request's time bucket ($bucket_minutes) is the bucket's
-- probes (`buckets`: core_routing__buckets): TTFT and decode throughput are the bucket's medians
-- and the chance a call fails is 1 - its probe success rate. A logged request gives its own TTFT,
-- its decode throughput, output_tokens / ((latency_ms - ttft_ms) / 1000), as the contract defines
-- it for probes, and whether it failed (client errors, auth and invalid_request, are the caller's
-- and count on neither side). Weighted by 1 / sample_rate; sums, so any period adds its days.
-- Every sum adds its terms in ascending order (list_sum of a sorted list), so a day's sums are the
-- same bits whichever other days are replayed with it and whichever thread saw which request.
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

pairs as (
    select date, model, provider, 'ttft_ms' as metric, w, ttft_p50_ms as predicted, ttft_ms as observed
    from j
    where status = 'ok' and ttft_ms is not null
    union all
    select date, model, provider, 'decode_tps' as metric, w, decode_tps_p50 as predicted, decode_tps as observed
    from j
    where decode_tps is not null
    union all
    select date, model, provider, 'failure_rate' as metric, w, failure_p as predicted,
        (status = 'error')::double as observed
    from j
)

select
    date,
    month_label(date) as month,
    quarter_label(date) as quarter,
    model,
    provider,
    metric,
    count(*) filter (where predicted is not null) as requests_logged,
    coalesce(list_sum(list_sort(list(w) filter (where predicted is not null))), 0) as w,
    coalesce(list_sum(list_sort(list(w * w) filter (where predicted is not null))), 0) as w2,
    coalesce(list_sum(list_sort(list(w * predicted) filter (where predicted is not null))), 0) as predicted_sum,
    coalesce(list_sum(list_sort(list(w * observed) filter (where predicted is not null))), 0) as observed_sum,
    coalesce(list_sum(list_sort(list(w) filter (where predicted is null))), 0) as unpredicted
from pairs
group by all
