-- core_routing__frozen_orders: per model and quarter, the provider lists a gateway would configure
-- at the start of the quarter and never revisit (the frozen policies, issue 16: "how much did
-- staleness cost?"). t0 is the quarter's start, or the first moment after it at which the model
-- has a candidate (core_routing__segments: an endpoint valid and a price in force):
--   cost_order: the candidates at t0 by blended price 0.75 x input + 0.25 x output (USD per Mtok,
--     the price price_weighted_balance weighs by), ties to the provider first by name;
--   speed_order: the same candidates by their median decode throughput over t0's UTC day (what the
--     gateway measured on its first day; the day of t0 only, so a replayed day never depends on a
--     later day's probes), fastest first; a candidate without a successful probe that day goes
--     last, by name.
-- A provider listed after t0 is in neither list: the frozen policies never use it.
-- Reads the temporary tables `segments` and `frozen_probes` (the staged probes' model, provider,
-- ts, status and decode_tps). Parameters: $quarter_starts (the first day of each quarter with
-- staged requests).
with quarters as (
    select
        cast(q as timestamp) as q_start,
        cast(q as timestamp) + interval 3 month as q_end,
        quarter_label(cast(q as date)) as quarter
    from (select unnest(cast($quarter_starts as date[]))) as t (q)
),

spans as (
    select distinct model, seg_start, seg_end from segments
),

first_span as (
    -- the model's segment in force at the quarter's start, or its first one after it
    select
        q.quarter,
        s.model,
        s.seg_start,
        greatest(q.q_start, s.seg_start) as t0
    from quarters as q
    inner join spans as s on s.seg_start < q.q_end and (s.seg_end is null or s.seg_end > q.q_start)
    qualify row_number() over (partition by q.quarter, s.model order by s.seg_start) = 1
),

candidates as (
    select
        f.quarter,
        f.model,
        f.t0,
        s.provider,
        s.provider_rank,
        0.75 * s.input_usd_per_mtok + 0.25 * s.output_usd_per_mtok as blended
    from first_span as f
    inner join segments as s on s.model = f.model and s.seg_start = f.seg_start
),

probes as (
    select model, provider, ts, decode_tps
    from frozen_probes
    where status = 'ok' and decode_tps is not null
),

speeds as (
    select c.quarter, c.model, c.provider, quantile_cont(p.decode_tps, 0.5) as decode_tps_p50
    from candidates as c
    inner join probes as p
        on
            p.model = c.model and p.provider = c.provider
            and p.ts >= date_trunc('day', c.t0) and p.ts < date_trunc('day', c.t0) + interval 1 day
    group by all
)

select
    c.model,
    c.quarter,
    any_value(c.t0) as frozen_at,
    list(c.provider order by c.blended, c.provider_rank) as cost_order,
    list(c.provider order by s.decode_tps_p50 desc nulls last, c.provider_rank) as speed_order
from candidates as c
left join speeds as s on s.quarter = c.quarter and s.model = c.model and s.provider = c.provider
group by c.model, c.quarter
