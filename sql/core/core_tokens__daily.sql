-- core_tokens__daily: the weighted token-count distributions per day and application, from
-- one scan of the day's requests (grouping sets), with the summed weight 1 / sample_rate:
--   side 'input' / 'output': one row per distinct token count (`tokens`), for the quantiles;
--   side 'joint': one row per (input_bin, output_bin) on log2 bins, for the 2-D histogram
--   (bin k holds counts in [2^k, 2^(k+1)), bin -1 holds 0).
-- Additive (a distinct-value count table), so months and quarters are sums of days and a quantile
-- over any period stays exact; each row carries its `month` and `quarter` labels, formatted
-- after grouping (a label string per request cost a fifth of the query at 10M requests).
-- Parameters: $requests = the staged request files of the days built.
with r as (
    select
        date,
        application,
        input_tokens,
        output_tokens,
        case when input_tokens = 0 then -1 else cast(floor(log2(input_tokens)) as integer) end as input_bin,
        case when output_tokens = 0 then -1 else cast(floor(log2(output_tokens)) as integer) end as output_bin,
        1.0 / sample_rate as w
    from read_parquet($requests, hive_partitioning = true)
),

grouped as (
    select
        date,
        application,
        case
            when grouping(input_tokens) = 0 then 'input'
            when grouping(output_tokens) = 0 then 'output'
            else 'joint'
        end as side,
        coalesce(input_tokens, output_tokens) as tokens,
        input_bin,
        output_bin,
        sum(w) as weight
    from r
    group by grouping sets (
        (date, application, input_tokens),
        (date, application, output_tokens),
        (date, application, input_bin, output_bin)
    )
)

select
    date,
    month_label(date) as month,
    quarter_label(date) as quarter,
    application,
    side,
    tokens,
    input_bin,
    output_bin,
    weight
from grouped
