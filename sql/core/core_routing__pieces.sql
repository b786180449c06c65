-- core_routing__pieces: where a request of the replayed days finds its slot. One row per (model,
-- segment, time bucket) overlapping the days: the part of the bucket in which the segment is in
-- force, [piece_start, piece_end), with the segment's lists (core_routing__segment_lists). A
-- request joins its piece on (model, bucket) with piece_start <= ts < piece_end: one hash join,
-- no as-of join; a bucket in which a price or an endpoint changes has one piece per segment.
-- Buckets are $bucket_minutes wide and aligned as time_bucket aligns them, so a bucket may start
-- on the day before (90-minute buckets straddle midnight).
-- Reads the temporary table `segment_lists`. Parameters: $days (list of dates), $bucket_minutes.
with days as (
    select unnest(cast($days as date[])) as day
),

buckets as (
    select distinct unnest(generate_series(
        time_bucket(to_minutes(cast($bucket_minutes as integer)), cast(day as timestamp)),
        cast(day as timestamp) + interval 1 day - interval 1 microsecond,
        to_minutes(cast($bucket_minutes as integer))
    )) as bucket
    from days
)

select
    s.*,
    b.bucket,
    greatest(s.seg_start, b.bucket) as piece_start,
    least(coalesce(s.seg_end, cast('infinity' as timestamp)), b.bucket + to_minutes(cast($bucket_minutes as integer))) as piece_end
from segment_lists as s
inner join buckets as b
    on b.bucket < coalesce(s.seg_end, cast('infinity' as timestamp))
    and b.bucket + to_minutes(cast($bucket_minutes as integer)) > s.seg_start
