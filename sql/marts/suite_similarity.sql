-- marts.suite_similarity: one row per (period, suite) for the compat suites other than
-- tool_calls (which marts.provider_tool_calls covers with its F1): how close the third-party
-- service objects' answers come to the official API's, as the mean K2VV similarity over the
-- service objects that have one, and the answers those service objects gave.
-- Parameters: $verification = marts.vendor_verification.
with compared as (
    select *
    from read_parquet($verification)
    where suite != 'tool_calls' and not is_official and similarity_to_official is not null
)

select
    period,
    period_type,
    suite,
    count(*) as service_objects,
    avg(similarity_to_official) as mean_similarity,
    cast(sum(cases) as bigint) as cases
from compared
group by period, period_type, suite
order by period_type desc, period, suite
