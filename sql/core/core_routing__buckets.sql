-- core_routing__buckets: one row per (model, provider, time bucket) with a probe: what the routing
-- simulator knows about a service object in a bucket ($bucket_minutes wide, default 60).
-- success_rate decides availability; rate_limit_rate lets a scenario make rate limits more
-- frequent; the medians score throughput and TTFT. Only the replayed models' probes are read.
-- Parameters: $probes (files), $bucket_minutes, $model_filter (list of models).
select
    model,
    provider,
    time_bucket(to_minutes($bucket_minutes), ts) as bucket,
    count(*) as probes,
    avg((status = 'ok')::double) as success_rate,
    avg((status = 'error' and error_type = 'rate_limit')::double) as rate_limit_rate,
    quantile_cont(decode_tps, 0.5) as decode_tps_p50,
    quantile_cont(ttft_ms, 0.5) as ttft_p50_ms,
    quantile_cont(ttft_ms, 0.9) as ttft_p90_ms
from read_parquet($probes, hive_partitioning = true)
where list_contains($model_filter, model)
group by all
