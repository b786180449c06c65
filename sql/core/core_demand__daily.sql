-- core_demand__daily: one row per (date, family, model, provider): sample-weighted demand.
-- requests = sum of 1 / sample_rate; tokens = sum of (input_tokens + output_tokens) / sample_rate.
-- Every logged request is demand, failed ones included (the caller asked for the model).
-- `month` (2025-11) and `quarter` (2025Q4) are the period labels every demand mart uses:
-- derived here once, so no mart spells them differently.
-- Parameters: $requests = glob of staged requests, $models = staged models file.
select
    r.date,
    strftime(r.date, '%Y-%m') as month,
    strftime(r.date, '%Y') || 'Q' || quarter(r.date) as quarter,
    m.family,
    r.model,
    r.provider,
    sum(1.0 / r.sample_rate) as requests,
    sum((r.input_tokens + r.output_tokens) / r.sample_rate) as tokens
from read_parquet($requests, hive_partitioning = true) as r
inner join read_parquet($models) as m on m.model = r.model
group by all
order by all
