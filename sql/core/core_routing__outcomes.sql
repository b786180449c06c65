-- core_routing__outcomes: one row per routed request with what every policy gives it (wide; the
-- published routing_decisions table is its long form). Reads the temporary tables
-- `routed_requests`, `choices` and `slots`.
-- A request on provider p costs its billed tokens at p's prices in force (cached input at the
-- cached price when one is listed) and gets p's median decode throughput and median TTFT in the
-- request's bucket; success is p's probe success rate there.
--   official, cost_oracle, throughput_oracle: the pick itself;
--   cheapest, fastest, lowest_p90_ttft: the pick, or the official provider when the pick turns
--     out unavailable in the request's own bucket (the gateway's fallback);
--   sort_price_with_retries: attempts in price order until one succeeds, at most 3 (2 retries);
--     attempt k succeeds with probability s_k (its provider's success rate in the bucket), so it
--     serves the request with probability r_k = s_k x prod_(j<k) (1 - s_j); expected cost =
--     sum r_k cost_k (failed attempts are not billed); throughput and TTFT are those of the
--     serving attempt given success, sum r_k x_k / sum r_k; provider = the first attempt;
--   price_weighted_balance: expected values over the cost^-2 weights, the share of a provider
--     unavailable in the own bucket served by the official provider; provider = the largest
--     share (the cheapest).
-- A request is excluded (every outcome null) when the official provider cannot serve it.
with picked as (
    select
        r.*,
        ch.official is not null as official_ok,
        ch.bal_w,
        ch.bal_w_fallback,
        ch.bal_cost,
        ch.bal_tps,
        ch.bal_ttft,
        ch.bal_success,
        coalesce(ch.cheapest, ch.official) as balance_provider_key,
        ch.official as official_provider_key,
        ch.cost_oracle as cost_oracle_provider_key,
        ch.throughput_oracle as throughput_oracle_provider_key,
        if(ch.cheapest_ok, ch.cheapest, ch.official) as cheapest_provider_key,
        if(ch.fastest_ok, ch.fastest, ch.official) as fastest_provider_key,
        if(ch.lowest_p90_ttft_ok, ch.lowest_p90_ttft, ch.official) as lowest_p90_ttft_provider_key,
        ch.attempts[1] as attempt_1_provider_key,
        ch.attempts[2] as attempt_2_provider_key,
        ch.attempts[3] as attempt_3_provider_key
    from routed_requests as r
    left join choices as ch on ch.key = r.key
),

served as (
    select
        p.key,
        p.request_id,
        p.date,
        p.month,
        p.quarter,
        p.model,
        p.w,
        not p.official_ok as excluded,
        p.bal_w,
        p.bal_w_fallback,
        p.bal_cost,
        p.bal_tps,
        p.bal_ttft,
        p.bal_success,
        s_bp.provider as balance_provider,
        s_o.provider as official_provider,
        s_co.provider as cost_oracle_provider,
        s_to.provider as throughput_oracle_provider,
        s_ch.provider as cheapest_provider,
        s_fa.provider as fastest_provider,
        s_lt.provider as lowest_p90_ttft_provider,
        s_a1.provider as attempt_1_provider,
        s_a2.provider as attempt_2_provider,
        s_a3.provider as attempt_3_provider,
        (p.uncached_tokens * s_o.input_usd_per_mtok + p.cached_tokens * s_o.cached_input_usd_per_mtok + p.output_tokens * s_o.output_usd_per_mtok) / 1e6 as official_cost,
        s_o.decode_tps_p50 as official_tps,
        s_o.ttft_p50_ms as official_ttft,
        coalesce(s_o.success_rate, 0.0) as official_success,
        (p.uncached_tokens * s_co.input_usd_per_mtok + p.cached_tokens * s_co.cached_input_usd_per_mtok + p.output_tokens * s_co.output_usd_per_mtok) / 1e6 as cost_oracle_cost,
        s_co.decode_tps_p50 as cost_oracle_tps,
        s_co.ttft_p50_ms as cost_oracle_ttft,
        coalesce(s_co.success_rate, 0.0) as cost_oracle_success,
        (p.uncached_tokens * s_to.input_usd_per_mtok + p.cached_tokens * s_to.cached_input_usd_per_mtok + p.output_tokens * s_to.output_usd_per_mtok) / 1e6 as throughput_oracle_cost,
        s_to.decode_tps_p50 as throughput_oracle_tps,
        s_to.ttft_p50_ms as throughput_oracle_ttft,
        coalesce(s_to.success_rate, 0.0) as throughput_oracle_success,
        (p.uncached_tokens * s_ch.input_usd_per_mtok + p.cached_tokens * s_ch.cached_input_usd_per_mtok + p.output_tokens * s_ch.output_usd_per_mtok) / 1e6 as cheapest_cost,
        s_ch.decode_tps_p50 as cheapest_tps,
        s_ch.ttft_p50_ms as cheapest_ttft,
        coalesce(s_ch.success_rate, 0.0) as cheapest_success,
        (p.uncached_tokens * s_fa.input_usd_per_mtok + p.cached_tokens * s_fa.cached_input_usd_per_mtok + p.output_tokens * s_fa.output_usd_per_mtok) / 1e6 as fastest_cost,
        s_fa.decode_tps_p50 as fastest_tps,
        s_fa.ttft_p50_ms as fastest_ttft,
        coalesce(s_fa.success_rate, 0.0) as fastest_success,
        (p.uncached_tokens * s_lt.input_usd_per_mtok + p.cached_tokens * s_lt.cached_input_usd_per_mtok + p.output_tokens * s_lt.output_usd_per_mtok) / 1e6 as lowest_p90_ttft_cost,
        s_lt.decode_tps_p50 as lowest_p90_ttft_tps,
        s_lt.ttft_p50_ms as lowest_p90_ttft_ttft,
        coalesce(s_lt.success_rate, 0.0) as lowest_p90_ttft_success,
        (p.uncached_tokens * s_a1.input_usd_per_mtok + p.cached_tokens * s_a1.cached_input_usd_per_mtok + p.output_tokens * s_a1.output_usd_per_mtok) / 1e6 as attempt_1_cost,
        s_a1.decode_tps_p50 as attempt_1_tps,
        s_a1.ttft_p50_ms as attempt_1_ttft,
        coalesce(s_a1.success_rate, 0.0) as attempt_1_success,
        (p.uncached_tokens * s_a2.input_usd_per_mtok + p.cached_tokens * s_a2.cached_input_usd_per_mtok + p.output_tokens * s_a2.output_usd_per_mtok) / 1e6 as attempt_2_cost,
        s_a2.decode_tps_p50 as attempt_2_tps,
        s_a2.ttft_p50_ms as attempt_2_ttft,
        coalesce(s_a2.success_rate, 0.0) as attempt_2_success,
        (p.uncached_tokens * s_a3.input_usd_per_mtok + p.cached_tokens * s_a3.cached_input_usd_per_mtok + p.output_tokens * s_a3.output_usd_per_mtok) / 1e6 as attempt_3_cost,
        s_a3.decode_tps_p50 as attempt_3_tps,
        s_a3.ttft_p50_ms as attempt_3_ttft,
        coalesce(s_a3.success_rate, 0.0) as attempt_3_success
    from picked as p
    left join slots as s_o on s_o.slot_key = p.official_provider_key
    left join slots as s_co on s_co.slot_key = p.cost_oracle_provider_key
    left join slots as s_to on s_to.slot_key = p.throughput_oracle_provider_key
    left join slots as s_ch on s_ch.slot_key = p.cheapest_provider_key
    left join slots as s_fa on s_fa.slot_key = p.fastest_provider_key
    left join slots as s_lt on s_lt.slot_key = p.lowest_p90_ttft_provider_key
    left join slots as s_a1 on s_a1.slot_key = p.attempt_1_provider_key
    left join slots as s_a2 on s_a2.slot_key = p.attempt_2_provider_key
    left join slots as s_a3 on s_a3.slot_key = p.attempt_3_provider_key
    left join slots as s_bp on s_bp.slot_key = p.balance_provider_key
),

retried as (
    select
        *,
        attempt_1_success as r1,
        (1 - attempt_1_success) * attempt_2_success as r2,
        (1 - attempt_1_success) * (1 - attempt_2_success) * attempt_3_success as r3
    from served
)

select
    key,
    request_id,
    date,
    month,
    quarter,
    model,
    w,
    excluded,
    if(excluded, null, official_provider) as official_provider,
    if(excluded, null, official_cost) as official_cost,
    if(excluded, null, official_tps) as official_tps,
    if(excluded, null, official_ttft) as official_ttft,
    if(excluded, null, official_success) as official_success,
    if(excluded, null, cost_oracle_provider) as cost_oracle_provider,
    if(excluded, null, cost_oracle_cost) as cost_oracle_cost,
    if(excluded, null, cost_oracle_tps) as cost_oracle_tps,
    if(excluded, null, cost_oracle_ttft) as cost_oracle_ttft,
    if(excluded, null, cost_oracle_success) as cost_oracle_success,
    if(excluded, null, throughput_oracle_provider) as throughput_oracle_provider,
    if(excluded, null, throughput_oracle_cost) as throughput_oracle_cost,
    if(excluded, null, throughput_oracle_tps) as throughput_oracle_tps,
    if(excluded, null, throughput_oracle_ttft) as throughput_oracle_ttft,
    if(excluded, null, throughput_oracle_success) as throughput_oracle_success,
    if(excluded, null, cheapest_provider) as cheapest_provider,
    if(excluded, null, cheapest_cost) as cheapest_cost,
    if(excluded, null, cheapest_tps) as cheapest_tps,
    if(excluded, null, cheapest_ttft) as cheapest_ttft,
    if(excluded, null, cheapest_success) as cheapest_success,
    if(excluded, null, fastest_provider) as fastest_provider,
    if(excluded, null, fastest_cost) as fastest_cost,
    if(excluded, null, fastest_tps) as fastest_tps,
    if(excluded, null, fastest_ttft) as fastest_ttft,
    if(excluded, null, fastest_success) as fastest_success,
    if(excluded, null, lowest_p90_ttft_provider) as lowest_p90_ttft_provider,
    if(excluded, null, lowest_p90_ttft_cost) as lowest_p90_ttft_cost,
    if(excluded, null, lowest_p90_ttft_tps) as lowest_p90_ttft_tps,
    if(excluded, null, lowest_p90_ttft_ttft) as lowest_p90_ttft_ttft,
    if(excluded, null, lowest_p90_ttft_success) as lowest_p90_ttft_success,
    if(excluded, null, attempt_1_provider) as sort_price_with_retries_provider,
    if(excluded, null, r1 * attempt_1_cost + r2 * coalesce(attempt_2_cost, 0) + r3 * coalesce(attempt_3_cost, 0)) as sort_price_with_retries_cost,
    if(excluded or r1 + r2 + r3 = 0, null,
        (r1 * coalesce(attempt_1_tps, 0) + r2 * coalesce(attempt_2_tps, 0) + r3 * coalesce(attempt_3_tps, 0)) / (r1 + r2 + r3)) as sort_price_with_retries_tps,
    if(excluded or r1 + r2 + r3 = 0, null,
        (r1 * coalesce(attempt_1_ttft, 0) + r2 * coalesce(attempt_2_ttft, 0) + r3 * coalesce(attempt_3_ttft, 0)) / (r1 + r2 + r3)) as sort_price_with_retries_ttft,
    if(excluded, null, r1 + r2 + r3) as sort_price_with_retries_success,
    if(excluded, null, balance_provider) as price_weighted_balance_provider,
    if(excluded, null, coalesce((coalesce(bal_cost, 0) + coalesce(bal_w_fallback, 0) * official_cost) / bal_w, official_cost)) as price_weighted_balance_cost,
    if(excluded, null, coalesce((coalesce(bal_tps, 0) + coalesce(bal_w_fallback, 0) * official_tps) / bal_w, official_tps)) as price_weighted_balance_tps,
    if(excluded, null, coalesce((coalesce(bal_ttft, 0) + coalesce(bal_w_fallback, 0) * official_ttft) / bal_w, official_ttft)) as price_weighted_balance_ttft,
    if(excluded, null, coalesce((coalesce(bal_success, 0) + coalesce(bal_w_fallback, 0) * official_success) / bal_w, official_success)) as price_weighted_balance_success
from retried
