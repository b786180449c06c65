-- stg_latency_probes: one row per probe call, hive-partitioned by the UTC date of ts.
-- Throughputs follow the contract: decode = tokens after the first per second of decode time,
-- end-to-end = output tokens per second of the whole call; null for failed probes.
select
    *,
    case when status = 'ok' and latency_ms > ttft_ms
        then output_tokens / ((latency_ms - ttft_ms) / 1000.0) end as decode_tps,
    case when status = 'ok' and latency_ms > 0
        then output_tokens / (latency_ms / 1000.0) end as e2e_tps,
    cast(ts as date) as date
from ok
