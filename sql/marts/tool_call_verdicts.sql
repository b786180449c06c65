-- marts.tool_call_verdicts: one row per period: every third-party service object that answered
-- the tool_calls suite with an F1 against the official API, counted by verdict, and the median
-- F1 over them: the figures the report's vendor verification paragraph states.
-- Parameters: $verification = marts.vendor_verification.
with tool_calls as (
    select *
    from read_parquet($verification)
    where suite = 'tool_calls' and not is_official and tool_call_f1 is not null
)

select
    period,
    period_type,
    count(*) as service_objects,
    count(*) filter (where verdict = 'fail') as fail,
    count(*) filter (where verdict = 'pass') as pass,
    count(*) filter (where verdict = 'undecided') as undecided,
    median(tool_call_f1) as median_tool_call_f1
from tool_calls
group by period, period_type
order by period_type desc, period
