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
-- Requests are then counted per (day, slot, sample_rate, mask, ord) with exact integer token sums
-- (no float is summed here, so a day's groups are the same whatever else is replayed with it and
-- whatever order the threads add in). A request outside every segment (no candidate had an
-- endpoint and a price) keeps null seg_start, mask and ord: it is excluded.
-- The same mask and ord are computed per request by the view marts.routing_decisions
-- (sql/views/routing_decisions.sql): keep the two expressions identical.
-- A request whose cached_input_tokens is null has its cache hits estimated (issue 14):
-- round(input_tokens x cached_share) of its day, model and application (core_routing__cache_rates);
-- imputed_requests counts them.
-- Reads the temporary tables `pieces` and `cache_rates`. Parameters: $requests (files),
-- $model_filter (list), $bucket_minutes.
with requests as (
    select
        r.date,
        r.model,
        r.ts,
        r.sample_rate,
        r.input_tokens - least(coalesce(r.cached_input_tokens, cast(round(r.input_tokens * c.cached_share) as bigint), 0), r.input_tokens)
            as uncached_tokens,
        least(coalesce(r.cached_input_tokens, cast(round(r.input_tokens * c.cached_share) as bigint), 0), r.input_tokens) as cached_tokens,
        r.cached_input_tokens is null as imputed,
        r.output_tokens,
        r.tools,
        r.json_mode,
        r.stream,
        time_bucket(to_minutes(cast($bucket_minutes as integer)), r.ts) as bucket
    from read_parquet($requests, hive_partitioning = true) as r
    left join cache_rates as c on c.date = r.date and c.model = r.model and c.application = coalesce(r.application, '')
    where list_contains($model_filter, r.model)
),

placed as (
    select r.*, p.seg_start, p.fit_list, p.price_list, p.min_context_length, p.min_max_output_tokens,
           p.all_bits, p.tools_bits, p.json_mode_bits, p.streaming_bits
    from requests as r
    left join pieces as p
        on p.model = r.model and p.bucket = r.bucket and r.ts >= p.piece_start and r.ts < p.piece_end
),

keyed as (
    select
        date,
        model,
        seg_start,
        bucket,
        sample_rate,
        uncached_tokens,
        cached_tokens,
        output_tokens,
        imputed,
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
    from placed
)

select
    date,
    model,
    seg_start,
    bucket,
    sample_rate,
    mask,
    ord,
    count(*) as requests,
    count(*) filter (where imputed) as imputed_requests,
    sum(uncached_tokens) as uncached_tokens,
    sum(cached_tokens) as cached_tokens,
    sum(output_tokens) as output_tokens
from keyed
group by all
