-- marts.multi_provider_models: one row per (period, model, provider) for the models listed by two
-- or more providers in the period (listed_days > 0), one per listing provider: its blended price
-- and decode throughput, with the model's provider count, its requests over them and its rank by
-- requests. The report's dots (the same weights from one provider to the next) pick the top of
-- the ranking (pipeline/lib/report/sections/heterogeneity.py) and only format these rows.
--   model_providers: providers listing the model in the period (2 or more)
--   model_requests: weighted requests of the model over those providers
--   model_rank: 1 for the most requested such model of the period (ties: model name)
--   models: how many models of the period have two or more providers, on every row
-- Parameters: $service_objects (mart file).
with listed as (
    select
        period,
        period_type,
        model,
        provider,
        is_official,
        blended_usd_per_mtok,
        decode_tps_p50,
        requests
    from read_parquet($service_objects)
    where listed_days > 0
),

per_model as (
    select
        period,
        period_type,
        model,
        count(*) as model_providers,
        coalesce(sum(requests), 0) as model_requests
    from listed
    group by all
    having count(*) >= 2
),

ranked as (
    select
        *,
        row_number() over (partition by period, period_type order by model_requests desc, model) as model_rank,
        count(*) over (partition by period, period_type) as models
    from per_model
)

select
    l.period,
    l.period_type,
    l.model,
    l.provider,
    l.is_official,
    l.blended_usd_per_mtok,
    l.decode_tps_p50,
    l.requests,
    r.model_providers,
    r.model_requests,
    r.model_rank,
    r.models
from listed as l
inner join ranked as r on l.period = r.period and l.period_type = r.period_type and l.model = r.model
order by l.period_type desc, l.period, r.model_rank, l.provider
