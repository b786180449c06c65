-- core_routing__application_daily: what the learned recommendations (marts.routing_recommendations,
-- pipeline/lib/marts/routing_recommendations.py) need to replay any fixed provider order on one
-- application's requests, per day, from the pass's grouped replay without reading a request again.
-- A fixed order's choice in a group depends only on the slot's availability (own and previous
-- bucket) and the fit mask, not on the cost order, so the request groups of one application are
-- summed over cost orders and over the buckets of a segment that leave every candidate in the same
-- state: one row per (day, model, application, segment, mask, own_ok_bits, prev_ok_bits, tps_bits,
-- excluded), each bit mask restricted to the candidates that fit (mask):
--   own_ok_bits / prev_ok_bits: the fitting candidates available in the own / previous bucket;
--   tps_bits: the fitting candidates with a median decode throughput in the own bucket;
--   excluded: the official provider cannot serve the requests (as in core_routing__groups).
-- Prices are constant within a segment, so a candidate's cost is its prices (input_price,
-- cached_price, output_price, USD per million tokens, in the order of `providers`) times the
-- row's weighted token sums; w_tps is per candidate the sum over the row's buckets of weight x its
-- median decode tok/s there (null where tps_bits has no bit). The official provider's and the
-- oracles' outcomes (core_routing__groups: official, cost_oracle, throughput_oracle) come summed
-- over the same requests: cost in USD, throughput as weight x tok/s.
-- Requests outside every segment (no candidate) keep a null seg_start and lists: excluded.
-- Every float sum adds its terms in ascending order (list_sum of a sorted list), as in
-- core_routing__daily, so a day's sums are the same bits whichever other days are replayed with
-- it and whichever thread saw which group: an increment's marts must equal a full rebuild's, and
-- a compensated sum (fsum) only nearly always is.
-- Reads the temporary tables `request_groups`, `groups` and `slots`.
with parts as (
    select
        r.date,
        r.model,
        r.application,
        r.seg_start,
        r.bucket,
        r.mask,
        g.excluded,
        r.requests / r.sample_rate as w,
        r.tool_requests / r.sample_rate as w_tools,
        cast(r.uncached_tokens as double) / r.sample_rate as w_uncached,
        cast(r.cached_tokens as double) / r.sample_rate as w_cached,
        cast(r.output_tokens as double) / r.sample_rate as w_output,
        (
            g.official_input_usd_per_mtok * cast(r.uncached_tokens as double)
            + g.official_cached_input_usd_per_mtok * cast(r.cached_tokens as double)
            + g.official_output_usd_per_mtok * cast(r.output_tokens as double)
        ) / 1e6 / r.sample_rate as official_cost,
        (
            g.cost_oracle_input_usd_per_mtok * cast(r.uncached_tokens as double)
            + g.cost_oracle_cached_input_usd_per_mtok * cast(r.cached_tokens as double)
            + g.cost_oracle_output_usd_per_mtok * cast(r.output_tokens as double)
        ) / 1e6 / r.sample_rate as cost_oracle_cost,
        g.official_decode_tps,
        g.throughput_oracle_decode_tps
    from request_groups as r
    inner join groups as g
        on
            g.date = r.date and g.model = r.model and g.seg_start = r.seg_start and g.bucket = r.bucket
            and g.mask = r.mask and g.ord = r.ord
),

per_bucket as (
    select
        date,
        model,
        application,
        seg_start,
        bucket,
        mask,
        any_value(excluded) as excluded,
        list_sum(list_sort(list(w))) as w,
        list_sum(list_sort(list(w_tools))) as w_tools,
        list_sum(list_sort(list(w_uncached))) as w_uncached,
        list_sum(list_sort(list(w_cached))) as w_cached,
        list_sum(list_sort(list(w_output))) as w_output,
        list_sum(list_sort(list(official_cost))) as official_cost,
        list_sum(list_sort(list(cost_oracle_cost))) as cost_oracle_cost,
        any_value(official_decode_tps) as official_tps,
        any_value(throughput_oracle_decode_tps) as oracle_tps
    from parts
    group by date, model, application, seg_start, bucket, mask
),

