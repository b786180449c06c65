-- marts.successor_releases: one row per successor pair (old_model, new_model), with the quarter
-- its successor was released in: the pair's pre-release share, fitted half-life and interval
-- (the same on every day of the pair in marts.version_inertia, here once), and the family's
-- demand still on superseded variants at the end of that quarter (marts.version_inertia_summary),
-- so that the report's table of the quarter's releases only formats rows.
-- A version_inertia from before the half-life intervals has no interval columns: they read as null.
-- Parameters: $inertia = marts.version_inertia, $inertia_summary = marts.version_inertia_summary.
with inertia as (
    select * from read_parquet($inertia)
    union all by name
    select null::double as half_life_ci_low, null::double as half_life_ci_high
    where false
),

pairs as (
    select
        quarter_label(release_date) as period,
        family,
        old_model,
        new_model,
        release_date,
        -- the pair's values, on its earliest day (every day carries the same)
        cast(first(pre_release_old_share order by days_since_release) as double) as pre_release_old_share,
        cast(first(half_life_days order by days_since_release) as double) as half_life_days,
        cast(first(half_life_ci_low order by days_since_release) as double) as half_life_ci_low,
        cast(first(half_life_ci_high order by days_since_release) as double) as half_life_ci_high
    from inertia
    group by all
)

select
    p.period,
    p.family,
    p.old_model,
    p.new_model,
    p.release_date,
    p.pre_release_old_share,
    p.half_life_days,
    p.half_life_ci_low,
    p.half_life_ci_high,
    s.superseded_share_last_7_days
from pairs as p
left join read_parquet($inertia_summary) as s on p.period = s.period and p.family = s.family
order by p.period, p.release_date, p.old_model, p.new_model
