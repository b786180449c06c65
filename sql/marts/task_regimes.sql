-- marts.task_regimes: one row per (period, application): weighted requests, token quantiles,
-- output share, and the regime label (pipeline/lib/regimes.py states the rule).
-- A weighted quantile q is the smallest token count whose weighted CDF reaches q.
-- Parameters: $tokens = core_tokens__monthly Parquet; $long_context_p50, $generation_share,
-- $prompt_share = the regime rule.
with monthly as (
    select month, quarter, application, side, tokens, weight from read_parquet($tokens) where side in ('input', 'output')
),

by_period as (
    select month as period, 'month' as period_type, application, side, tokens, weight from monthly
    union all
    select quarter as period, 'quarter' as period_type, application, side, tokens, sum(weight) as weight
    from monthly
    group by all
),

cdf as (
    select
        *,
        sum(weight) over (partition by period, application, side order by tokens rows unbounded preceding)
        / sum(weight) over (partition by period, application, side) as cum_share
    from by_period
),

quantiles as (
    select
        period, period_type, application, side,
        sum(weight) as requests,
        sum(tokens * weight) as tokens,
        min(tokens) filter (where cum_share >= 0.10) as p10,
        min(tokens) filter (where cum_share >= 0.50) as p50,
        min(tokens) filter (where cum_share >= 0.90) as p90,
        min(tokens) filter (where cum_share >= 0.99) as p99
    from cdf
    group by all
),

wide as (
    select
        i.period, i.period_type, i.application,
        i.requests,
        i.p10 as input_p10, i.p50 as input_p50, i.p90 as input_p90, i.p99 as input_p99,
        o.p10 as output_p10, o.p50 as output_p50, o.p90 as output_p90, o.p99 as output_p99,
        o.tokens / nullif(i.tokens + o.tokens, 0) as output_share
    from quantiles as i
    inner join quantiles as o
        on i.period = o.period and i.application = o.application and i.side = 'input' and o.side = 'output'
)

select
    *,
    case
        when input_p50 >= $long_context_p50 then 'long-context'
        when output_share >= $generation_share then 'generation-heavy'
        when output_share < $prompt_share then 'prompt-heavy'
        else 'balanced'
    end as regime
from wide
order by period_type desc, period, requests desc
