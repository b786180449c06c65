-- vendor_verification_reruns: the official provider's run-to-run spread, one row per
-- (period, period_type, model, suite, round, rerun). The official's k-th answer (by ts) to a
-- case on a round date belongs to rerun k (k >= 1; k = 0 is its answer, see
-- vendor_verification_counts.sql) and is compared with that answer like a provider would
-- be: tp, fp, fn with positive = finish_reason 'tool_calls', over the cases both answered.
-- The lowest F1 of these reruns is the acceptance threshold (pipeline/lib/verification.py).
-- Parameters: $probes = glob of staged compat_probes, $models = staged models file.
with official as (
    select
        p.model,
        p.suite,
        p.case_id,
        cast(p.ts as date) as round,
        coalesce(p.finish_reason = 'tool_calls', false) as is_tc,
        row_number() over (partition by p.model, p.suite, p.case_id, cast(p.ts as date) order by p.ts) - 1 as attempt
    from read_parquet($probes, hive_partitioning = true) as p
    inner join read_parquet($models) as m on m.model = p.model and m.official_provider = p.provider
),

reruns as (
    select r.model, r.suite, r.round, r.attempt as rerun, r.is_tc, f.is_tc as first_tc
    from official as r
    inner join official as f
        on f.attempt = 0 and f.model = r.model and f.suite = r.suite and f.case_id = r.case_id and f.round = r.round
    where r.attempt > 0
),

by_period as (
    select quarter_label(round) as period, 'quarter' as period_type, * from reruns
    union all
    select month_label(round) as period, 'month' as period_type, * from reruns
)

select
    period,
    period_type,
    model,
    suite,
    round,
    rerun,
    count(*) as cases,
    count(*) filter (where is_tc and first_tc) as tp,
    count(*) filter (where is_tc and not first_tc) as fp,
    count(*) filter (where not is_tc and first_tc) as fn
from by_period
group by all
order by period_type desc, period, model, suite, round, rerun
