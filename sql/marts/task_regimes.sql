-- marts.task_regimes: one row per (period, application): weighted requests, token quantiles,
-- output share, and the regime label (pipeline/lib/regimes.py states the rule).
-- A weighted quantile q is the smallest token count whose weighted CDF reaches q; a share within
-- 1e-12 of q counts as reaching it, since sums of float weights depend on their order (ten requests
-- at sample_rate 0.3 put 1/10 of the weight on the first, which float sums may leave a hair short).
-- The CDF is walked in two steps so that no window sorts every distinct token count (a window
-- over the ~10^6 rows of a 10M-request quarter was most of this mart's time): first over coarse
-- bins (1/16 of an octave), then only among the counts of the bin where each quantile falls.
-- Parameters: $tokens = core_tokens__daily Parquet (summed to months here); $long_context_p50, $generation_share,
-- $prompt_share = the regime rule.
with monthly as (
    select month, quarter, application, side, tokens, sum(weight) as weight
    from read_parquet($tokens)
    where side in ('input', 'output')
    group by all
),

by_period as (
    select period, period_type, application, side, tokens, weight, cast(floor(log2(tokens + 1.0) * 16) as integer) as bin
    from (
        select month as period, 'month' as period_type, application, side, tokens, weight from monthly
        union all
        select quarter as period, 'quarter' as period_type, application, side, tokens, sum(weight) as weight
        from monthly
        group by all
    ) as sides
),

coarse as (
    select period, period_type, application, side, bin, sum(weight) as weight, sum(tokens * weight) as token_weight
    from by_period
    group by all
),

coarse_cdf as (
    select
        *,
        sum(weight) over (partition by period, application, side order by bin rows unbounded preceding) as weight_through,
        sum(weight) over (partition by period, application, side) as total
    from coarse
),

levels as (
    select unnest([10, 50, 90, 99]) as pct
),

-- the first bin whose cumulative share reaches each quantile
hit as (
    select c.period, c.application, c.side, l.pct, min(c.bin) as bin
    from coarse_cdf as c cross join levels as l
    where c.weight_through / c.total >= l.pct / 100 - 1e-12
    group by all
),

inside as (
    select
        h.period, h.application, h.side, h.pct, p.tokens,
        c.weight_through - c.weight
        + sum(p.weight) over (partition by h.period, h.application, h.side, h.pct order by p.tokens rows unbounded preceding) as weight_through,
        c.total
    from hit as h
    inner join coarse_cdf as c on c.period = h.period and c.application = h.application and c.side = h.side and c.bin = h.bin
    inner join by_period as p on p.period = h.period and p.application = h.application and p.side = h.side and p.bin = h.bin
),

picked as (
    -- the bin's last count when rounding leaves the running sum a hair short of the bin's total
    select period, application, side, pct, coalesce(min(tokens) filter (where weight_through / total >= pct / 100 - 1e-12), max(tokens)) as tokens
    from inside
    group by all
),

quantiles as (
    select
        c.period, c.period_type, c.application, c.side,
        sum(c.weight) as requests,
        sum(c.token_weight) as tokens,
        any_value(q.p10) as p10, any_value(q.p50) as p50, any_value(q.p90) as p90, any_value(q.p99) as p99
    from coarse as c
    inner join (
        select
            period, application, side,
            max(tokens) filter (where pct = 10) as p10,
            max(tokens) filter (where pct = 50) as p50,
            max(tokens) filter (where pct = 90) as p90,
            max(tokens) filter (where pct = 99) as p99
        from picked
        group by all
    ) as q on q.period = c.period and q.application = c.application and q.side = c.side
    group by all
),

wide as (
    select
        i.period, i.period_type, i.application,
        i.requests,
        i.p10 as input_p10, i.p50 as input_p50, i.p90 as input_p90, i.p99 as input_p99,
        o.p10 as output_p10, o.p50 as output_p50, o.p90 as output_p90, o.p99 as output_p99,
        -- 12 decimals: a share of exactly 1/20 summed in another order is 0.049999999999999996,
        -- and the regime rule must not turn on the last bit
        round(o.tokens / nullif(i.tokens + o.tokens, 0), 12) as output_share
    from quantiles as i
    inner join quantiles as o
        on i.period = o.period and i.application = o.application and i.side = 'input' and o.side = 'output'
),

result as (
    select
        *,
        case
            when input_p50 >= $long_context_p50 then 'long-context'
            when output_share >= $generation_share then 'generation-heavy'
            when output_share < $prompt_share then 'prompt-heavy'
            else 'balanced'
        end as regime
    from wide
)

-- no inf or nan is published: a figure that is not finite (a weight 1 / sample_rate past 1.8e308) is null
select * replace (
    case when isfinite(requests) then requests end as requests,
    case when isfinite(output_share) then output_share end as output_share
)
from result
order by period_type desc, period, requests desc
