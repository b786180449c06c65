-- core_routing__groups: the grouped decisions, one row per group of requests that every policy
-- treats alike (published as marts.routing_groups, a folder per day). A group is a slot (model,
-- segment, time bucket), a fit mask and the cost order `ord` of the slot's candidates
-- (core_routing__request_groups, which also splits by sample rate for exact integer sums); every
-- choice below reads only the slot (availability, medians, prices: core_routing__slots), the mask
-- and the order, so it is made once per group and holds for each of its requests:
--   official: the official provider; the group is excluded (every outcome null) when it does not
--     fit, has no price (not a candidate) or is unavailable in the own bucket;
--   cost_oracle / throughput_oracle: the first fitting candidate of ord available in the own
--     bucket / the fitting candidate available there with the highest median decode throughput;
--   cheapest / fastest / lowest_p90_ttft: the first fitting candidate of ord / the highest median
--     decode throughput / the lowest p90 TTFT among fitting candidates available in the previous
--     bucket (no look-ahead); the official provider when none was, or when the pick turns out
--     unavailable in the own bucket (the gateway's fallback);
--   sort_price_with_retries: attempts = the first three fitting candidates of ord; attempt k
--     succeeds with its success rate s_k and serves with probability r_k = s_k x prod_(j<k)
--     (1 - s_j); throughput and TTFT are those of the serving attempt given success (sum r_k x_k
--     / sum r_k), success_prob = sum r_k; attempt k fails with probability f_k = (1 - s_k) x
--     prod_(j<k) (1 - s_j) and is then billed the request's input tokens at its prices with the
--     chance b_k its provider's logs bill failures (core_routing__failure_billing); provider =
--     attempt 1;
--   cheapest_list_price: the fitting candidate available in the previous bucket with the lowest
--     blended list price 0.75 x input + 0.25 x output now (the price a gateway's config sorts by,
--     blind to a request's cache hits), the official provider when none was or when the pick is
--     down in the own bucket: frozen_cheapest's rule with the order re-decided every bucket;
--   frozen_cheapest / frozen_fastest: the first fitting candidate available in the previous bucket
--     of the provider list frozen at the quarter's start (core_routing__frozen_orders: cost_order /
--     speed_order, a gateway's fixed fallback list), the official provider when none was or when
--     the pick is down in the own bucket; prices and speeds are those in force, only the order is
--     stale;
--   price_weighted_balance: the fitting candidates available in the previous bucket, weighted by
--     blended price^-2 (computed as (min blended / blended)^2, so no weight overflows; when one
--     is free the free ones share the request); expectations over the shares, a share sent to a
--     provider down in the own bucket is served (and billed) by the official provider;
--     provider = the largest share.
-- Throughput and TTFT keys break ties by provider name as the cost key does (x (1 -/+ rank x
-- 1e-14) -/+ rank x 1e-300); an exact tie left after that goes to the lower provider_idx.
-- Per policy P the columns P_provider, P_decode_tps, P_ttft_ms, P_success_prob (the same for
-- every request of the group), and the effective prices P_input_usd_per_mtok,
-- P_cached_input_usd_per_mtok, P_output_usd_per_mtok: a request's cost is
--   (input x uncached input + cached_input x cached input + output x output tokens) / 1e6
-- (the provider's prices; for retries the attempts' prices weighted by r_k, input and cached input
-- also by f_k x b_k (billed failed attempts); for balance the
-- shares' prices); P_cost_usd is the group's total, the same formula over its weighted sums.
-- Weighted sums come from exact integer token sums per sample rate: w_requests = sum over the
-- group's sample rates of requests / sample_rate, w_*_tokens likewise (no float is summed across
-- requests; the few sample rates add in ascending order, so the sums are the same bits every run).
-- The policies are those of pipeline/lib/routing/settings.py POLICIES (a test checks that every one has its
-- columns here and its rows in core_routing__policy_daily and the view marts.routing_decisions).
-- Reads the temporary tables `request_groups`, `slots`, `frozen_orders` and `failure_billing`.
with groups as (
    -- the sample rates of a group add up in a fixed order (ascending terms), so its weighted sums
    -- are the same bits whichever thread saw which rate first
    select
        date,
        model,
        seg_start,
        bucket,
        mask,
        ord,
        cast(sum(requests) as bigint) as requests,
        list_sum(list_sort(list(requests * (1.0 / sample_rate)))) as w_requests,
        list_sum(list_sort(list(cast(uncached_tokens as double) * (1.0 / sample_rate)))) as w_uncached_tokens,
        list_sum(list_sort(list(cast(cached_tokens as double) * (1.0 / sample_rate)))) as w_cached_tokens,
        list_sum(list_sort(list(cast(output_tokens as double) * (1.0 / sample_rate)))) as w_output_tokens,
        list_sum(list_sort(list(imputed_requests * (1.0 / sample_rate)))) as w_imputed_requests
    from request_groups
    group by date, model, seg_start, bucket, mask, ord
),

-- the choices that depend on the slot and the fit mask only
masks as (
    select
        s.*,
        m.mask,
        s.official_idx is not null and ((m.mask & s.own_ok_bits) >> (s.official_idx - 1)) & 1 = 1 as official_ok,
        list_filter(range(1, s.n_providers + 1), i -> ((m.mask & s.own_ok_bits) >> (i - 1)) & 1 = 1) as own_set,
        list_filter(range(1, s.n_providers + 1), i -> ((m.mask & s.prev_ok_bits) >> (i - 1)) & 1 = 1) as prev_set
    from (select distinct model, seg_start, bucket, mask from groups where seg_start is not null) as m
    inner join slots as s on s.model = m.model and s.seg_start = m.seg_start and s.bucket = m.bucket
),

mask_choices as (
    select
        *,
        list_min(list_transform(list_filter(own_set, i -> own_tps[i] is not null),
            i -> {'k': -(own_tps[i] * (1 - rank[i] * 1e-14) - rank[i] * 1e-300), 'i': i})).i as throughput_oracle,
        list_min(list_transform(list_filter(prev_set, i -> prev_tps[i] is not null),
            i -> {'k': -(prev_tps[i] * (1 - rank[i] * 1e-14) - rank[i] * 1e-300), 'i': i})).i as fastest_pick,
        list_min(list_transform(list_filter(prev_set, i -> prev_ttft_p90[i] is not null),
            i -> {'k': prev_ttft_p90[i] * (1 + rank[i] * 1e-14) + rank[i] * 1e-300, 'i': i})).i as lowest_p90_ttft_pick,
        list_min(list_transform(prev_set, i -> {'k': blended_price[i], 'i': i})).i as balance_pick,
        list_min(list_transform(prev_set, i -> blended_price[i])) as blended_min
    from masks
),

balance_weights as (
    select
        *,
        list_transform(prev_set, i -> case
            when blended_min > 0 then pow(blended_min / blended_price[i], 2)
            when blended_price[i] = 0 then 1.0
            else 0.0
        end) as bal_weight
    from mask_choices
),

-- as the request-level replay did: the weighted sums over the shares served where they were
-- sent, and the weight of the shares that fall back to the official provider
balance as (
    select
        *,
        list_sum(bal_weight) as bal_total,
        list_sum(list_transform(range(1, len(prev_set) + 1), k -> if((own_ok_bits >> (prev_set[k] - 1)) & 1 = 1, 0.0, bal_weight[k]))) as bal_fallback,
        list_sum(list_transform(range(1, len(prev_set) + 1), k -> if(
            (own_ok_bits >> (prev_set[k] - 1)) & 1 = 1,
            bal_weight[k] * input_price[prev_set[k]], null))) as bal_input,
        list_sum(list_transform(range(1, len(prev_set) + 1), k -> if(
            (own_ok_bits >> (prev_set[k] - 1)) & 1 = 1,
            bal_weight[k] * cached_price[prev_set[k]], null))) as bal_cached,
        list_sum(list_transform(range(1, len(prev_set) + 1), k -> if(
            (own_ok_bits >> (prev_set[k] - 1)) & 1 = 1,
            bal_weight[k] * output_price[prev_set[k]], null))) as bal_output,
        list_sum(list_transform(range(1, len(prev_set) + 1), k -> if(
            (own_ok_bits >> (prev_set[k] - 1)) & 1 = 1,
            bal_weight[k] * own_tps[prev_set[k]], null))) as bal_tps,
        list_sum(list_transform(range(1, len(prev_set) + 1), k -> if(
            (own_ok_bits >> (prev_set[k] - 1)) & 1 = 1,
            bal_weight[k] * own_ttft[prev_set[k]], null))) as bal_ttft,
        list_sum(list_transform(range(1, len(prev_set) + 1), k -> if(
            (own_ok_bits >> (prev_set[k] - 1)) & 1 = 1,
            bal_weight[k] * own_success[prev_set[k]], null))) as bal_success
    from balance_weights
),

-- the choices that also depend on the cost order
ordered as (
    select
        g.*,
        b.official_ok,
        b.official_idx as off,
        b.provider,
        b.input_price,
        b.cached_price,
        b.output_price,
        b.own_success,
        b.own_tps,
        b.own_ttft,
        b.throughput_oracle,
        b.fastest_pick,
        b.lowest_p90_ttft_pick,
        b.balance_pick,
        b.bal_total,
        b.bal_fallback,
        b.bal_input,
        b.bal_cached,
        b.bal_output,
        b.bal_tps,
        b.bal_ttft,
        b.bal_success,
        list_filter(g.ord, i -> (g.mask >> (i - 1)) & 1 = 1) as fit_ord,
        b.own_ok_bits,
        b.prev_ok_bits,
        -- the frozen lists as positions in the slot's candidates (a provider no longer listed drops out)
        list_filter(list_transform(f.cost_order, p -> list_position(b.provider, p)), i -> i is not null) as frozen_cost,
        list_filter(list_transform(f.speed_order, p -> list_position(b.provider, p)), i -> i is not null) as frozen_speed,
        fb.by_provider as bill_by_provider,
        fb.day_share as bill_day_share
    from groups as g
    left join balance as b on b.model = g.model and b.seg_start = g.seg_start and b.bucket = g.bucket and b.mask = g.mask
    left join frozen_orders as f on f.model = g.model and f.quarter = quarter_label(g.date)
    left join failure_billing as fb on fb.date = g.date
),

picked as (
    select
        *,
        list_filter(fit_ord, i -> (own_ok_bits >> (i - 1)) & 1 = 1)[1] as cost_oracle,
        list_filter(fit_ord, i -> (prev_ok_bits >> (i - 1)) & 1 = 1)[1] as cheapest_pick,
        list_filter(frozen_cost, i -> ((mask & prev_ok_bits) >> (i - 1)) & 1 = 1)[1] as frozen_cheapest_pick,
        list_filter(frozen_speed, i -> ((mask & prev_ok_bits) >> (i - 1)) & 1 = 1)[1] as frozen_fastest_pick,
        fit_ord[1] as a1,
        fit_ord[2] as a2,
        fit_ord[3] as a3
    from ordered
),

chosen as (
    select
        *,
        if((own_ok_bits >> (cheapest_pick - 1)) & 1 = 1, cheapest_pick, off) as cheapest,
        if((own_ok_bits >> (fastest_pick - 1)) & 1 = 1, fastest_pick, off) as fastest,
        if((own_ok_bits >> (lowest_p90_ttft_pick - 1)) & 1 = 1, lowest_p90_ttft_pick, off) as lowest_p90_ttft,
        if((own_ok_bits >> (balance_pick - 1)) & 1 = 1, balance_pick, off) as cheapest_list_price,
        if((own_ok_bits >> (frozen_cheapest_pick - 1)) & 1 = 1, frozen_cheapest_pick, off) as frozen_cheapest,
        if((own_ok_bits >> (frozen_fastest_pick - 1)) & 1 = 1, frozen_fastest_pick, off) as frozen_fastest,
        coalesce(own_success[a1], 0.0) as r1,
        (1 - coalesce(own_success[a1], 0.0)) * coalesce(own_success[a2], 0.0) as r2,
        (1 - coalesce(own_success[a1], 0.0)) * (1 - coalesce(own_success[a2], 0.0)) * coalesce(own_success[a3], 0.0) as r3,
        -- a failed attempt's chance of being billed, times the chance it is made and fails
        if(a1 is null, 0.0, coalesce(bill_by_provider[provider[a1]], bill_day_share, 0.0)
            * (1 - coalesce(own_success[a1], 0.0))) as fb1,
        if(a2 is null, 0.0, coalesce(bill_by_provider[provider[a2]], bill_day_share, 0.0)
            * (1 - coalesce(own_success[a1], 0.0)) * (1 - coalesce(own_success[a2], 0.0))) as fb2,
        if(a3 is null, 0.0, coalesce(bill_by_provider[provider[a3]], bill_day_share, 0.0)
            * (1 - coalesce(own_success[a1], 0.0)) * (1 - coalesce(own_success[a2], 0.0))
            * (1 - coalesce(own_success[a3], 0.0))) as fb3
    from picked
),

outcomes as (
    select
        date, model, seg_start, bucket, mask, ord, requests, w_requests, w_uncached_tokens, w_cached_tokens, w_output_tokens,
        w_imputed_requests, not coalesce(official_ok, false) as excluded,
        -- one struct per policy: provider, effective prices, throughput, TTFT, success
        {'provider': provider[off], 'input': input_price[off], 'cached': cached_price[off],
         'output': output_price[off], 'tps': own_tps[off], 'ttft': own_ttft[off],
         'success': own_success[off]} as official,
        {'provider': provider[cost_oracle], 'input': input_price[cost_oracle], 'cached': cached_price[cost_oracle],
         'output': output_price[cost_oracle], 'tps': own_tps[cost_oracle], 'ttft': own_ttft[cost_oracle],
         'success': own_success[cost_oracle]} as cost_oracle,
        {'provider': provider[throughput_oracle], 'input': input_price[throughput_oracle],
         'cached': cached_price[throughput_oracle], 'output': output_price[throughput_oracle],
         'tps': own_tps[throughput_oracle], 'ttft': own_ttft[throughput_oracle],
         'success': own_success[throughput_oracle]} as throughput_oracle,
        {'provider': provider[cheapest], 'input': input_price[cheapest], 'cached': cached_price[cheapest],
         'output': output_price[cheapest], 'tps': own_tps[cheapest], 'ttft': own_ttft[cheapest],
         'success': own_success[cheapest]} as cheapest,
        {'provider': provider[fastest], 'input': input_price[fastest], 'cached': cached_price[fastest],
         'output': output_price[fastest], 'tps': own_tps[fastest], 'ttft': own_ttft[fastest],
         'success': own_success[fastest]} as fastest,
        {'provider': provider[lowest_p90_ttft], 'input': input_price[lowest_p90_ttft],
         'cached': cached_price[lowest_p90_ttft], 'output': output_price[lowest_p90_ttft],
         'tps': own_tps[lowest_p90_ttft], 'ttft': own_ttft[lowest_p90_ttft],
         'success': own_success[lowest_p90_ttft]} as lowest_p90_ttft,
        {'provider': provider[a1],
         'input': (r1 + fb1) * input_price[a1] + (r2 + fb2) * coalesce(input_price[a2], 0)
            + (r3 + fb3) * coalesce(input_price[a3], 0),
         'cached': (r1 + fb1) * cached_price[a1] + (r2 + fb2) * coalesce(cached_price[a2], 0)
            + (r3 + fb3) * coalesce(cached_price[a3], 0),
         'output': r1 * output_price[a1] + r2 * coalesce(output_price[a2], 0) + r3 * coalesce(output_price[a3], 0),
         'tps': if(r1 + r2 + r3 = 0, null,
            (r1 * coalesce(own_tps[a1], 0) + r2 * coalesce(own_tps[a2], 0) + r3 * coalesce(own_tps[a3], 0)) / (r1 + r2 + r3)),
         'ttft': if(r1 + r2 + r3 = 0, null,
            (r1 * coalesce(own_ttft[a1], 0) + r2 * coalesce(own_ttft[a2], 0) + r3 * coalesce(own_ttft[a3], 0)) / (r1 + r2 + r3)),
         'success': r1 + r2 + r3} as sort_price_with_retries,
        {'provider': provider[coalesce(balance_pick, off)],
         'input': coalesce((coalesce(bal_input, 0) + coalesce(bal_fallback, 0) * input_price[off]) / bal_total, input_price[off]),
         'cached': coalesce((coalesce(bal_cached, 0) + coalesce(bal_fallback, 0) * cached_price[off]) / bal_total, cached_price[off]),
         'output': coalesce((coalesce(bal_output, 0) + coalesce(bal_fallback, 0) * output_price[off]) / bal_total, output_price[off]),
         'tps': coalesce((coalesce(bal_tps, 0) + coalesce(bal_fallback, 0) * own_tps[off]) / bal_total, own_tps[off]),
         'ttft': coalesce((coalesce(bal_ttft, 0) + coalesce(bal_fallback, 0) * own_ttft[off]) / bal_total, own_ttft[off]),
         'success': coalesce((coalesce(bal_success, 0) + coalesce(bal_fallback, 0) * own_success[off]) / bal_total, own_success[off])
        } as price_weighted_balance,
        {'provider': provider[cheapest_list_price], 'input': input_price[cheapest_list_price],
         'cached': cached_price[cheapest_list_price], 'output': output_price[cheapest_list_price],
         'tps': own_tps[cheapest_list_price], 'ttft': own_ttft[cheapest_list_price],
         'success': own_success[cheapest_list_price]} as cheapest_list_price,
        {'provider': provider[frozen_cheapest], 'input': input_price[frozen_cheapest],
         'cached': cached_price[frozen_cheapest], 'output': output_price[frozen_cheapest],
         'tps': own_tps[frozen_cheapest], 'ttft': own_ttft[frozen_cheapest],
         'success': own_success[frozen_cheapest]} as frozen_cheapest,
        {'provider': provider[frozen_fastest], 'input': input_price[frozen_fastest],
         'cached': cached_price[frozen_fastest], 'output': output_price[frozen_fastest],
         'tps': own_tps[frozen_fastest], 'ttft': own_ttft[frozen_fastest],
         'success': own_success[frozen_fastest]} as frozen_fastest
    from chosen
)

select
    date, model, seg_start, bucket, mask, ord, requests, w_requests,
    w_uncached_tokens, w_cached_tokens, w_output_tokens, w_imputed_requests, excluded,
    if(excluded, null, official.provider) as official_provider,
    if(excluded, null, official.input) as official_input_usd_per_mtok,
    if(excluded, null, official.cached) as official_cached_input_usd_per_mtok,
    if(excluded, null, official.output) as official_output_usd_per_mtok,
    if(excluded, null, official.tps) as official_decode_tps,
    if(excluded, null, official.ttft) as official_ttft_ms,
    if(excluded, null, official.success) as official_success_prob,
    if(excluded, null, (official.input * w_uncached_tokens + official.cached * w_cached_tokens + official.output * w_output_tokens) / 1e6) as official_cost_usd,
    if(excluded, null, cost_oracle.provider) as cost_oracle_provider,
    if(excluded, null, cost_oracle.input) as cost_oracle_input_usd_per_mtok,
    if(excluded, null, cost_oracle.cached) as cost_oracle_cached_input_usd_per_mtok,
    if(excluded, null, cost_oracle.output) as cost_oracle_output_usd_per_mtok,
    if(excluded, null, cost_oracle.tps) as cost_oracle_decode_tps,
    if(excluded, null, cost_oracle.ttft) as cost_oracle_ttft_ms,
    if(excluded, null, cost_oracle.success) as cost_oracle_success_prob,
    if(excluded, null, (cost_oracle.input * w_uncached_tokens + cost_oracle.cached * w_cached_tokens
        + cost_oracle.output * w_output_tokens) / 1e6) as cost_oracle_cost_usd,
    if(excluded, null, throughput_oracle.provider) as throughput_oracle_provider,
    if(excluded, null, throughput_oracle.input) as throughput_oracle_input_usd_per_mtok,
    if(excluded, null, throughput_oracle.cached) as throughput_oracle_cached_input_usd_per_mtok,
    if(excluded, null, throughput_oracle.output) as throughput_oracle_output_usd_per_mtok,
    if(excluded, null, throughput_oracle.tps) as throughput_oracle_decode_tps,
    if(excluded, null, throughput_oracle.ttft) as throughput_oracle_ttft_ms,
    if(excluded, null, throughput_oracle.success) as throughput_oracle_success_prob,
    if(excluded, null, (throughput_oracle.input * w_uncached_tokens + throughput_oracle.cached * w_cached_tokens
        + throughput_oracle.output * w_output_tokens) / 1e6) as throughput_oracle_cost_usd,
    if(excluded, null, cheapest.provider) as cheapest_provider,
    if(excluded, null, cheapest.input) as cheapest_input_usd_per_mtok,
    if(excluded, null, cheapest.cached) as cheapest_cached_input_usd_per_mtok,
    if(excluded, null, cheapest.output) as cheapest_output_usd_per_mtok,
    if(excluded, null, cheapest.tps) as cheapest_decode_tps,
    if(excluded, null, cheapest.ttft) as cheapest_ttft_ms,
    if(excluded, null, cheapest.success) as cheapest_success_prob,
    if(excluded, null, (cheapest.input * w_uncached_tokens + cheapest.cached * w_cached_tokens + cheapest.output * w_output_tokens) / 1e6) as cheapest_cost_usd,
    if(excluded, null, fastest.provider) as fastest_provider,
    if(excluded, null, fastest.input) as fastest_input_usd_per_mtok,
    if(excluded, null, fastest.cached) as fastest_cached_input_usd_per_mtok,
    if(excluded, null, fastest.output) as fastest_output_usd_per_mtok,
    if(excluded, null, fastest.tps) as fastest_decode_tps,
    if(excluded, null, fastest.ttft) as fastest_ttft_ms,
    if(excluded, null, fastest.success) as fastest_success_prob,
    if(excluded, null, (fastest.input * w_uncached_tokens + fastest.cached * w_cached_tokens + fastest.output * w_output_tokens) / 1e6) as fastest_cost_usd,
    if(excluded, null, lowest_p90_ttft.provider) as lowest_p90_ttft_provider,
    if(excluded, null, lowest_p90_ttft.input) as lowest_p90_ttft_input_usd_per_mtok,
    if(excluded, null, lowest_p90_ttft.cached) as lowest_p90_ttft_cached_input_usd_per_mtok,
    if(excluded, null, lowest_p90_ttft.output) as lowest_p90_ttft_output_usd_per_mtok,
    if(excluded, null, lowest_p90_ttft.tps) as lowest_p90_ttft_decode_tps,
    if(excluded, null, lowest_p90_ttft.ttft) as lowest_p90_ttft_ttft_ms,
    if(excluded, null, lowest_p90_ttft.success) as lowest_p90_ttft_success_prob,
    if(excluded, null, (lowest_p90_ttft.input * w_uncached_tokens + lowest_p90_ttft.cached * w_cached_tokens
        + lowest_p90_ttft.output * w_output_tokens) / 1e6) as lowest_p90_ttft_cost_usd,
    if(excluded, null, sort_price_with_retries.provider) as sort_price_with_retries_provider,
    if(excluded, null, sort_price_with_retries.input) as sort_price_with_retries_input_usd_per_mtok,
    if(excluded, null, sort_price_with_retries.cached) as sort_price_with_retries_cached_input_usd_per_mtok,
    if(excluded, null, sort_price_with_retries.output) as sort_price_with_retries_output_usd_per_mtok,
    if(excluded, null, sort_price_with_retries.tps) as sort_price_with_retries_decode_tps,
    if(excluded, null, sort_price_with_retries.ttft) as sort_price_with_retries_ttft_ms,
    if(excluded, null, sort_price_with_retries.success) as sort_price_with_retries_success_prob,
    if(excluded, null, (sort_price_with_retries.input * w_uncached_tokens + sort_price_with_retries.cached * w_cached_tokens
        + sort_price_with_retries.output * w_output_tokens) / 1e6) as sort_price_with_retries_cost_usd,
    if(excluded, null, price_weighted_balance.provider) as price_weighted_balance_provider,
    if(excluded, null, price_weighted_balance.input) as price_weighted_balance_input_usd_per_mtok,
    if(excluded, null, price_weighted_balance.cached) as price_weighted_balance_cached_input_usd_per_mtok,
    if(excluded, null, price_weighted_balance.output) as price_weighted_balance_output_usd_per_mtok,
    if(excluded, null, price_weighted_balance.tps) as price_weighted_balance_decode_tps,
    if(excluded, null, price_weighted_balance.ttft) as price_weighted_balance_ttft_ms,
    if(excluded, null, price_weighted_balance.success) as price_weighted_balance_success_prob,
    if(excluded, null, (price_weighted_balance.input * w_uncached_tokens + price_weighted_balance.cached * w_cached_tokens
        + price_weighted_balance.output * w_output_tokens) / 1e6) as price_weighted_balance_cost_usd,
    if(excluded, null, cheapest_list_price.provider) as cheapest_list_price_provider,
    if(excluded, null, cheapest_list_price.input) as cheapest_list_price_input_usd_per_mtok,
    if(excluded, null, cheapest_list_price.cached) as cheapest_list_price_cached_input_usd_per_mtok,
    if(excluded, null, cheapest_list_price.output) as cheapest_list_price_output_usd_per_mtok,
    if(excluded, null, cheapest_list_price.tps) as cheapest_list_price_decode_tps,
    if(excluded, null, cheapest_list_price.ttft) as cheapest_list_price_ttft_ms,
    if(excluded, null, cheapest_list_price.success) as cheapest_list_price_success_prob,
    if(excluded, null, (cheapest_list_price.input * w_uncached_tokens + cheapest_list_price.cached * w_cached_tokens
        + cheapest_list_price.output * w_output_tokens) / 1e6) as cheapest_list_price_cost_usd,
    if(excluded, null, frozen_cheapest.provider) as frozen_cheapest_provider,
    if(excluded, null, frozen_cheapest.input) as frozen_cheapest_input_usd_per_mtok,
    if(excluded, null, frozen_cheapest.cached) as frozen_cheapest_cached_input_usd_per_mtok,
    if(excluded, null, frozen_cheapest.output) as frozen_cheapest_output_usd_per_mtok,
    if(excluded, null, frozen_cheapest.tps) as frozen_cheapest_decode_tps,
    if(excluded, null, frozen_cheapest.ttft) as frozen_cheapest_ttft_ms,
    if(excluded, null, frozen_cheapest.success) as frozen_cheapest_success_prob,
    if(excluded, null, (frozen_cheapest.input * w_uncached_tokens + frozen_cheapest.cached * w_cached_tokens
        + frozen_cheapest.output * w_output_tokens) / 1e6) as frozen_cheapest_cost_usd,
    if(excluded, null, frozen_fastest.provider) as frozen_fastest_provider,
    if(excluded, null, frozen_fastest.input) as frozen_fastest_input_usd_per_mtok,
    if(excluded, null, frozen_fastest.cached) as frozen_fastest_cached_input_usd_per_mtok,
    if(excluded, null, frozen_fastest.output) as frozen_fastest_output_usd_per_mtok,
    if(excluded, null, frozen_fastest.tps) as frozen_fastest_decode_tps,
    if(excluded, null, frozen_fastest.ttft) as frozen_fastest_ttft_ms,
    if(excluded, null, frozen_fastest.success) as frozen_fastest_success_prob,
    if(excluded, null, (frozen_fastest.input * w_uncached_tokens + frozen_fastest.cached * w_cached_tokens
        + frozen_fastest.output * w_output_tokens) / 1e6) as frozen_fastest_cost_usd
from outcomes
