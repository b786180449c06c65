-- core_routing__cache_rates: the cache hits a log cannot show, estimated (issue 14). A request
-- whose cached_input_tokens is null (its provider does not report or bill cache hits) would
-- still hit the cache elsewhere. Whether and how much it hits decides where it is cheapest, so
-- it is not costed at the average share (that understates what routing saves): the replay takes
-- it as a hit with chance hit_share and as a miss otherwise (core_routing__request_groups), from
-- the requests of the same day that report a count:
--   hit_share: the weighted share of them with cached_input_tokens > 0;
--   hit_cached_share: the weighted cached / input tokens among those hits;
--   hit_cached_shares: the spread of the hits' cached / input, 20 strata (the quantiles at their
--     midpoints, unweighted), scaled so that their mean is hit_cached_share (at most 1); a hit
--     part takes the stratum its request id's hash picks;
--   cached_share: the weighted cached / input tokens among all of them (what the mixture
--     reproduces on average), kept for the analyst.
-- From the finest of these cells with at least $min_reporting reporting requests (with input):
-- (model, application), then the model, then the application, then the whole day; with none, no
-- hits (basis 'none'). The day is the cell's time scope so that a day's replay reads only that
-- day's requests; the day bootstrap of the routing intervals then resamples the days' estimates
-- with their days, which carries their sampling noise into the intervals.
-- The rates read every model's requests of the day, not only the replayed ones, so a day's rates
-- are the same whichever models a replay covers (simulate replays one).
-- One row per (date, model, application) among the pass's requests.
-- Parameters: $requests (files), $min_reporting.
with requests as (
    select
        date,
        model,
        coalesce(application, '') as application,
        1.0 / sample_rate as w,
        input_tokens,
        -- least() skips nulls in DuckDB: keep a missing count missing
        if(cached_input_tokens is null, null, least(cached_input_tokens, input_tokens)) as cached_tokens
    from read_parquet($requests, hive_partitioning = true)
),

-- the requests that report a count (with input), and their hits' cached / input shares
reporting as (
    select * from requests
    where cached_tokens is not null and input_tokens > 0
),

hits as (
    select
        date,
        model,
        application,
        cached_tokens / input_tokens as cached_ratio
    from reporting
    where cached_tokens > 0
),

-- one row per cell of every level; the level is which keys the cell leaves out (grouping_id's
-- bits): 0 (model, application), 1 (model), 2 (application), 3 (the day)
levels as (
    select
        date,
        model,
        application,
        grouping_id(model, application) as level,
        count(*) as n,
        sum(w * cached_tokens) / sum(w * input_tokens) as cached_share,
        sum(w) filter (where cached_tokens > 0) / sum(w) as hit_share,
        sum(w * cached_tokens) filter (where cached_tokens > 0) / sum(w * input_tokens) filter (where cached_tokens > 0)
            as hit_cached_share
    from reporting
    group by grouping sets ((date, model, application), (date, model), (date, application), (date))
),

cells as (
    select distinct date, model, application from requests
),

-- the finest level with enough reporting requests
chosen as (
    select c.date, c.model, c.application, arg_min(l, l.level) as pick
    from cells as c
    inner join levels as l
        on l.date = c.date
        and (l.model = c.model or l.level in (2, 3))
        and (l.application = c.application or l.level in (1, 3))
    where l.n >= $min_reporting
    group by all
),

-- the spread of the hits' shares only in the cells some request takes its rates from: the
-- quantiles are the costly part, and most requests take the finest cell (pick.x as x names a
-- struct field, not the column itself: the noqa)
needed as (
    select distinct
        date,
        pick.level as level,  -- noqa: AL09
        pick.model as model,  -- noqa: AL09
        pick.application as application  -- noqa: AL09
    from chosen
),

spread as (
    select
        u.date,
        u.level,
        u.model,
        u.application,
        quantile_cont(u.cached_ratio, [
            0.025, 0.075, 0.125, 0.175, 0.225, 0.275, 0.325, 0.375, 0.425, 0.475,
            0.525, 0.575, 0.625, 0.675, 0.725, 0.775, 0.825, 0.875, 0.925, 0.975
        ]) as hit_share_quantiles
    from (
        select n.date, n.level, n.model, n.application, h.cached_ratio
        from needed as n
        inner join hits as h on n.date = h.date and n.model = h.model and n.application = h.application
        where n.level = 0
        union all
        select n.date, n.level, n.model, n.application, h.cached_ratio
        from needed as n inner join hits as h on n.date = h.date and n.model = h.model
        where n.level = 1
        union all
        select n.date, n.level, n.model, n.application, h.cached_ratio
        from needed as n inner join hits as h on n.date = h.date and n.application = h.application
        where n.level = 2
        union all
        select n.date, n.level, n.model, n.application, h.cached_ratio
        from needed as n inner join hits as h on n.date = h.date
        where n.level = 3
    ) as u
    group by all
),

picked as (
    select
        ch.date,
        ch.model,
        ch.application,
        ch.pick,
        s.hit_share_quantiles
    from chosen as ch
    left join spread as s
        on ch.date = s.date
        and ch.pick.level = s.level
        and ch.pick.model is not distinct from s.model
        and ch.pick.application is not distinct from s.application
)

select
    c.date,
    c.model,
    c.application,
    coalesce(p.pick.cached_share, 0.0) as cached_share,
    coalesce(p.pick.hit_share, 0.0) as hit_share,
    p.pick.hit_cached_share,
    -- the spread of the hits' shares (the midpoints of 20 equal strata), scaled to the weighted mean
    list_transform(p.hit_share_quantiles,
        q -> least(q * p.pick.hit_cached_share / list_avg(p.hit_share_quantiles), 1.0)) as hit_cached_shares,
    coalesce(['model_application', 'model', 'application', 'day'][p.pick.level + 1], 'none') as basis,
    coalesce(p.pick.n, 0) as reporting_requests
from cells as c
-- (sqlfluff reads p.pick.x as schema.table.column, so p as unused)
left join picked as p using (date, model, application)  -- noqa: AL05
order by c.date, c.model, c.application
