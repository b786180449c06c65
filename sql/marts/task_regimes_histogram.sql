-- marts.task_regimes_histogram: weighted requests per (period, application, input bin, output bin)
-- on log2 bins: bin k holds token counts in [2^k, 2^(k+1)); bin -1 holds 0 tokens.
-- For 2-D density charts. Parameters: $requests = glob of staged requests.
with r as (
    select
        date, application,
        case when input_tokens = 0 then -1 else cast(floor(log2(input_tokens)) as integer) end as input_bin,
        case when output_tokens = 0 then -1 else cast(floor(log2(output_tokens)) as integer) end as output_bin,
        1.0 / sample_rate as w
    from read_parquet($requests, hive_partitioning = true)
),

monthly as (
    select
        strftime(date, '%Y-%m') as month,
        strftime(date, '%Y') || 'Q' || quarter(date) as quarter,
        application, input_bin, output_bin, sum(w) as requests
    from r
    group by all
)

select month as period, 'month' as period_type, application, input_bin, output_bin, requests from monthly
union all
select quarter as period, 'quarter' as period_type, application, input_bin, output_bin, sum(requests) as requests
from monthly
group by quarter, application, input_bin, output_bin
order by period_type desc, period, application, input_bin, output_bin
