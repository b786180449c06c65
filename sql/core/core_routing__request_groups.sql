-- core_routing__request_groups: the one pass over the logged requests. Every request of the
-- replayed models and days lands in its slot's piece (model, segment in force when it started,
-- time bucket: core_routing__pieces) and gets two small keys that decide every policy's choice
-- there:
--   mask: the candidates that fit it (contract, section 3: context_length >= input + output,
--     output <= max_output_tokens when set, tools / json mode / streaming supported when the
--     request used them), one bit per candidate (bit 2^(idx-1));
--   ord: the candidates in the order of what the request costs on each, cheapest first (list of
--     provider_idx). Cost is linear in the request's tokens (uncached input, cached input,
--     output), so the order is computed from the slot's price vectors alone; the key is the
--     replay's cost key: cost x (1 + rank x 1e-14) + rank x 1e-300, so equal costs (zeros
--     included) go to the provider first by name.
-- Requests are then counted per (day, slot, sample_rate, mask, ord, pair_ord, pair_hit_share,
-- application) with exact integer token sums; the application (null -> 'unknown') and the count of
-- requests that used tools (tool_requests) are for the learned recommendations
-- (core_routing__application_daily): every other table sums over it
-- (no float is summed here, so a day's groups are the same whatever else is replayed with it and
-- whatever order the threads add in). A request outside every segment (no candidate had an
-- endpoint and a price) keeps null seg_start, mask and ord: it is excluded.
-- The same mask and ord are computed per request by the view marts.routing_decisions
-- (sql/views/routing_decisions.sql): keep the two expressions identical.
-- A request whose cached_input_tokens is null has its cache hits estimated (issue 14,
-- core_routing__cache_rates): it is replayed as two parts, a hit with round(input_tokens x s)
-- cached tokens and a miss with none, weighing hit_share and 1 - hit_share of
-- the request (their sample rates are the request's divided by those; a part that weighs 0 is
-- left out). s is one of the 20 strata of the hits' shares of the cell (hit_cached_shares), the
-- (1 + hash of the request id mod 20)-th: over many requests the hits take the cell's spread of
-- shares, not their mean (which part of a request is cheaper where turns on it), and the same
-- request gets the same stratum in every run and in the view. Every weighted sum stays a sum over
-- requests. `requests` and imputed_requests count
-- parts; logged_requests counts each logged request once (on its first part).
-- Which part the request really was is unknown, and that uncertainty is not in the day bootstrap:
-- the hit part of a request with both parts also carries pair_ord (its miss part's cost order) and
-- pair_hit_share (its hit_share), and its group sums the products of its (input, cached, output)
-- tokens (pair_*), from which core_routing__daily works out the variance the unknown hits add
-- (exactly: a request's cost on a policy's provider is linear in its tokens).
-- Reads the temporary tables `pieces` and `cache_rates`. Parameters: $requests (files),
-- $model_filter (list), $bucket_minutes.
with logged as (
    select
        r.*,
        time_bucket(to_minutes(cast($bucket_minutes as integer)), r.ts) as bucket,
        coalesce(c.hit_share, 0.0) as hit_share,
        -- a hit's share of cached input: one of the cell's strata, picked by the request id's hash
        case when r.cached_input_tokens is null then
            c.hit_cached_shares[cast(1 + cast(('0x' || left(md5(r.request_id), 8)) as ubigint) % len(c.hit_cached_shares) as bigint)]
        end as hit_cached_share
    from read_parquet($requests, hive_partitioning = true) as r
    left join cache_rates as c on c.date = r.date and c.model = r.model and c.application = coalesce(r.application, '')
    where list_contains($model_filter, r.model)
),

placed as (
    select r.*, p.seg_start, p.fit_list, p.price_list, p.min_context_length, p.min_max_output_tokens,
           p.all_bits, p.tools_bits, p.json_mode_bits, p.streaming_bits
    from logged as r
    left join pieces as p
        on p.model = r.model and p.bucket = r.bucket and r.ts >= p.piece_start and r.ts < p.piece_end
),

-- the request's cached tokens: as logged, or for an estimated one as a hit (the miss has none)
tokens as (
    select
        *,
        cached_input_tokens is null as imputed,
        least(coalesce(cached_input_tokens, cast(round(input_tokens * hit_cached_share) as bigint), 0), input_tokens) as cached_tokens
    from placed
),

keyed as (
    select
        date,
        model,
        coalesce(application, 'unknown') as application,
        tools,
        seg_start,
        bucket,
        sample_rate,
        hit_share,
        imputed,
        input_tokens,
        cached_tokens,
        output_tokens,
        -- the fit does not depend on how many input tokens are cached
        case when seg_start is not null then
            case
                when cast(input_tokens as hugeint) + output_tokens <= min_context_length
                    and output_tokens <= min_max_output_tokens then all_bits
                else cast(list_sum(list_transform(fit_list, e -> if(
                    e.context_length >= cast(input_tokens as hugeint) + output_tokens
                        and output_tokens <= e.max_output_tokens, e.bit, 0))) as bigint)
            end
            & if(tools, tools_bits, all_bits) & if(json_mode, json_mode_bits, all_bits) & if(stream, streaming_bits, all_bits)
        end as mask,
        case when seg_start is not null then
            list_grade_up(list_transform(price_list, p ->
                (((input_tokens - cached_tokens) * p.input + cached_tokens * p.cached) + output_tokens * p.output) / 1e6
                    * (1 + p.rank * 1e-14) + p.rank * 1e-300))
        end as ord,
        -- an estimated request's miss part: the same expression with no input token cached
        case when seg_start is not null and imputed then
            list_grade_up(list_transform(price_list, p ->
                ((input_tokens * p.input + 0 * p.cached) + output_tokens * p.output) / 1e6
                    * (1 + p.rank * 1e-14) + p.rank * 1e-300))
        end as miss_ord
    from tokens
),

parts as (
    select
        * exclude (part, sample_rate, cached_tokens, ord, miss_ord),
        -- part is a struct column: its fields (sqlfluff reads part.* as a table's)
        part.*  -- noqa: RF01
    from (
        select
            *,
            unnest(case
                when not imputed then [{'sample_rate': sample_rate, 'cached_tokens': cached_tokens, 'ord': ord,
                                        'is_first': true, 'pair_ord': null, 'pair_hit_share': null::double}]
                else list_filter([
                    {'sample_rate': if(hit_share > 0, sample_rate / hit_share, null), 'cached_tokens': cached_tokens, 'ord': ord,
                     'is_first': true, 'pair_ord': if(hit_share > 0 and hit_share < 1, miss_ord, null),
                     'pair_hit_share': if(hit_share > 0 and hit_share < 1, hit_share, null)},
                    {'sample_rate': if(hit_share < 1, sample_rate / (1 - hit_share), null), 'cached_tokens': cast(0 as bigint),
                     'ord': miss_ord, 'is_first': hit_share <= 0, 'pair_ord': null, 'pair_hit_share': null}
                ], p -> p.sample_rate is not null)
            end) as part
        from keyed
    ) as unnested
)

select
    date,
    model,
    seg_start,
    bucket,
    sample_rate,
    mask,
    ord,
    pair_ord,
    pair_hit_share,
    application,
    count(*) as requests,
    count(*) filter (where tools) as tool_requests,
    count(*) filter (where is_first) as logged_requests,
    count(*) filter (where imputed) as imputed_requests,
    sum(input_tokens - cached_tokens) as uncached_tokens,
    sum(cached_tokens) as cached_tokens,
    sum(output_tokens) as output_tokens,
    -- (input, cached, output) products of the paired hit parts, exact in integers; a count past
    -- 2^40 tokens (beyond any real context: such a request is excluded) is taken as 2^40, so no
    -- sum can overflow
    sum(cast(least(input_tokens, 1099511627776) as hugeint) * least(input_tokens, 1099511627776))
        filter (where pair_hit_share is not null) as pair_ii,
    sum(cast(least(input_tokens, 1099511627776) as hugeint) * least(cached_tokens, 1099511627776))
        filter (where pair_hit_share is not null) as pair_ic,
    sum(cast(least(input_tokens, 1099511627776) as hugeint) * least(output_tokens, 1099511627776))
        filter (where pair_hit_share is not null) as pair_io,
    sum(cast(least(cached_tokens, 1099511627776) as hugeint) * least(cached_tokens, 1099511627776))
        filter (where pair_hit_share is not null) as pair_cc,
    sum(cast(least(cached_tokens, 1099511627776) as hugeint) * least(output_tokens, 1099511627776))
        filter (where pair_hit_share is not null) as pair_co,
    sum(cast(least(output_tokens, 1099511627776) as hugeint) * least(output_tokens, 1099511627776))
        filter (where pair_hit_share is not null) as pair_oo
from parts
group by all
