-- core_routing__segments: the routing candidates of every model, one row per (model, segment,
-- provider). A segment is a stretch of time in which no endpoint state and no price of the
-- model changes (it starts at every valid_from, valid_to and snapshot_ts of the model's
-- providers), so one as-of join of a request onto its model's segments finds every candidate's
-- state and price in force when the request started (contract: candidates have an endpoint
-- valid at t and a price in force at t; a snapshot exactly at t is in force at t).
-- $price_asof (a scenario; null = off) re-costs everything at the prices in force at that time.
-- provider_rank orders all providers by name (ties go to the first); provider_idx numbers a
-- segment's candidates 1..n in the same order (the bit 2^(idx-1) of a fit mask, the position in
-- the segment's lists, core_routing__segment_lists).
-- Parameters: $endpoints, $prices, $price_asof.
with endpoints as (
    select * from read_parquet($endpoints)
),

prices as (
    select provider, model, snapshot_ts, input_usd_per_mtok, output_usd_per_mtok, cached_input_usd_per_mtok
    from read_parquet($prices, hive_partitioning = true)
),

points as (
    select model, valid_from as seg_start from endpoints
    union
    select model, valid_to from endpoints where valid_to is not null
    union
    select model, snapshot_ts from prices
),

segments as (
    select model, seg_start, lead(seg_start) over (partition by model order by seg_start) as seg_end
    from points
),

listed as (
    -- overlapping states of one (provider, model) in a bad drop: the latest one holds
    select s.model, s.seg_start, s.seg_end, e.* exclude (model, valid_from, valid_to)
    from segments as s
    inner join endpoints as e
        on e.model = s.model and e.valid_from <= s.seg_start and (e.valid_to is null or s.seg_start < e.valid_to)
    qualify row_number() over (partition by s.model, s.seg_start, e.provider order by e.valid_from desc) = 1
),

priced_at as (
    select *, coalesce(cast($price_asof as timestamp), seg_start) as price_ts from listed
)

select
    l.model,
    l.seg_start,
    cast(row_number() over (partition by l.model, l.seg_start order by l.provider) as integer) as provider_idx,
    l.seg_end,
    l.provider,
    -- a fixed order of providers, to break ties between equal prices or speeds
    cast(dense_rank() over (order by l.provider) - 1 as integer) as provider_rank,
    l.context_length,
    l.max_output_tokens,
    l.supports_tools,
    l.supports_json_mode,
    l.supports_streaming,
    p.input_usd_per_mtok,
    p.output_usd_per_mtok,
    coalesce(p.cached_input_usd_per_mtok, p.input_usd_per_mtok) as cached_input_usd_per_mtok
from priced_at as l
asof inner join prices as p
    on p.provider = l.provider and p.model = l.model and l.price_ts >= p.snapshot_ts
