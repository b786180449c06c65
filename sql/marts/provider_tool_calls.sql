-- marts.provider_tool_calls: one row per (period, provider): the provider's third-party service
-- objects that answered the tool_calls suite with an F1 against the official API, summarised
-- over its models, so that the report's per-provider conformance table only formats rows.
--   service_objects: the provider's models with a tool-call F1 (official APIs left out)
--   mean_tool_call_f1, mean_schema_accuracy, mean_similarity: plain means over those models
--     (a null schema accuracy or similarity left out of its mean)
--   fail, pass, undecided: those models by verdict (marts.vendor_verification.verdict)
-- Parameters: $verification = marts.vendor_verification.
with tool_calls as (
    select *
    from read_parquet($verification)
    where suite = 'tool_calls' and not is_official and tool_call_f1 is not null
)

select
    period,
    period_type,
    provider,
    count(*) as service_objects,
    avg(tool_call_f1) as mean_tool_call_f1,
    count(*) filter (where verdict = 'fail') as fail,
    count(*) filter (where verdict = 'pass') as pass,
    count(*) filter (where verdict = 'undecided') as undecided,
    avg(schema_accuracy) as mean_schema_accuracy,
    avg(similarity_to_official) as mean_similarity
from tool_calls
group by period, period_type, provider
order by period_type desc, period, mean_tool_call_f1 desc, provider
