-- core_requests__hourly: one row per (hour, provider, model): sample-weighted requests, their
-- errors by the contract's error types, and the billed tokens. Additive, so every period and
-- every service mart rolls up from it without scanning the requests again.
-- An error without an error_type counts as `other`; error_type on an ok request is ignored.
-- Error classes (README, methods), the one place they are defined for requests: client errors
-- (auth, invalid_request) are the caller's and stay out of the denominator of a provider's
-- rates; rate limits are counted apart; every other type (timeout, server_error,
-- context_overflow, content_filter, other) is a provider fault.
-- rate_base_w2 (sum of squared weights of the requests outside client errors, the rates'
-- denominator) gives the rates' effective sample size, (sum w)^2 / sum w^2 (Kish), for their
-- intervals in marts.service_objects.
-- Parameters: $requests = glob of staged requests.
with r as (
    select
        date_trunc('hour', ts) as hour,
        date,
        provider,
        model,
        1.0 / sample_rate as w,
        input_tokens,
        output_tokens,
        case when status = 'error' then coalesce(error_type, 'other') end as error_type
    from read_parquet($requests, hive_partitioning = true)
)

select
    hour,
    date,
    month_label(date) as month,
    quarter_label(date) as quarter,
    provider,
    model,
    sum(w) as requests,
    coalesce(sum(w) filter (where error_type is not null), 0) as errors,
    coalesce(sum(w) filter (where error_type = 'rate_limit'), 0) as rate_limit,
    coalesce(sum(w) filter (where error_type = 'timeout'), 0) as timeout,
    coalesce(sum(w) filter (where error_type = 'server_error'), 0) as server_error,
    coalesce(sum(w) filter (where error_type = 'context_overflow'), 0) as context_overflow,
    coalesce(sum(w) filter (where error_type = 'invalid_request'), 0) as invalid_request,
    coalesce(sum(w) filter (where error_type = 'auth'), 0) as auth,
    coalesce(sum(w) filter (where error_type = 'content_filter'), 0) as content_filter,
    coalesce(sum(w) filter (where error_type = 'other'), 0) as other,
    coalesce(sum(w) filter (where error_type in ('auth', 'invalid_request')), 0) as client_errors,
    coalesce(sum(w) filter (where error_type = 'rate_limit'), 0) as rate_limits,
    -- refusals the log bills input tokens for ("usage as billed"): what a refused attempt costs
    coalesce(sum(w) filter (where error_type = 'rate_limit' and input_tokens > 0), 0) as rate_limits_billed,
    coalesce(sum(w) filter (where error_type not in ('auth', 'invalid_request', 'rate_limit')), 0) as provider_faults,
    coalesce(sum(w * w) filter (where error_type is null or error_type not in ('auth', 'invalid_request')), 0) as rate_base_w2,
    sum(input_tokens * w) as input_tokens,
    sum(output_tokens * w) as output_tokens
from r
group by all
order by hour, provider, model
