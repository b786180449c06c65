-- core_routing__segment_lists: one row per (model, segment) of the replayed models: the segment's
-- candidates as lists in provider order (list position = provider_idx, bit 2^(idx-1) of a fit
-- mask), which is all a request needs to find which providers fit it and in which order they
-- cost (sql/core/core_routing__request_groups.sql, and the view sql/views/routing_decisions.sql,
-- which reads this table as marts.routing_segments).
--   fit_list: context length (null: fits nothing) and output cap (null: none) per candidate;
--   min_context_length / min_max_output_tokens: a request within both fits every candidate
--     (the common case, decided without touching the list);
--   all_bits, tools_bits, json_mode_bits, streaming_bits: the candidates, and those supporting
--     each feature (a null flag counts as unsupported);
--   price_list: USD per million uncached input, cached input and output tokens and the global
--     provider_rank that breaks ties.
-- Reads the temporary table `segments` (core_routing__segments). A fit mask is a BIGINT: a
-- segment may hold at most 62 candidates (checked by pipeline/lib/routing/replay.py).
-- Parameters: $models (staged models), $model_filter (list of replayed models), $bucket_minutes.
with s as (
    select * from segments where list_contains($model_filter, model)
)

select
    s.model,
    s.seg_start,
    any_value(s.seg_end) as seg_end,
    cast($bucket_minutes as integer) as bucket_minutes,
    any_value(m.official_provider) as official_provider,
    max(s.provider_idx) filter (where s.provider = m.official_provider) as official_idx,
    count(*) as n_providers,
    list(s.provider order by s.provider_idx) as providers,
    list({
        'context_length': coalesce(cast(s.context_length as bigint), -1),
        'max_output_tokens': coalesce(cast(s.max_output_tokens as bigint), 9223372036854775807),
        'bit': cast(1 as bigint) << (s.provider_idx - 1)
    } order by s.provider_idx) as fit_list,
    min(coalesce(cast(s.context_length as bigint), -1)) as min_context_length,
    min(coalesce(cast(s.max_output_tokens as bigint), 9223372036854775807)) as min_max_output_tokens,
    cast(sum(cast(1 as bigint) << (s.provider_idx - 1)) as bigint) as all_bits,
    cast(coalesce(sum(cast(1 as bigint) << (s.provider_idx - 1)) filter (where s.supports_tools), 0) as bigint) as tools_bits,
    cast(coalesce(sum(cast(1 as bigint) << (s.provider_idx - 1)) filter (where s.supports_json_mode), 0) as bigint) as json_mode_bits,
    cast(coalesce(sum(cast(1 as bigint) << (s.provider_idx - 1)) filter (where s.supports_streaming), 0) as bigint) as streaming_bits,
    list({
        'input': s.input_usd_per_mtok,
        'cached': s.cached_input_usd_per_mtok,
        'output': s.output_usd_per_mtok,
        'rank': s.provider_rank
    } order by s.provider_idx) as price_list
from s
inner join read_parquet($models) as m on m.model = s.model
group by s.model, s.seg_start
