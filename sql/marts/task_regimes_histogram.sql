-- marts.task_regimes_histogram: weighted requests per (period, application, input bin, output bin)
-- on log2 bins: bin k holds token counts in [2^k, 2^(k+1)); bin -1 holds 0 tokens.
-- For 2-D density charts. Parameters: $tokens = core_tokens__daily Parquet (side 'joint', summed to months here).
with monthly as (
    select month, quarter, application, input_bin, output_bin, sum(weight) as requests
    from read_parquet($tokens)
    where side = 'joint'
    group by all
),

result as (
    select month as period, 'month' as period_type, application, input_bin, output_bin, requests from monthly
    union all
    select quarter as period, 'quarter' as period_type, application, input_bin, output_bin, sum(requests) as requests
    from monthly
    group by all
)

-- no inf or nan is published: a figure that is not finite (a weight 1 / sample_rate past 1.8e308) is null
select * replace (
    case when isfinite(requests) then requests end as requests
)
from result
order by period_type desc, period, application, input_bin, output_bin
