-- core_tokens__monthly: the weighted distribution of token counts per month and application:
-- one row per (month, application, side, tokens) with the summed weight 1 / sample_rate.
-- Additive, so quarters are sums of months, and small (one row per distinct count).
-- Parameters: $requests = glob of staged requests.
with r as (
    select strftime(date, '%Y-%m') as month, application, input_tokens, output_tokens, 1.0 / sample_rate as w
    from read_parquet($requests, hive_partitioning = true)
)

select month, application, 'input' as side, input_tokens as tokens, sum(w) as weight from r group by all
union all
select month, application, 'output' as side, output_tokens as tokens, sum(w) as weight from r group by all
