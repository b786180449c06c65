-- marts.service_changes, its exact part: one row per change of a service object (provider x model), dated. This
-- file finds the discrete events, exactly, on the day they happen (the change points of the daily
-- series are added by pipeline/lib/marts/service_changes.py):
--   price changes: a snapshot whose listed price (in its own currency) differs from the previous
--     snapshot of the same provider and model: `input_usd_per_mtok`, `output_usd_per_mtok`,
--     `cached_input_usd_per_mtok` (a CNY price converted at each day's rate is not a change);
--   endpoint changes: an endpoint state whose attribute differs from the state before it:
--     `quantization`, `context_length`, `max_output_tokens`, `supports_tools`, `supports_json_mode`,
--     `supports_streaming`, `supports_reasoning`;
--   `listing`: the first state of a provider x model (listed), a state that ends with none
--     starting at its end (delisted), a state after such a gap (relisted).
-- Numbers go to before_value / after_value (USD per Mtok, tokens, 1 / 0 for flags), categories to
-- before_text / after_text. An exact event has no interval: detector says how it was found.
-- Parameters: $prices, $endpoints (staged files).
with prices as (
    select
        provider,
        model,
        snapshot_ts,
        currency,
        input_per_mtok,
        output_per_mtok,
        cached_input_per_mtok,
        input_usd_per_mtok,
        output_usd_per_mtok,
        cached_input_usd_per_mtok,
        lag(currency) over w as prev_currency,
        lag(input_per_mtok) over w as prev_input,
        lag(output_per_mtok) over w as prev_output,
        lag(cached_input_per_mtok) over w as prev_cached,
        lag(input_usd_per_mtok) over w as prev_input_usd,
        lag(output_usd_per_mtok) over w as prev_output_usd,
        lag(cached_input_usd_per_mtok) over w as prev_cached_usd,
        row_number() over w as k
    from read_parquet($prices)
    window w as (partition by provider, model order by snapshot_ts)
),

price_changes as (
    -- the change in percent is of the listed price when the currency stayed (an fx move is not
    -- part of the provider's price change), else of the USD values
    select
        provider,
        model,
        snapshot_ts as changed_at,
        metric,
        before_value,
        after_value,
        if(
            same_currency,
            if(before_listed != 0, 100 * (after_listed / before_listed - 1), null),
            if(before_value != 0, 100 * (after_value / before_value - 1), null)
        ) as change_pct
    from (
        select
            provider,
            model,
            snapshot_ts,
            'input_usd_per_mtok' as metric,
            prev_input_usd as before_value,
            input_usd_per_mtok as after_value,
            prev_input as before_listed,
            input_per_mtok as after_listed,
            not differs(prev_currency, currency) as same_currency,
            differs(prev_input, input_per_mtok) or differs(prev_currency, currency) as changed
        from prices where k > 1
        union all
        select
            provider, model, snapshot_ts, 'output_usd_per_mtok', prev_output_usd, output_usd_per_mtok,
            prev_output, output_per_mtok, not differs(prev_currency, currency),
            differs(prev_output, output_per_mtok) or differs(prev_currency, currency)
        from prices where k > 1
        union all
        select
            provider, model, snapshot_ts, 'cached_input_usd_per_mtok', prev_cached_usd, cached_input_usd_per_mtok,
            prev_cached, cached_input_per_mtok, not differs(prev_currency, currency),
            differs(prev_cached, cached_input_per_mtok) or differs(prev_currency, currency)
        from prices where k > 1
    ) as per_metric
    where changed
),

states as (
    select
        *,
        lag(valid_to) over w as prev_valid_to,
        lag(quantization) over w as prev_quantization,
        lag(context_length) over w as prev_context_length,
        lag(max_output_tokens) over w as prev_max_output_tokens,
        lag(supports_tools) over w as prev_supports_tools,
        lag(supports_json_mode) over w as prev_supports_json_mode,
        lag(supports_streaming) over w as prev_supports_streaming,
        lag(supports_reasoning) over w as prev_supports_reasoning,
        lead(valid_from) over w as next_valid_from,
        row_number() over w as k
    from read_parquet($endpoints)
    window w as (partition by provider, model order by valid_from)
),

endpoint_changes as (
    select provider, model, changed_at, metric, before_value, after_value, before_text, after_text
    from (
        select
            provider, model, valid_from as changed_at, 'quantization' as metric,
            null::double as before_value, null::double as after_value,
            prev_quantization as before_text, quantization as after_text,
            differs(prev_quantization, quantization) as changed
        from states where k > 1
        union all
        select
            provider, model, valid_from, 'context_length', prev_context_length, context_length, null, null,
            differs(prev_context_length, context_length)
        from states where k > 1
        union all
        select
            provider, model, valid_from, 'max_output_tokens', prev_max_output_tokens, max_output_tokens, null, null,
            differs(prev_max_output_tokens, max_output_tokens)
        from states where k > 1
        union all
        select
            provider, model, valid_from, 'supports_tools', prev_supports_tools::int, supports_tools::int, null, null,
            differs(prev_supports_tools, supports_tools)
        from states where k > 1
        union all
        select
            provider, model, valid_from, 'supports_json_mode', prev_supports_json_mode::int, supports_json_mode::int,
            null, null, differs(prev_supports_json_mode, supports_json_mode)
        from states where k > 1
        union all
        select
            provider, model, valid_from, 'supports_streaming', prev_supports_streaming::int, supports_streaming::int,
            null, null, differs(prev_supports_streaming, supports_streaming)
        from states where k > 1
        union all
        select
            provider, model, valid_from, 'supports_reasoning', prev_supports_reasoning::int, supports_reasoning::int,
            null, null, differs(prev_supports_reasoning, supports_reasoning)
        from states where k > 1
    ) as per_metric
    where changed
),

listing as (
    -- listed: a provider x model's first state; relisted: a state that starts after the one before it ended
    select
        provider,
        model,
        valid_from as changed_at,
        'listing' as metric,
        0.0 as before_value,
        1.0 as after_value,
        null as before_text,
        if(k = 1, 'listed', 'relisted') as after_text
    from states
    where k = 1 or (prev_valid_to is not null and prev_valid_to < valid_from)
    union all
    -- delisted: a state that ends with none starting at or before its end
    select provider, model, valid_to, 'listing', 1.0, 0.0, null, 'delisted'
    from states
    where valid_to is not null and (next_valid_from is null or next_valid_from > valid_to)
),

events as (
    select
        provider, model, changed_at, metric, before_value, after_value, null as before_text, null as after_text,
        change_pct, 'price_snapshot' as detector
    from price_changes
    union all
    select
        *, if(before_value != 0, 100 * (after_value / before_value - 1), null), 'endpoint_state'
    from endpoint_changes
    union all
    select *, null, 'endpoint_state' from listing
)

select
    provider,
    model,
    metric,
    changed_at,
    before_value,
    after_value,
    before_text,
    after_text,
    -- a ratio of extreme prices can overflow: marts publish no inf or nan
    if(isfinite(change_pct), change_pct, null) as change_pct,
    null::double as change_ci_low,
    null::double as change_ci_high,
    null::double as p_value,
    detector,
    1 as samples_before,
    1 as samples_after
from events
order by changed_at, provider, model, metric
