-- marts.half_life_summary: one row per quarter with a successor release: how many successor
-- variants were released in it, how many of them have a fitted half-life and how many have too
-- little data after the release for one, and the mean, shortest and longest of the fitted
-- half-lives: the figures the report's version inertia paragraph states. The mean is the plain
-- mean over the releases (marts.version_inertia_summary has it per family).
-- Parameters: $releases = marts.successor_releases.
select
    period,
    count(*) as successor_releases,
    count(half_life_days) as releases_with_half_life,
    count(*) - count(half_life_days) as releases_without_half_life,
    avg(half_life_days) as mean_half_life_days,
    min(half_life_days) as min_half_life_days,
    max(half_life_days) as max_half_life_days
from read_parquet($releases)
group by period
order by period
