-- core_routing__slots: one row per (slot, provider): a slot is a (model, segment, bucket) that some
-- routed request falls in; the row holds the candidate's endpoint state and prices (from
-- `segments`) beside its availability, throughput and TTFT in the bucket and the bucket before
-- (from `bucket_state`; the previous bucket is joined on its own, so a provider without probes in
-- this bucket still carries what a router saw in the last one). `slot_key` = slot_id x 65536 +
-- provider_rank is the integer every per-request step joins on. Bounded by the time grid, not by
-- the traffic. Reads the temporary tables `routed_requests`, `segments` and `bucket_state`.
-- Parameters: $bucket_minutes.
select
    t.slot_id,
    t.slot_id * 65536 + s.provider_rank as slot_key,
    s.*,
    t.bucket,
    b.success_rate,
    b.decode_tps_p50,
    b.ttft_p50_ms,
    p.success_rate as prev_success_rate,
    p.decode_tps_p50 as prev_decode_tps_p50,
    p.ttft_p90_ms as prev_ttft_p90_ms
from (select distinct slot_id, model, seg_start, bucket from routed_requests where slot_id is not null) as t
inner join segments as s on s.model = t.model and s.seg_start = t.seg_start
left join bucket_state as b on b.model = t.model and b.provider = s.provider and b.bucket = t.bucket
left join bucket_state as p
    on p.model = t.model and p.provider = s.provider and p.bucket = t.bucket - to_minutes($bucket_minutes)
