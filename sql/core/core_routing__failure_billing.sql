-- core_routing__failure_billing: whether a failed attempt costs money (issue 17). The policy
-- sort_price_with_retries pays for the attempts that fail before one succeeds (or before it gives
-- up) where the provider bills them: a failed attempt is billed its request's input tokens at the
-- provider's prices with the chance `billed_share`, the weighted share of the provider's logged
-- failures that carry billed input tokens (the contract's token counts are "usage as billed").
-- Failures are every error but the caller's own (auth, invalid_request: README, error classes),
-- as the replay's chance of failure (1 - the bucket's probe success) counts every failed probe.
-- Output tokens of a failed attempt are not billed (a failure returns none to bill).
-- A provider's share comes from its own failures of the day, over all its models (billing is a
-- provider's policy, not a model's), when there are at least $min_reporting of them; else from
-- every failure logged that day (the day's typical provider); else 0 (basis 'none': no failure
-- logged, nothing known to be billed). The day is the scope so that a day's replay reads only that
-- day's requests (as core_routing__cache_rates); it reads every model's requests of the day, so the
-- shares are the same whichever models a replay covers.
-- One row per date with enough failures (a day without has no row: basis 'none'): `by_provider` maps each provider with enough failures to its share;
-- `day_share` is the day's (null when too few).
-- Parameters: $requests (files), $min_reporting.
with failed as (
    select
        date,
        provider,
        1.0 / sample_rate as w,
        input_tokens > 0 as billed
    from read_parquet($requests, hive_partitioning = true)
    where status = 'error' and coalesce(error_type, 'other') not in ('auth', 'invalid_request')
),

levels as (
    select
        date,
        provider,
        grouping_id(provider) as level,
        count(*) as n,
        -- sorted sums: the same bits whichever thread saw which row (an increment equals a rebuild)
        coalesce(list_sum(list_sort(list(w) filter (where billed))), 0) / list_sum(list_sort(list(w))) as billed_share
    from failed
    group by grouping sets ((date, provider), (date))
    having count(*) >= $min_reporting
)

select
    date,
    coalesce(
        map_from_entries(list({'key': provider, 'value': billed_share}) filter (where level = 0)),
        map_from_entries([]::struct(key varchar, value double)[])
    ) as by_provider,
    any_value(billed_share) filter (where level = 1) as day_share
from levels
group by date
