-- marts.routing_decisions (a view in the warehouse file): one row per (request, cache part,
-- policy), computed on demand from the staged requests and the grouped decisions. Columns:
-- request_id, date, model, cache_part, w (1 / sample_rate, or the part's share of it), excluded,
-- policy, provider, cost_usd, decode_tps, ttft_ms, success_prob, for the policies of
-- pipeline/lib/routing/settings.py POLICIES (one row each per group in marts.routing_groups).
-- Each request of a replayed model finds its segment (marts.routing_segments: the candidates in
-- force when it started) and time bucket, works out its fit mask and the cost order of the
-- candidates with the same expressions as sql/core/core_routing__request_groups.sql, and
-- joins its group in marts.routing_groups: the group's provider, throughput, TTFT and success
-- are the request's, and its cost is the group's effective prices applied to its own tokens.
-- A filter on request_id, date or model is pushed into the staged requests, so one request is
-- quick; the whole quarter recomputes every request's keys (minutes at 100M requests x 8 policies).
-- Cache hits a request's log does not show are estimated as the replay does, from the day's rates
-- in marts.routing_cache_rates: such a request has two rows per policy, cache_part 'hit' and
-- 'miss', whose w (hit_share and 1 - hit_share of 1 / sample_rate) add up to the request's; a
-- request that reports them has one, cache_part 'logged'. Sums of w x a value are the replay's.
-- A cost past the float range (2^62 tokens at 1e308 USD/Mtok) is null, as in every mart.
with segments as (
    select * from marts.routing_segments
),

logged as (
    select
        r.*,
        coalesce(c.hit_share, 0.0) as hit_share,
        -- a hit's share: the stratum the request id's hash picks, as in the replay
        least(coalesce(r.cached_input_tokens, cast(round(r.input_tokens
            * c.hit_cached_shares[cast(1 + cast(('0x' || left(md5(r.request_id), 8)) as ubigint) % len(c.hit_cached_shares) as bigint)]) as bigint), 0),
            r.input_tokens) as hit_cached_tokens
    from staging.requests as r
    left join marts.routing_cache_rates as c on c.date = r.date and c.model = r.model and c.application = coalesce(r.application, '')
    where r.model in (select model from segments)
),

-- a request that reports its cache hits is one row; one that does not is its hit part and its miss
-- part, each with its share of the request's weight (as the replay takes them)
requests as (
    select
        request_id,
        date,
        model,
        ts,
        -- part is a struct column (sqlfluff reads part.x as a table's column)
        part.cache_part,  -- noqa: RF01
        part.w,  -- noqa: RF01
        input_tokens - part.cached_tokens as uncached_tokens,  -- noqa: RF01
        part.cached_tokens,  -- noqa: RF01
        output_tokens,
        tools,
        json_mode,
        stream,
        time_bucket(to_minutes((select any_value(bucket_minutes) from segments)), ts) as bucket
    from (
        select
            *,
            unnest(case
                when cached_input_tokens is not null then
                    [{'cache_part': 'logged', 'w': 1.0 / sample_rate, 'cached_tokens': hit_cached_tokens}]
                else list_filter([
                    {'cache_part': 'hit', 'w': if(hit_share > 0, 1.0 / (sample_rate / hit_share), null), 'cached_tokens': hit_cached_tokens},
                    {'cache_part': 'miss', 'w': if(hit_share < 1, 1.0 / (sample_rate / (1 - hit_share)), null), 'cached_tokens': cast(0 as bigint)}
                ], p -> p.w is not null)
            end) as part
        from logged
    ) as parts
),

placed as (
    select r.*, s.seg_start, s.seg_end, s.fit_list, s.price_list, s.min_context_length, s.min_max_output_tokens,
           s.all_bits, s.tools_bits, s.json_mode_bits, s.streaming_bits
    from requests as r
    asof left join segments as s on s.model = r.model and r.ts >= s.seg_start
),

-- a request after the end of the last segment that starts before it is in no segment
in_force as (
    select * replace (if(seg_end is null or ts < seg_end, seg_start, null) as seg_start)
    from placed
),

keyed as (
    select
        *,
        case when seg_start is not null then
            case
                when cast(uncached_tokens as hugeint) + cached_tokens + output_tokens <= min_context_length
                    and output_tokens <= min_max_output_tokens then all_bits
                else cast(list_sum(list_transform(fit_list, e -> if(
                    e.context_length >= cast(uncached_tokens as hugeint) + cached_tokens + output_tokens
                        and output_tokens <= e.max_output_tokens, e.bit, 0))) as bigint)
            end
            & if(tools, tools_bits, all_bits) & if(json_mode, json_mode_bits, all_bits) & if(stream, streaming_bits, all_bits)
        end as mask,
        case when seg_start is not null then
            list_grade_up(list_transform(price_list, p ->
                ((uncached_tokens * p.input + cached_tokens * p.cached) + output_tokens * p.output) / 1e6
                    * (1 + p.rank * 1e-14) + p.rank * 1e-300))
        end as ord
    from in_force
),

grouped as (
    select * from keyed
),

decided as (
    select
        k.request_id,
        k.date,
        k.model,
        k.cache_part,
        k.w,
        g.excluded,
        k.uncached_tokens,
        k.cached_tokens,
        k.output_tokens,
        unnest([
            {'policy': 'official', 'provider': g.official_provider, 'input': g.official_input_usd_per_mtok, 'cached': g.official_cached_input_usd_per_mtok,
             'output': g.official_output_usd_per_mtok, 'tps': g.official_decode_tps, 'ttft': g.official_ttft_ms, 'success': g.official_success_prob},
            {'policy': 'cost_oracle', 'provider': g.cost_oracle_provider, 'input': g.cost_oracle_input_usd_per_mtok,
             'cached': g.cost_oracle_cached_input_usd_per_mtok,
             'output': g.cost_oracle_output_usd_per_mtok, 'tps': g.cost_oracle_decode_tps, 'ttft': g.cost_oracle_ttft_ms,
                 'success': g.cost_oracle_success_prob},
            {'policy': 'throughput_oracle', 'provider': g.throughput_oracle_provider, 'input': g.throughput_oracle_input_usd_per_mtok,
             'cached': g.throughput_oracle_cached_input_usd_per_mtok,
             'output': g.throughput_oracle_output_usd_per_mtok, 'tps': g.throughput_oracle_decode_tps, 'ttft': g.throughput_oracle_ttft_ms,
                 'success': g.throughput_oracle_success_prob},
            {'policy': 'cheapest', 'provider': g.cheapest_provider, 'input': g.cheapest_input_usd_per_mtok, 'cached': g.cheapest_cached_input_usd_per_mtok,
             'output': g.cheapest_output_usd_per_mtok, 'tps': g.cheapest_decode_tps, 'ttft': g.cheapest_ttft_ms, 'success': g.cheapest_success_prob},
            {'policy': 'fastest', 'provider': g.fastest_provider, 'input': g.fastest_input_usd_per_mtok, 'cached': g.fastest_cached_input_usd_per_mtok,
             'output': g.fastest_output_usd_per_mtok, 'tps': g.fastest_decode_tps, 'ttft': g.fastest_ttft_ms, 'success': g.fastest_success_prob},
            {'policy': 'lowest_p90_ttft', 'provider': g.lowest_p90_ttft_provider, 'input': g.lowest_p90_ttft_input_usd_per_mtok,
             'cached': g.lowest_p90_ttft_cached_input_usd_per_mtok,
             'output': g.lowest_p90_ttft_output_usd_per_mtok, 'tps': g.lowest_p90_ttft_decode_tps, 'ttft': g.lowest_p90_ttft_ttft_ms,
                 'success': g.lowest_p90_ttft_success_prob},
            {'policy': 'sort_price_with_retries', 'provider': g.sort_price_with_retries_provider,
             'input': g.sort_price_with_retries_input_usd_per_mtok, 'cached': g.sort_price_with_retries_cached_input_usd_per_mtok,
             'output': g.sort_price_with_retries_output_usd_per_mtok, 'tps': g.sort_price_with_retries_decode_tps,
                 'ttft': g.sort_price_with_retries_ttft_ms, 'success': g.sort_price_with_retries_success_prob},
            {'policy': 'price_weighted_balance', 'provider': g.price_weighted_balance_provider,
             'input': g.price_weighted_balance_input_usd_per_mtok, 'cached': g.price_weighted_balance_cached_input_usd_per_mtok,
             'output': g.price_weighted_balance_output_usd_per_mtok, 'tps': g.price_weighted_balance_decode_tps,
                 'ttft': g.price_weighted_balance_ttft_ms, 'success': g.price_weighted_balance_success_prob},
            {'policy': 'cheapest_list_price', 'provider': g.cheapest_list_price_provider,
             'input': g.cheapest_list_price_input_usd_per_mtok, 'cached': g.cheapest_list_price_cached_input_usd_per_mtok,
             'output': g.cheapest_list_price_output_usd_per_mtok, 'tps': g.cheapest_list_price_decode_tps,
                 'ttft': g.cheapest_list_price_ttft_ms, 'success': g.cheapest_list_price_success_prob},
            {'policy': 'frozen_cheapest', 'provider': g.frozen_cheapest_provider,
             'input': g.frozen_cheapest_input_usd_per_mtok, 'cached': g.frozen_cheapest_cached_input_usd_per_mtok,
             'output': g.frozen_cheapest_output_usd_per_mtok, 'tps': g.frozen_cheapest_decode_tps,
                 'ttft': g.frozen_cheapest_ttft_ms, 'success': g.frozen_cheapest_success_prob},
            {'policy': 'frozen_fastest', 'provider': g.frozen_fastest_provider,
             'input': g.frozen_fastest_input_usd_per_mtok, 'cached': g.frozen_fastest_cached_input_usd_per_mtok,
             'output': g.frozen_fastest_output_usd_per_mtok, 'tps': g.frozen_fastest_decode_tps,
                 'ttft': g.frozen_fastest_ttft_ms, 'success': g.frozen_fastest_success_prob}
        ]) as o
    from grouped as k
    inner join marts.routing_groups as g
        on g.date = k.date and g.model = k.model and g.bucket = k.bucket
        and g.seg_start is not distinct from k.seg_start and g.mask is not distinct from k.mask
        and g.ord is not distinct from k.ord
),

costed as (
    select *, (o.input * uncached_tokens + o.cached * cached_tokens + o.output * output_tokens) / 1e6 as cost_usd
    from decided
)

select
    request_id,
    date,
    model,
    cache_part,
    w,
    excluded,
    o.policy,
    o.provider,
    case when isfinite(cost_usd) then cost_usd end as cost_usd,
    o.tps as decode_tps,
    o.ttft as ttft_ms,
    o.success as success_prob
from costed
