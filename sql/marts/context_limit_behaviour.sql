-- marts.context_limit_behaviour: one row per (period, period_type, provider, model) from the
-- 'context_limit' suite (inputs longer than the advertised context). Each answer is one of
--   error              status error or finish_reason 'error' (the honest refusal),
--   truncation         otherwise finish_reason 'length',
--   silent_acceptance  anything else: answered as if the input had fit.
-- Answers are the first per (case, round) as in vendor_verification_counts.sql.
-- behaviour = the outcome of more than half the answers, else 'mixed'; error_code = the most
-- frequent error_type among the errors (ties: alphabetically first; null without one).
-- Parameters: $probes = glob of staged compat_probes.
with answers as (
    select
        provider,
        model,
        cast(ts as date) as round,
        error_type,
        case
            when status = 'error' or finish_reason = 'error' then 'error'
            when finish_reason = 'length' then 'truncation'
            else 'silent_acceptance'
        end as outcome
    from read_parquet($probes, hive_partitioning = true)
    where suite = 'context_limit'
    qualify row_number() over (partition by provider, model, case_id, cast(ts as date) order by ts) = 1
),

by_period as (
    select quarter_label(round) as period, 'quarter' as period_type, * from answers
    union all
    select month_label(round) as period, 'month' as period_type, * from answers
),

counts as (
    select
        period,
        period_type,
        provider,
        model,
        count(*) as cases,
        count(*) filter (where outcome = 'error') as errors,
        count(*) filter (where outcome = 'truncation') as truncations,
        count(*) filter (where outcome = 'silent_acceptance') as silent_acceptances
    from by_period
    group by all
),

codes as (
    select
        period,
        provider,
        model,
        error_type,
        row_number() over (partition by period, provider, model order by count(*) desc, error_type) as rank
    from by_period
    where outcome = 'error' and error_type is not null
    group by period, provider, model, error_type
)

select
    c.*,
    case
        when 2 * c.errors > c.cases then 'error'
        when 2 * c.truncations > c.cases then 'truncation'
        when 2 * c.silent_acceptances > c.cases then 'silent_acceptance'
        else 'mixed'
    end as behaviour,
    k.error_type as error_code
from counts as c
left join codes as k on k.period = c.period and k.provider = c.provider and k.model = c.model and k.rank = 1
order by c.period_type desc, c.period, c.model, c.provider
