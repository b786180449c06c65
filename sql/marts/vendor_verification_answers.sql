-- vendor_verification_answers: the paired answers marts.vendor_verification counts, one row
-- per (period, period_type, answer): the provider's answer, and whether and how the official
-- answered the same case on the same round. vendor_verification_counts.sql and
-- vendor_verification_cases.sql aggregate it (read as the relation `vv_answers`).
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

select * from by_period
