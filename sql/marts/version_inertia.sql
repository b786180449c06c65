-- marts.version_inertia: one row per (successor pair, day since release) from -$before to
-- +$after days, within the days the data covers.
-- old_share = demand(old) / (demand(old) + demand(new)) that day (weighted requests; null
-- when neither has demand); pre_release_old_share = its mean over days -7..-1;
-- half_life_first_below_days = first day d >= 0 at which old_share falls to half of that (null
-- if that never happens within the data). Every day to the last day of the data is returned:
-- the fitted half-life (pipeline/lib/inertia.py) uses them all, and only days up to $after are
-- published.
-- Pairs: models whose successor_of names another model of the drop and whose days 0..+$after
-- overlap the data. A pair released before the data's first day has its shares but no
-- pre-release mean, so no half-life.
-- Parameters: $daily = core_demand__daily, $models = staged models, $before, $after.
with models as (
    select * from read_parquet($models)
),

demand as (
    select date, model, sum(requests) as requests from read_parquet($daily) group by all
),

span as (
    select min(date) as first_day, max(date) as last_day from demand
),

pairs as (
    select n.family, n.successor_of as old_model, n.model as new_model, n.release_date
    from models as n
    inner join models as o on o.model = n.successor_of
    cross join span
    where n.release_date between span.first_day - cast($after as integer) and span.last_day
),

days as (
    select
        p.*,
        unnest(range(-$before, greatest(date_diff('day', p.release_date, span.last_day), $after) + 1)) as days_since_release
    from pairs as p
    cross join span
),

series as (
    select
        p.family, p.old_model, p.new_model, p.release_date,
        p.days_since_release,
        cast(p.release_date + cast(p.days_since_release as integer) as date) as date,
        coalesce(o.requests, 0) as old_requests,
        coalesce(n.requests, 0) as new_requests
    from days as p
    cross join span
    left join demand as o on o.model = p.old_model and o.date = p.release_date + cast(p.days_since_release as integer)
    left join demand as n on n.model = p.new_model and n.date = p.release_date + cast(p.days_since_release as integer)
    where p.release_date + cast(p.days_since_release as integer) between span.first_day and span.last_day
),

shares as (
    select *, old_requests / nullif(old_requests + new_requests, 0) as old_share from series
),

half_life as (
    select
        s.old_model, s.new_model,
        min(s.days_since_release) filter (where s.days_since_release >= 0 and s.old_share <= 0.5 * b.pre_mean) as half_life_first_below_days,
        any_value(b.pre_mean) as pre_release_old_share
    from shares as s
    left join (
        select old_model, new_model, avg(old_share) as pre_mean
        from shares where days_since_release between -7 and -1 group by all
    ) as b using (old_model, new_model)
    group by all
)

select s.*, h.pre_release_old_share, h.half_life_first_below_days
from shares as s
inner join half_life as h using (old_model, new_model)
order by s.family, s.release_date, s.old_model, s.days_since_release
