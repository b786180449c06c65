-- core_tokens__monthly: the weighted distribution of token counts per month and application:
-- one row per (month, application, side, tokens) with the summed weight 1 / sample_rate.
-- Additive, so quarters are sums of months, and small (one row per distinct count).
-- Both sides come from one scan (grouping sets) rather than two.
-- Parameters: $requests = glob of staged requests.
with r as (
    select strftime(date, '%Y-%m') as month, application, input_tokens, output_tokens, 1.0 / sample_rate as w
    from read_parquet($requests, hive_partitioning = true)
)

select
    month,
    application,
    case when grouping(input_tokens) = 0 then 'input' else 'output' end as side,
    coalesce(input_tokens, output_tokens) as tokens,
    sum(w) as weight
from r
group by grouping sets ((month, application, input_tokens), (month, application, output_tokens))
