-- core_routing__choices: one row per routed request (by `key`): which provider each policy picks,
-- as the `slot_key` of the (slot, provider) row in `slots`; `official` is null when the official
-- provider cannot serve the request (it is then excluded).
-- Reads the temporary tables `routed_requests` and `slots`.
--
-- Per request r of model m at t (contract, section 3): candidates are the providers of r's
-- segment (endpoint valid and price in force at t); a candidate fits when context_length >=
-- input + output, output <= max_output_tokens (when set) and it supports what r needed (tools,
-- json mode, streaming); it is available in a bucket when its probe success rate there is >=
-- $min_success (no probes: not available). The baseline is the official provider; a request it
-- cannot serve (no price, does not fit, not available in r's own bucket) is excluded.
--   cost_oracle / throughput_oracle: cheapest / fastest fitting provider available in r's own bucket
--   cheapest / fastest / lowest_p90_ttft: by price / previous bucket's median decode throughput /
--     previous bucket's p90 TTFT, among fitting providers available in the previous bucket (no
--     look-ahead); *_ok says whether the pick was available in r's own bucket after all
--   attempt_1..3: fitting providers in price order (sort_price_with_retries)
--   bal_*: cost^-2-weighted sums over fitting providers available in the previous bucket
--     (price_weighted_balance): bal_w all of them, bal_w_fallback those unavailable in r's own
--     bucket (their share falls back to the official provider), bal_cost/tps/ttft/success the
--     weighted outcomes of the others
-- Ties are broken by provider name: keys are scaled by (1 +/- rank x 1e-14), far below any real
-- difference, and shifted by rank x 1e-300 so that equal zeros (a request billed 0 tokens) are
-- ordered too; a tie never depends on row order.
-- Parameters: $min_success.
with cand as (
    select
        r.key,
        r.official_provider,
        c.provider,
        c.slot_key,
        (r.uncached_tokens * c.input_usd_per_mtok + r.cached_tokens * c.cached_input_usd_per_mtok
            + r.output_tokens * c.output_usd_per_mtok) / 1e6 as cost,
        c.provider_rank,
        coalesce(
            c.context_length >= r.uncached_tokens + r.cached_tokens + r.output_tokens
            and (c.max_output_tokens is null or r.output_tokens <= c.max_output_tokens)
            and (not r.tools or c.supports_tools)
            and (not r.json_mode or c.supports_json_mode)
            and (not r.stream or c.supports_streaming),
            false
        ) as fits,
        coalesce(c.success_rate, 0.0) as own_success,
        coalesce(c.success_rate >= $min_success, false) as own_ok,
        coalesce(c.prev_success_rate >= $min_success, false) as prev_ok,
        c.decode_tps_p50 as own_tps,
        c.ttft_p50_ms as own_ttft,
        c.prev_decode_tps_p50 as prev_tps,
        c.prev_ttft_p90_ms as prev_ttft_p90
    from routed_requests as r
    inner join slots as c on c.slot_id = r.slot_id
),

keyed as (
    select
        key,
        official_provider,
        provider,
        slot_key,
        cost,
        own_ok,
        own_success,
        own_tps,
        own_ttft,
        fits and cost is not null and own_ok as own_usable,
        fits and cost is not null and prev_ok as prev_usable,
        fits and cost is not null as usable,
        cost * (1 + provider_rank * 1e-14) + provider_rank * 1e-300 as cost_key,
        own_tps * (1 - provider_rank * 1e-14) - provider_rank * 1e-300 as own_tps_key,
        prev_tps * (1 - provider_rank * 1e-14) - provider_rank * 1e-300 as prev_tps_key,
        prev_ttft_p90 * (1 + provider_rank * 1e-14) + provider_rank * 1e-300 as prev_ttft_key,
        pow(greatest(cost, 1e-12), -2) as bal_weight
    from cand
)

select
    key,
    any_value(slot_key) filter (where provider = official_provider and own_usable) as official,
    arg_min(slot_key, cost_key) filter (where own_usable) as cost_oracle,
    arg_max(slot_key, own_tps_key) filter (where own_usable) as throughput_oracle,
    arg_min(slot_key, cost_key) filter (where prev_usable) as cheapest,
    arg_min(own_ok, cost_key) filter (where prev_usable) as cheapest_ok,
    arg_max(slot_key, prev_tps_key) filter (where prev_usable) as fastest,
    arg_max(own_ok, prev_tps_key) filter (where prev_usable) as fastest_ok,
    arg_min(slot_key, prev_ttft_key) filter (where prev_usable) as lowest_p90_ttft,
    arg_min(own_ok, prev_ttft_key) filter (where prev_usable) as lowest_p90_ttft_ok,
    arg_min(slot_key, cost_key, 3) filter (where usable) as attempts,
    sum(bal_weight) filter (where prev_usable) as bal_w,
    sum(bal_weight) filter (where prev_usable and not own_ok) as bal_w_fallback,
    sum(bal_weight * cost) filter (where prev_usable and own_ok) as bal_cost,
    sum(bal_weight * own_tps) filter (where prev_usable and own_ok) as bal_tps,
    sum(bal_weight * own_ttft) filter (where prev_usable and own_ok) as bal_ttft,
    sum(bal_weight * own_success) filter (where prev_usable and own_ok) as bal_success
from keyed
group by key
