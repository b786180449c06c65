-- core_routing__slots: one row per slot, a (model, segment, time bucket) of the replayed days
-- (the pieces): what a router knows about each candidate there, as lists in provider order
-- (position = provider_idx, as in core_routing__segment_lists), and own_ok_bits / prev_ok_bits,
-- the candidates available in the own / previous bucket as a bit mask. From `segments`: name, prices
-- and rank; from `bucket_state` (after the scenario's what-ifs) for the slot's own bucket:
-- success rate (no probes: 0), median decode throughput and TTFT, and availability own_ok
-- (no probes: unavailable; README "Routing methods"): with $availability_z > 0, the bucket's
-- Wilson upper bound at z (one-sided) >= $min_success, i.e. a provider is down only when its
-- probes show a success rate below $min_success with that confidence; with $availability_z = 0,
-- the contract's point rule, success rate >= $min_success); for the bucket before (joined on its
-- own, so a provider without probes now still carries what a router saw then): prev_ok, median
-- throughput and p90 TTFT. blended_usd_per_mtok = 0.75 x input + 0.25 x output price, the
-- request-independent price price_weighted_balance weighs by (README, "Routing methods").
-- Bounded by the time grid, not by the traffic.
-- Reads the temporary tables `pieces`, `segments` and `bucket_state`.
-- Parameters: $bucket_minutes, $min_success, $availability_z.
with slots as (
    select distinct model, seg_start, bucket, official_provider, official_idx, n_providers from pieces
),

candidates as (
    select
        t.model,
        t.seg_start,
        t.bucket,
        t.official_provider,
        t.official_idx,
        t.n_providers,
        s.provider_idx,
        s.provider,
        s.provider_rank,
        s.input_usd_per_mtok,
        s.cached_input_usd_per_mtok,
        s.output_usd_per_mtok,
        0.75 * s.input_usd_per_mtok + 0.25 * s.output_usd_per_mtok as blended_usd_per_mtok,
        coalesce(b.success_rate, 0.0) as own_success,
        coalesce(if($availability_z > 0, wilson_bound(b.success_rate, b.probes, $availability_z), b.success_rate) >= $min_success,
            false) as own_ok,
        b.decode_tps_p50 as own_tps,
        b.ttft_p50_ms as own_ttft,
        coalesce(if($availability_z > 0, wilson_bound(p.success_rate, p.probes, $availability_z), p.success_rate) >= $min_success,
            false) as prev_ok,
        p.decode_tps_p50 as prev_tps,
        p.ttft_p90_ms as prev_ttft_p90
    from slots as t
    inner join segments as s on s.model = t.model and s.seg_start = t.seg_start
    left join bucket_state as b on b.model = t.model and b.provider = s.provider and b.bucket = t.bucket
    left join bucket_state as p
        on p.model = t.model and p.provider = s.provider and p.bucket = t.bucket - to_minutes(cast($bucket_minutes as integer))
),

per_slot as (
    select
        model,
        seg_start,
        bucket,
        any_value(official_provider) as official_provider,
        any_value(official_idx) as official_idx,
        any_value(n_providers) as n_providers,
        cast(coalesce(sum(cast(1 as bigint) << (provider_idx - 1)) filter (where own_ok), 0) as bigint) as own_ok_bits,
        cast(coalesce(sum(cast(1 as bigint) << (provider_idx - 1)) filter (where prev_ok), 0) as bigint) as prev_ok_bits,
        -- one unordered list sorted by provider_idx (its first field): far cheaper than an ordered
        -- aggregate per column
        list_sort(list({
            'idx': provider_idx,
            'provider': provider,
            'rank': provider_rank,
            'input_price': input_usd_per_mtok,
            'cached_price': cached_input_usd_per_mtok,
            'output_price': output_usd_per_mtok,
            'blended_price': blended_usd_per_mtok,
            'own_success': own_success,
            'own_tps': own_tps,
            'own_ttft': own_ttft,
            'prev_tps': prev_tps,
            'prev_ttft_p90': prev_ttft_p90
        })) as cands
    from candidates
    group by model, seg_start, bucket
)

select
    model,
    seg_start,
    bucket,
    official_provider,
    official_idx,
    n_providers,
    own_ok_bits,
    prev_ok_bits,
    list_transform(cands, c -> c.provider) as provider,
    list_transform(cands, c -> c.rank) as rank,
    list_transform(cands, c -> c.input_price) as input_price,
    list_transform(cands, c -> c.cached_price) as cached_price,
    list_transform(cands, c -> c.output_price) as output_price,
    list_transform(cands, c -> c.blended_price) as blended_price,
    list_transform(cands, c -> c.own_success) as own_success,
    list_transform(cands, c -> c.own_tps) as own_tps,
    list_transform(cands, c -> c.own_ttft) as own_ttft,
    list_transform(cands, c -> c.prev_tps) as prev_tps,
    list_transform(cands, c -> c.prev_ttft_p90) as prev_ttft_p90
from per_slot
