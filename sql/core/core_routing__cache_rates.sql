-- core_routing__cache_rates: the cache hits a log cannot show, estimated (issue 14). A request
-- whose cached_input_tokens is null (its provider does not report or bill cache hits) would
-- still hit the cache elsewhere: the replay costs it with cached = round(input_tokens x
-- cached_share), the weighted share of input tokens served from cache among the requests of the
-- same day that do report it, from the finest of these cells with at least $min_reporting
-- reporting requests: (model, application), then the model, then the application, then the
-- whole day; with none, no hits (basis 'none'). The day is the cell's time scope so that a day's replay reads only
-- that day's requests; the day bootstrap of the routing intervals then resamples the days'
-- estimates with their days, which carries their sampling noise into the intervals.
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

reporting as (
    select * from requests where cached_tokens is not null and input_tokens > 0
),

by_cell as (
    select date, model, application, count(*) as n, sum(w * cached_tokens) / sum(w * input_tokens) as share
    from reporting group by all
),

by_model as (
    select date, model, count(*) as n, sum(w * cached_tokens) / sum(w * input_tokens) as share
    from reporting group by all
),

by_application as (
    select date, application, count(*) as n, sum(w * cached_tokens) / sum(w * input_tokens) as share
    from reporting group by all
),

by_day as (
    select date, count(*) as n, sum(w * cached_tokens) / sum(w * input_tokens) as share
    from reporting group by all
),

cells as (
    select distinct date, model, application from requests
)

select
    c.date,
    c.model,
    c.application,
    case
        when bc.n >= $min_reporting then bc.share
        when bm.n >= $min_reporting then bm.share
        when ba.n >= $min_reporting then ba.share
        when bd.n >= $min_reporting then bd.share
        else 0.0
    end as cached_share,
    case
        when bc.n >= $min_reporting then 'model_application'
        when bm.n >= $min_reporting then 'model'
        when ba.n >= $min_reporting then 'application'
        when bd.n >= $min_reporting then 'day'
        else 'none'
    end as basis,
    coalesce(case
        when bc.n >= $min_reporting then bc.n
        when bm.n >= $min_reporting then bm.n
        when ba.n >= $min_reporting then ba.n
        when bd.n >= $min_reporting then bd.n
    end, 0) as reporting_requests
from cells as c
left join by_cell as bc using (date, model, application)
left join by_model as bm using (date, model)
left join by_application as ba using (date, application)
left join by_day as bd using (date)
order by c.date, c.model, c.application
