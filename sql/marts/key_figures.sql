-- marts.key_figures: one row per (period, figure): the report's headline numbers, each computed
-- here from the marts it summarises, with its interval where the mart has one. The report only
-- formats these rows (pipeline/lib/report/headlines.py).
--   value, ci_low, ci_high: the figure and its 95 % interval, in the unit of the figure
--   n: what the figure is over or out of (units, models, releases, service objects)
--   detail: a name the figure refers to (the largest family, the routing policy)
-- Parameters: $family_demand, $concentration, $half_lives, $supply_use_summary, $dispersion,
-- $anchoring, $error_matrix, $verdicts, $pareto, $routing_totals (mart files).
with family_conc as (
    select * from read_parquet($concentration) where level = 'family' and measure = 'requests'
),

top_family as (
    select period, min(family) as family
    from read_parquet($family_demand) where rank = 1 group by period
),

fault as (
    select
        period,
        period_type,
        provider,
        max(attempts) as attempts,
        sum(errors) filter (where error_class = 'provider_fault') as errors
    from read_parquet($error_matrix)
    where source = 'requests'
    group by all
),

figures as (
    select
        period,
        period_type,
        'requests_total' as figure,
        sum(requests) as value,
        null::double as ci_low,
        null::double as ci_high,
        null::bigint as n,
        null::varchar as detail
    from read_parquet($family_demand) group by all
    union all
    select c.period, c.period_type, 'top1_family_share', c.top1_share, null, null, c.n, t.family
    from family_conc as c left join top_family as t on c.period = t.period
    union all
    select period, period_type, 'top5_family_share', top5_share, top5_ci_low, top5_ci_high, n, null
    from family_conc
    union all
    select period, period_type, 'gini_family', gini, gini_ci_low, gini_ci_high, n, null
    from family_conc
    union all
    -- the mean over the releases that reached a half-life (marts.half_life_summary, the section's figure)
    -- (quarters the demand covers: a successor released before the data has a release quarter too)
    select period, 'quarter', 'mean_half_life_days', mean_half_life_days, null, null, successor_releases, null
    from read_parquet($half_lives)
    where period in (select c.period from family_conc as c)
    union all
    select period, period_type, 'breadth_rho', spearman_rho, rho_ci_low, rho_ci_high, n_models, null
    from read_parquet($supply_use_summary)
    union all
    select period, period_type, 'median_price_cv', median(cv), null, null, count(*), null
    from read_parquet($dispersion)
    where attribute = 'blended_price' and cv is not null
    group by all
    union all
    select period, period_type, 'anchoring_ratio', dispersion_ratio, ratio_ci_low, ratio_ci_high, n_models, null
    from read_parquet($anchoring)
    where performance_attribute = 'decode_tps_p50'
    union all
    -- weighted provider-fault errors over all weighted requests of the providers
    select period, period_type, 'provider_fault_rate', sum(errors) / nullif(sum(attempts), 0), null, null, count(*), null
    from fault group by all
    union all
    -- third-party service objects by tool-call verdict (marts.tool_call_verdicts, the section's figures)
    select period, period_type, 'tool_call_fail', fail, null, null, service_objects, null
    from read_parquet($verdicts)
    union all
    select period, period_type, 'tool_call_undecided', undecided, null, null, service_objects, null
    from read_parquet($verdicts)
    union all
    select period, period_type, 'dominated_service_objects', count(*) filter (where dominated), null, null, count(*), null
    from read_parquet($pareto)
    where dominated is not null
    group by all
    union all
    -- the causal policy (what a live gateway could do), or the first policy there is without one
    select period, period_type, 'routing_' || objective || '_change', change_pct, ci_low, ci_high, models, policy
    from read_parquet($routing_totals)
    qualify row_number() over (partition by period, objective order by policy = 'causal' desc, policy) = 1
)

select *
from figures
order by period_type desc, period, figure
