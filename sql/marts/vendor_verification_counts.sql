-- vendor_verification_counts: step 1 of marts.vendor_verification, one row per
-- (period, period_type, provider, model, suite). The rates (F1, schema accuracy, distance,
-- threshold) are step 2, pipeline/lib/verification.py.
--
-- Pairing (the contract is silent):
--   * an answer is (provider, model, suite, case_id, round), round = the UTC date of ts;
--   * a provider's earliest answer to a case on a round date is its answer; later ones that
--     date are reruns and are counted nowhere here (the official's reruns set the acceptance
--     threshold, see vendor_verification_reruns.sql);
--   * a provider's answer is compared with the official provider's answer to the same
--     (model, suite, case_id, round); an answer without one is counted but not compared;
--   * the official is not compared with itself (K2VV prints '-'): its cases_compared is 0.
-- Positive = finish_reason 'tool_calls'. An error is an answer (a negative): a provider that
-- fails where the official calls a tool is a false negative, as in K2VV.
-- cases counts answers, so a case asked in three rounds counts three times, and
-- finish_stop + finish_tool_calls + finish_others = cases.
-- cmp_* are the provider's five K2VV counts on the compared cases, off_* the official's on
-- the same cases: the distance must compare like with like.
-- Parameters: $probes = glob of staged compat_probes, $models = staged models file.
with answers as (
    select
        p.provider,
        p.model,
        p.suite,
        p.case_id,
        cast(p.ts as date) as round,
        coalesce(p.provider = m.official_provider, false) as is_official,
        p.status = 'error' as is_error,
        coalesce(p.tool_calls, 0) as tool_calls,
        coalesce(p.finish_reason = 'stop', false) as is_stop,
        coalesce(p.finish_reason = 'tool_calls', false) as is_tc,
        coalesce(p.finish_reason not in ('stop', 'tool_calls'), true) as is_other,
        coalesce(p.finish_reason = 'tool_calls' and not p.schema_valid, false) as is_schema_error,
        coalesce(p.finish_reason = 'tool_calls' and p.schema_valid, false) as is_successful
    from read_parquet($probes, hive_partitioning = true) as p
    left join read_parquet($models) as m on m.model = p.model
    qualify row_number() over (partition by p.provider, p.model, p.suite, p.case_id, cast(p.ts as date) order by p.ts) = 1
),

official as (
    select model, suite, case_id, round, is_stop, is_tc, is_other, is_schema_error, is_successful
    from answers
    where is_official
),

paired as (
    select
        a.*,
        o.model is not null and not a.is_official as compared,
        compared and o.is_stop as off_is_stop,
        compared and o.is_tc as off_is_tc,
        compared and o.is_other as off_is_other,
        compared and o.is_schema_error as off_is_schema_error,
        compared and o.is_successful as off_is_successful
    from answers as a
    left join official as o
        on o.model = a.model and o.suite = a.suite and o.case_id = a.case_id and o.round = a.round
),

by_period as (
    select quarter_label(round) as period, 'quarter' as period_type, * from paired
    union all
    select month_label(round) as period, 'month' as period_type, * from paired
)

select
    period,
    period_type,
    provider,
    model,
    suite,
    bool_or(is_official) as is_official,
    count(distinct round) as rounds,
    count(*) as cases,
    count(*) filter (where is_error) as errors,
    count(*) filter (where is_stop) as finish_stop,
    count(*) filter (where is_tc) as finish_tool_calls,
    count(*) filter (where is_other) as finish_others,
    cast(sum(tool_calls) as bigint) as tool_calls,
    count(*) filter (where is_schema_error) as schema_errors,
    count(*) filter (where is_successful) as successful_tool_calls,
    count(*) filter (where compared) as cases_compared,
    count(*) filter (where compared and is_tc and off_is_tc) as tp,
    count(*) filter (where compared and is_tc and not off_is_tc) as fp,
    count(*) filter (where compared and not is_tc and off_is_tc) as fn,
    count(*) filter (where compared and is_stop) as cmp_stop,
    count(*) filter (where compared and is_tc) as cmp_tool_calls,
    count(*) filter (where compared and is_other) as cmp_others,
    count(*) filter (where compared and is_schema_error) as cmp_schema_errors,
    count(*) filter (where compared and is_successful) as cmp_successful,
    count(*) filter (where off_is_stop) as off_stop,
    count(*) filter (where off_is_tc) as off_tool_calls,
    count(*) filter (where off_is_other) as off_others,
    count(*) filter (where off_is_schema_error) as off_schema_errors,
    count(*) filter (where off_is_successful) as off_successful
from by_period
group by period, period_type, provider, model, suite
order by period_type desc, period, model, suite, provider
