-- marts.context_limit_by_provider: one row per (period, provider, behaviour) of
-- marts.context_limit_behaviour: how many of the provider's models answer over-long inputs mostly
-- with the behaviour, and how many models of all providers do. The report's table and sentence
-- on over-long contexts (pipeline/lib/report/sections/reliability.py) only format these rows.
--   models: the provider's service objects with this majority behaviour
--   behaviour_models: the service objects of every provider with it, on every row of the behaviour
-- Parameters: $context_limit_behaviour (mart file).
with counted as (
    select
        period,
        period_type,
        provider,
        behaviour,
        count(*) as models
    from read_parquet($context_limit_behaviour)
    group by all
)

select
    *,
    sum(models) over (partition by period, period_type, behaviour)::bigint as behaviour_models
from counted
order by period_type desc, period, provider, behaviour
