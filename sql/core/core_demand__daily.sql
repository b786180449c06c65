-- core_demand__daily: one row per (date, family, model, provider): sample-weighted demand.
-- requests = sum of 1 / sample_rate; tokens = sum of (input_tokens + output_tokens) / sample_rate.
-- requests_w2 = sum of (1 / sample_rate)^2 and tokens_w2 = sum of ((input + output) / sample_rate)^2:
-- what the concentration intervals resample from (pipeline/lib/concentration.py).
-- logged_requests, min_sample_rate, max_sample_rate: the sampled rows behind the weights
-- (marts.period_facts sums them per period, so a new day does not rescan the quarter).
-- Every logged request is demand, failed ones included (the caller asked for the model).
-- `month` (2025-11) and `quarter` (2025Q4) are the period labels every demand mart uses:
-- derived here once, so no mart spells them differently.
-- The requests are aggregated before the join to models and before the labels are formatted:
-- both then touch ~10^4 rows instead of every request (3x faster at 10M requests).
-- Parameters: $requests = glob of staged requests, $models = staged models file.
with daily as (
    select
        date,
        model,
        provider,
        sum(1.0 / sample_rate) as requests,
        sum((cast(input_tokens as double) + output_tokens) / sample_rate) as tokens,
        sum(1.0 / (sample_rate * sample_rate)) as requests_w2,
        sum(((cast(input_tokens as double) + output_tokens) / sample_rate) ** 2) as tokens_w2,
        count(*) as logged_requests,
        min(sample_rate) as min_sample_rate,
        max(sample_rate) as max_sample_rate
    from read_parquet($requests, hive_partitioning = true)
    group by all
)

select
    d.date,
    month_label(d.date) as month,
    quarter_label(d.date) as quarter,
    m.family,
    d.model,
    d.provider,
    d.requests,
    d.tokens,
    d.requests_w2,
    d.tokens_w2,
    d.logged_requests,
    d.min_sample_rate,
    d.max_sample_rate
from daily as d
inner join read_parquet($models) as m on m.model = d.model
order by all
