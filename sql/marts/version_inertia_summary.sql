-- marts.version_inertia_summary: one row per (period, family) for quarters: successor pairs
-- released in the quarter, their mean half-life, and how much of the family's demand in the
-- quarter's last 7 days still sits on superseded variants (a variant is superseded from the
-- first release of a model naming it as successor_of).
-- Parameters: $daily = core_demand__daily, $models = staged models, $inertia = version_inertia.
with daily as (
    select *, quarter as period from read_parquet($daily)
),

superseded as (
    select successor_of as model, min(release_date) as superseded_on
    from read_parquet($models) where successor_of is not null group by all
),

quarter_end as (
    select period, max(date) as last_day from daily group by all
),

tail as (
    select d.period, d.family, sum(d.requests) as requests,
           sum(d.requests) filter (where s.superseded_on <= d.date) as superseded_requests
    from daily as d
    inner join quarter_end as q on q.period = d.period and d.date > q.last_day - 7
    left join superseded as s on s.model = d.model
    group by all
),

pairs as (
    select q.period, family,
           count(distinct new_model) as successor_releases,
           avg(half_life_days) as mean_half_life_days,
           count(distinct new_model) filter (where half_life_days is null) as releases_without_half_life
    from (select distinct family, old_model, new_model, release_date, half_life_days from read_parquet($inertia)) as i
    inner join (select distinct date, period from daily) as q on q.date = i.release_date
    group by all
)

select
    t.period, t.family,
    coalesce(p.successor_releases, 0) as successor_releases,
    p.mean_half_life_days,
    coalesce(p.releases_without_half_life, 0) as releases_without_half_life,
    coalesce(t.superseded_requests, 0) / t.requests as superseded_share_last_7_days
from tail as t
left join pairs as p using (period, family)
order by t.period, superseded_share_last_7_days desc, t.family
