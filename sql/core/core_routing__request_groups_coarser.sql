-- core_routing__request_groups_coarser: the request groups of a pass rolled up to a coarser time
-- bucket ($bucket_minutes, a multiple of the pass's own), for marts.routing_sensitivity. A fine
-- bucket lies inside one coarse bucket (both start on the same grid) and a request's fit mask and
-- cost order depend on its segment, not its bucket, so summing the fine groups gives the groups a
-- pass at the coarse size would count, without reading the requests again.
-- Reads the temporary table `request_groups_fine`. Parameters: $bucket_minutes.
select
    date,
    model,
    seg_start,
    time_bucket(to_minutes(cast($bucket_minutes as integer)), bucket) as bucket,
    sample_rate,
    mask,
    ord,
    pair_ord,
    pair_hit_share,
    cast(sum(requests) as bigint) as requests,
    cast(sum(imputed_requests) as bigint) as imputed_requests,
    cast(sum(uncached_tokens) as bigint) as uncached_tokens,
    cast(sum(cached_tokens) as bigint) as cached_tokens,
    cast(sum(output_tokens) as bigint) as output_tokens,
    sum(pair_ii) as pair_ii,
    sum(pair_ic) as pair_ic,
    sum(pair_io) as pair_io,
    sum(pair_cc) as pair_cc,
    sum(pair_co) as pair_co,
    sum(pair_oo) as pair_oo
from request_groups_fine
group by all