states as (
    select
        b.*,
        s.provider as providers,
        s.official_idx,
        s.input_price,
        s.cached_price,
        s.output_price,
        s.own_tps,
        b.mask & s.own_ok_bits as own_ok_bits,
        b.mask & s.prev_ok_bits as prev_ok_bits,
        b.mask & cast(list_sum(list_transform(
            range(1, len(s.provider) + 1), i -> if(s.own_tps[i] is not null, cast(1 as bigint) << (i - 1), cast(0 as bigint))
        )) as bigint) as tps_bits
    from per_bucket as b
    inner join slots as s on s.model = b.model and s.seg_start = b.seg_start and s.bucket = b.bucket
),

merged as (
    select
        date,
        model,
        application,
        seg_start,
        mask,
        own_ok_bits,
        prev_ok_bits,
        tps_bits,
        excluded,
        any_value(providers) as providers,
        any_value(official_idx) as official_idx,
        any_value(input_price) as input_price,
        any_value(cached_price) as cached_price,
        any_value(output_price) as output_price,
        list_sum(list_sort(list(w))) as w_requests,
        list_sum(list_sort(list(w_tools))) as w_tool_requests,
        list_sum(list_sort(list(w_uncached))) as w_uncached_tokens,
        list_sum(list_sort(list(w_cached))) as w_cached_tokens,
        list_sum(list_sort(list(w_output))) as w_output_tokens,
        list_sum(list_sort(list(official_cost))) as official_cost_usd,
        list_sum(list_sort(list(cost_oracle_cost))) as cost_oracle_cost_usd,
        list_sum(list_sort(list(w * official_tps))) as official_w_tps,
        list_sum(list_sort(list(w * oracle_tps))) as throughput_oracle_w_tps,
        list({'w': w, 'tps': own_tps}) as bucket_tps
    from states
    group by date, model, application, seg_start, mask, own_ok_bits, prev_ok_bits, tps_bits, excluded
)

select
    date,
    model,
    application,
    seg_start,
    providers,
    official_idx,
    mask,
    own_ok_bits,
    prev_ok_bits,
    tps_bits,
    excluded,
    w_requests,
    w_tool_requests,
    w_uncached_tokens,
    w_cached_tokens,
    w_output_tokens,
    input_price,
    cached_price,
    output_price,
    list_transform(range(1, len(providers) + 1), i -> if(
        (tps_bits >> (i - 1)) & 1 = 1, list_sum(list_sort(list_transform(bucket_tps, x -> x.w * x.tps[i]))), null
    )) as w_tps,
    official_cost_usd,
    official_w_tps,
    cost_oracle_cost_usd,
    throughput_oracle_w_tps
from merged
union all
-- requests outside every segment: no candidate, excluded
select
    date,
    model,
    application,
    null as seg_start,
    null as providers,
    null as official_idx,
    null as mask,
    null as own_ok_bits,
    null as prev_ok_bits,
    null as tps_bits,
    true as excluded,
    list_sum(list_sort(list(requests / sample_rate))) as w_requests,
    list_sum(list_sort(list(tool_requests / sample_rate))) as w_tool_requests,
    list_sum(list_sort(list(cast(uncached_tokens as double) / sample_rate))) as w_uncached_tokens,
    list_sum(list_sort(list(cast(cached_tokens as double) / sample_rate))) as w_cached_tokens,
    list_sum(list_sort(list(cast(output_tokens as double) / sample_rate))) as w_output_tokens,
    null as input_price,
    null as cached_price,
    null as output_price,
    null as w_tps,
    null as official_cost_usd,
    null as official_w_tps,
    null as cost_oracle_cost_usd,
    null as throughput_oracle_w_tps
from request_groups
where seg_start is null
group by date, model, application
