-- marts.provider_leaderboard: one row per (period, model, provider) of marts.service_objects (every
-- provider that listed, was probed for or served the model in the period): what it costs, how fast
-- and how reliably it answers and whether its tool calls pass, with a rank per objective among the
-- model's providers. Read from the marts only (service objects, vendor verification), never from
-- the staged requests or probes.
--   blended_list_usd_per_mtok: 0.75 x input + 0.25 x output price (USD per Mtok), the blended list
--     price routing orders providers by (core_routing__frozen_orders, core_routing__slots), taken
--     over the period's time-weighted prices in force; not service_objects' blended_usd_per_mtok,
--     which blends at the model's observed token mix
--   reference_usd_per_mtok: what a provider's price is judged against: the median blended list
--     price of the model's priced providers in the period (itself included) when there are three or
--     more, the other provider's price when there are two. Not the median of the other providers
--     alone: with three providers, one off by 10^4 puts each normal provider's two-price median
--     halfway to it, and all three would look implausible (LiteLLM's table has such a model)
--   price_implausible: the price is more than $implausible_factor times, or less than 1 /
--     $implausible_factor of, the reference (a price table's unit or a typo): with two providers
--     that far apart both are, either could be wrong. A price of 0 never is (free tiers and launch
--     promotions are real). Null without a price, without another priced provider, or with a
--     reference of 0
--   tool_call_*: the tool_calls suite's row of marts.vendor_verification (null for the official
--     API, the reference, and for a service object without compared tool-call answers)
--   ranks, among the model's providers in the period, 1 the best: price_rank by blended list
--     price (lowest first; implausible prices are not ranked), ttft_rank by ttft_p50_ms (lowest),
--     decode_rank by decode_tps_p50 (highest), reliability_rank by probe_success_rate (highest),
--     then request_error_rate (lowest; none counts last). Ties share the best rank of the tie and
--     the next rank is skipped (1, 1, 3); a provider without the figure has no rank. Values are
--     ranked rounded (prices to 1e-9 USD, times and speeds to 1e-6, rates to 1e-12): the
--     time-weighted prices and medians carry float noise from parallel sums, which must not split
--     a tie in one run and not in the next (an increment ranks as a full rebuild does).
-- No inf or nan is published: a figure that is not finite after arithmetic is null.
-- Parameters: $service_objects, $verification (mart files), $implausible_factor
-- (pipeline/lib/sql_marts.py).
with objects as (
    select
        period,
        period_type,
        model,
        provider,
        is_official,
        input_usd_per_mtok,
        output_usd_per_mtok,
        case
            when isfinite(0.75 * input_usd_per_mtok + 0.25 * output_usd_per_mtok)
                then 0.75 * input_usd_per_mtok + 0.25 * output_usd_per_mtok
        end as blended_list_usd_per_mtok,
        context_length,
        quantization,
        probes,
        probe_success_rate,
        probe_success_rate_ci_low,
        probe_success_rate_ci_high,
        ttft_p50_ms,
        ttft_p90_ms,
        decode_tps_p50,
        requests,
        requests_effective,
        request_error_rate,
        request_error_rate_ci_low,
        request_error_rate_ci_high,
        thin
    from read_parquet($service_objects)
),

others as (
    -- each priced provider's price against the model's other priced providers in the period
    select
        o.period,
        o.model,
        o.provider,
        count(x.blended_list_usd_per_mtok) + 1 as priced_providers,
        median(x.blended_list_usd_per_mtok) as others_median
    from objects as o
    inner join objects as x
        on
            x.period = o.period and x.model = o.model and x.provider <> o.provider
            and x.blended_list_usd_per_mtok is not null
    where o.blended_list_usd_per_mtok is not null
    group by o.period, o.model, o.provider
),

model_prices as (
    select period, model, median(blended_list_usd_per_mtok) as model_median
    from objects
    group by period, model
),

reference as (
    select
        x.period,
        x.model,
        x.provider,
        case when x.priced_providers >= 3 then m.model_median else x.others_median end as reference_usd_per_mtok
    from others as x
    inner join model_prices as m on m.period = x.period and m.model = x.model
),

tool_calls as (
    select
        period,
        model,
        provider,
        tool_call_f1,
        tool_call_f1_ci_low,
        tool_call_f1_ci_high,
        verdict
    from read_parquet($verification)
    where suite = 'tool_calls' and not is_official
),

judged as (
    select
        o.*,
        count(*) over (partition by o.period, o.model) as model_providers,
        x.reference_usd_per_mtok,
        case
            when isfinite(o.blended_list_usd_per_mtok / x.reference_usd_per_mtok)
                then o.blended_list_usd_per_mtok / x.reference_usd_per_mtok
        end as price_vs_reference,
        -- compared without dividing, so a reference near the smallest double judges too
        case
            when x.reference_usd_per_mtok > 0
                then
                    o.blended_list_usd_per_mtok > 0 and (
                        o.blended_list_usd_per_mtok > $implausible_factor * x.reference_usd_per_mtok
                        or o.blended_list_usd_per_mtok < x.reference_usd_per_mtok / $implausible_factor
                    )
        end as price_implausible,
        t.tool_call_f1,
        t.tool_call_f1_ci_low,
        t.tool_call_f1_ci_high,
        t.verdict as tool_call_verdict
    from objects as o
    left join reference as x on x.period = o.period and x.model = o.model and x.provider = o.provider
    left join tool_calls as t on t.period = o.period and t.model = o.model and t.provider = o.provider
),

ranked as (
    select
        *,
        case
            when blended_list_usd_per_mtok is not null and price_implausible is not true
                then
                    rank() over (
                        partition by
                            period, model, blended_list_usd_per_mtok is not null and price_implausible is not true
                        order by round(blended_list_usd_per_mtok, 9)
                    )
        end as price_rank,
        case
            when ttft_p50_ms is not null
                then rank() over (partition by period, model, ttft_p50_ms is not null order by round(ttft_p50_ms, 6))
        end as ttft_rank,
        case
            when decode_tps_p50 is not null
                then rank() over (partition by period, model, decode_tps_p50 is not null order by round(decode_tps_p50, 6) desc)
        end as decode_rank,
        case
            when probe_success_rate is not null
                then
                    rank() over (
                        partition by period, model, probe_success_rate is not null
                        order by round(probe_success_rate, 12) desc, round(request_error_rate, 12) asc nulls last
                    )
        end as reliability_rank
    from judged
)

select
    period,
    period_type,
    model,
    provider,
    is_official,
    model_providers,
    input_usd_per_mtok,
    output_usd_per_mtok,
    blended_list_usd_per_mtok,
    reference_usd_per_mtok,
    price_vs_reference,
    price_implausible,
    ttft_p50_ms,
    ttft_p90_ms,
    decode_tps_p50,
    probes,
    probe_success_rate,
    probe_success_rate_ci_low,
    probe_success_rate_ci_high,
    requests,
    requests_effective,
    request_error_rate,
    request_error_rate_ci_low,
    request_error_rate_ci_high,
    thin,
    tool_call_f1,
    tool_call_f1_ci_low,
    tool_call_f1_ci_high,
    tool_call_verdict,
    context_length,
    quantization,
    price_rank,
    ttft_rank,
    decode_rank,
    reliability_rank
from ranked
order by period_type desc, period, model, price_rank nulls last, provider
