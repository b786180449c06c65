-- vendor_verification_counts: step 1 of marts.vendor_verification, one row per
-- (period, period_type, provider, model, suite), from the paired answers (`vv_answers`, see
-- vendor_verification_answers.sql for the pairing). The rates (F1 and its interval, schema
-- accuracy, distance, threshold, verdict) are step 2, pipeline/lib/verification.py.
-- cases counts answers, so a case asked in three rounds counts three times, and
-- finish_stop + finish_tool_calls + finish_others = cases.
-- cmp_* are the provider's five K2VV counts on the compared cases, off_* the official's on
-- the same cases: the distance must compare like with like.
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
from vv_answers
group by period, period_type, provider, model, suite
order by period_type desc, period, model, suite, provider
