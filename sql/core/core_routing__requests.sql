-- core_routing__requests: the logged requests of the routable models, one row per request, with
-- an integer key (the heavy steps group and join on it, not on request_id text) and the request's
-- slot: its model, the start of the model's segment in force when it started (an as-of join)
-- and its time bucket, numbered as `slot_id`. Reads the temporary tables `segments` and
-- `request_files` (every staged requests file with a fixed `file_index`).
-- Parameters: $requests (the files of one day), $models, $model_filter (list), $bucket_minutes.
with files as (
    select * from request_files
),

requests as (
    select
        (f.file_index << 32) + r.file_row_number as key,
        r.request_id,
        r.ts,
        r.date,
        month_label(r.date) as month,
        quarter_label(r.date) as quarter,
        r.model,
        1.0 / r.sample_rate as w,
        r.input_tokens - least(coalesce(r.cached_input_tokens, 0), r.input_tokens) as uncached_tokens,
        least(coalesce(r.cached_input_tokens, 0), r.input_tokens) as cached_tokens,
        r.output_tokens,
        r.tools,
        r.json_mode,
        r.stream,
        time_bucket(to_minutes($bucket_minutes), r.ts) as bucket,
        m.official_provider
    from read_parquet($requests, hive_partitioning = true, filename = true, file_row_number = true) as r
    inner join files as f on f.file = r.filename
    inner join read_parquet($models) as m on m.model = r.model
    where list_contains($model_filter, r.model)
),

placed as (
    select r.*, s.seg_start
    from requests as r
    asof left join (select distinct model, seg_start from segments) as s
        on r.model = s.model and r.ts >= s.seg_start
),

slot_ids as (
    select model, seg_start, bucket, row_number() over (order by model, seg_start, bucket) as slot_id
    from (select distinct model, seg_start, bucket from placed where seg_start is not null)
)

select p.*, i.slot_id
from placed as p
left join slot_ids as i on i.model = p.model and i.seg_start = p.seg_start and i.bucket = p.bucket
