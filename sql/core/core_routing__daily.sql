-- core_routing__daily: per (day, model, objective, contract policy) the weighted sums that
-- routing_counterfactual and its paired day-bootstrap need, over the requests where both the
-- baseline and the routed value exist. Reads the temporary table `groups` (core_routing__groups,
-- one row per group with every policy's outcome): every request of a group has the same outcome,
-- so a day's sums are sums over its groups (cost: the group totals; throughput: the group's
-- weight x its value).
-- The contract's policies map onto the replayed ones (pipeline/lib/routing/settings.py CONTRACT_POLICIES):
-- cost/oracle = cost_oracle, cost/causal = cheapest, throughput/oracle = throughput_oracle,
-- throughput/causal = fastest, cost/frozen = frozen_cheapest, throughput/frozen = frozen_fastest;
-- the baseline is `official`. imputed: the routed requests
-- (weighted) whose cache hits were estimated (core_routing__cache_rates).
-- cost: routed_sum and base_sum are total USD; throughput: weighted sums of decode tok/s, so
-- their ratio is the ratio of weighted means over the same requests (the contract's
-- per-request mean). For throughput also the totals: output_tokens (weighted) and the decode
-- seconds they take routed and at the baseline (tokens / the provider's decode tok/s), whose
-- ratio is the tokens-per-second of the traffic as a whole (token-weighted); null for cost.
-- imputed_var_*: what the unknown cache hits add to the uncertainty (issue 14). A request whose
-- hits were estimated is replayed as a hit (chance pi) and a miss (core_routing__request_groups);
-- the log's truth is one of the two, so the estimate's error on it has variance
-- w^2 pi (1 - pi) d^2, d being the difference of its value between the two parts, on the routed
-- side (d_r) and the baseline side (d_b). The day sums of w^2 pi (1 - pi) d_r^2, d_r d_b and
-- d_b^2 (imputed_var_routed, imputed_cov, imputed_var_base) give the ratio routed / base the
-- variance (var_routed - 2 rho cov + rho^2 var_base) / base^2 (pipeline/lib/routing/marts.py
-- counterfactual). Cost is linear in a request's (input, cached, output) tokens, so the sums come
-- exactly from the request groups' token products: d = a . x with a the price differences
-- between the part's groups. Throughput: d is the difference of decode tok/s; and for the
-- traffic total (the *_s columns) the difference of decode seconds, output x (1 / tps).
-- Every sum adds its terms in ascending order (list_sum of a sorted list), so a day's sums are the
-- same bits whichever other days are replayed with it and whichever thread saw which group.
with pairs as (
    select date, model, official_provider, w_requests as w, w_imputed_requests as w_imputed, excluded, 'cost' as objective,
           'oracle' as policy, cost_oracle_cost_usd as routed, official_cost_usd as base,
           null::double as tokens, null::double as routed_s, null::double as base_s
    from groups
    union all
    select date, model, official_provider, w_requests, w_imputed_requests, excluded, 'cost', 'causal', cheapest_cost_usd, official_cost_usd,
           null, null, null
    from groups
    union all
    select date, model, official_provider, w_requests, w_imputed_requests, excluded, 'throughput', 'oracle',
           w_requests * throughput_oracle_decode_tps, w_requests * official_decode_tps,
           w_output_tokens, w_output_tokens / nullif(throughput_oracle_decode_tps, 0), w_output_tokens / nullif(official_decode_tps, 0)
    from groups
    union all
    select date, model, official_provider, w_requests, w_imputed_requests, excluded, 'throughput', 'causal',
           w_requests * fastest_decode_tps, w_requests * official_decode_tps,
           w_output_tokens, w_output_tokens / nullif(fastest_decode_tps, 0), w_output_tokens / nullif(official_decode_tps, 0)
    from groups
    union all
    select date, model, official_provider, w_requests, w_imputed_requests, excluded, 'cost', 'frozen', frozen_cheapest_cost_usd,
           official_cost_usd, null, null, null
    from groups
    union all
    select date, model, official_provider, w_requests, w_imputed_requests, excluded, 'throughput', 'frozen',
           w_requests * frozen_fastest_decode_tps, w_requests * official_decode_tps,
           w_output_tokens, w_output_tokens / nullif(frozen_fastest_decode_tps, 0), w_output_tokens / nullif(official_decode_tps, 0)
    from groups
),

flagged as (
    select *, not excluded and routed is not null and base is not null as paired from pairs
),

-- the paired hit parts with their miss parts' groups, per contract policy the differences between
-- the two groups on the routed (r) and the baseline (b) side. Cost: of the USD per million input,
-- cached (over input) and output tokens, so that d = (r1 input + r2 cached + r3 output) / 1e6.
-- Throughput: of the decode tok/s (r1) and of its inverse (r2: seconds per output token). f is
-- w^2 pi (1 - pi), w = 1 / (sample_rate x pi) for the hit part's sample rate.
imputed_parts as (
    select
        rg.date,
        rg.model,
        (1 - rg.pair_hit_share) / (rg.pair_hit_share * rg.sample_rate * rg.sample_rate) as f,
        cast(rg.requests as double) as n,
        cast(rg.pair_ii as double) as ii, cast(rg.pair_ic as double) as ic, cast(rg.pair_io as double) as io,
        cast(rg.pair_cc as double) as cc, cast(rg.pair_co as double) as co, cast(rg.pair_oo as double) as oo,
        h.excluded or m.excluded as excluded,
        unnest([
            {'objective': 'cost', 'policy': 'oracle',
             'r1': h.cost_oracle_input_usd_per_mtok - m.cost_oracle_input_usd_per_mtok,
             'r2': h.cost_oracle_cached_input_usd_per_mtok - h.cost_oracle_input_usd_per_mtok,
             'r3': h.cost_oracle_output_usd_per_mtok - m.cost_oracle_output_usd_per_mtok,
             'b1': h.official_input_usd_per_mtok - m.official_input_usd_per_mtok,
             'b2': h.official_cached_input_usd_per_mtok - h.official_input_usd_per_mtok,
             'b3': h.official_output_usd_per_mtok - m.official_output_usd_per_mtok},
            {'objective': 'cost', 'policy': 'causal',
             'r1': h.cheapest_input_usd_per_mtok - m.cheapest_input_usd_per_mtok,
             'r2': h.cheapest_cached_input_usd_per_mtok - h.cheapest_input_usd_per_mtok,
             'r3': h.cheapest_output_usd_per_mtok - m.cheapest_output_usd_per_mtok,
             'b1': h.official_input_usd_per_mtok - m.official_input_usd_per_mtok,
             'b2': h.official_cached_input_usd_per_mtok - h.official_input_usd_per_mtok,
             'b3': h.official_output_usd_per_mtok - m.official_output_usd_per_mtok},
            {'objective': 'throughput', 'policy': 'oracle',
             'r1': h.throughput_oracle_decode_tps - m.throughput_oracle_decode_tps,
             'r2': 1 / nullif(h.throughput_oracle_decode_tps, 0) - 1 / nullif(m.throughput_oracle_decode_tps, 0),
             'r3': 0.0,
             'b1': h.official_decode_tps - m.official_decode_tps,
             'b2': 1 / nullif(h.official_decode_tps, 0) - 1 / nullif(m.official_decode_tps, 0),
             'b3': 0.0},
            {'objective': 'throughput', 'policy': 'causal',
             'r1': h.fastest_decode_tps - m.fastest_decode_tps,
             'r2': 1 / nullif(h.fastest_decode_tps, 0) - 1 / nullif(m.fastest_decode_tps, 0),
             'r3': 0.0,
             'b1': h.official_decode_tps - m.official_decode_tps,
             'b2': 1 / nullif(h.official_decode_tps, 0) - 1 / nullif(m.official_decode_tps, 0),
             'b3': 0.0},
            {'objective': 'cost', 'policy': 'frozen',
             'r1': h.frozen_cheapest_input_usd_per_mtok - m.frozen_cheapest_input_usd_per_mtok,
             'r2': h.frozen_cheapest_cached_input_usd_per_mtok - h.frozen_cheapest_input_usd_per_mtok,
             'r3': h.frozen_cheapest_output_usd_per_mtok - m.frozen_cheapest_output_usd_per_mtok,
             'b1': h.official_input_usd_per_mtok - m.official_input_usd_per_mtok,
             'b2': h.official_cached_input_usd_per_mtok - h.official_input_usd_per_mtok,
             'b3': h.official_output_usd_per_mtok - m.official_output_usd_per_mtok},
            {'objective': 'throughput', 'policy': 'frozen',
             'r1': h.frozen_fastest_decode_tps - m.frozen_fastest_decode_tps,
             'r2': 1 / nullif(h.frozen_fastest_decode_tps, 0) - 1 / nullif(m.frozen_fastest_decode_tps, 0),
             'r3': 0.0,
             'b1': h.official_decode_tps - m.official_decode_tps,
             'b2': 1 / nullif(h.official_decode_tps, 0) - 1 / nullif(m.official_decode_tps, 0),
             'b3': 0.0}
        ]) as d
    from request_groups as rg
    inner join groups as h
        on h.date = rg.date and h.model = rg.model and h.seg_start = rg.seg_start and h.bucket = rg.bucket
        and h.mask = rg.mask and h.ord = rg.ord
    inner join groups as m
        on m.date = rg.date and m.model = rg.model and m.seg_start = rg.seg_start and m.bucket = rg.bucket
        and m.mask = rg.mask and m.ord = rg.pair_ord
    where rg.pair_hit_share is not null
),

-- the sums over a group's requests of f (x . r)(x . b) = r' M b, M the moments of x: for cost
-- x = (input, cached, output); for throughput x = (1) on tok/s and x = (output) on seconds
imputed_terms as (
    select
        date,
        model,
        d.objective,
        d.policy,
        case when d.objective = 'cost' then
            f * (d.r1 * d.r1 * ii + 2 * d.r1 * d.r2 * ic + 2 * d.r1 * d.r3 * io + d.r2 * d.r2 * cc + 2 * d.r2 * d.r3 * co + d.r3 * d.r3 * oo) / 1e12
        else f * d.r1 * d.r1 * n end as var_routed,
        case when d.objective = 'cost' then
            f * (d.r1 * d.b1 * ii + (d.r1 * d.b2 + d.r2 * d.b1) * ic + (d.r1 * d.b3 + d.r3 * d.b1) * io + d.r2 * d.b2 * cc
                 + (d.r2 * d.b3 + d.r3 * d.b2) * co + d.r3 * d.b3 * oo) / 1e12
        else f * d.r1 * d.b1 * n end as cov,
        case when d.objective = 'cost' then
            f * (d.b1 * d.b1 * ii + 2 * d.b1 * d.b2 * ic + 2 * d.b1 * d.b3 * io + d.b2 * d.b2 * cc + 2 * d.b2 * d.b3 * co + d.b3 * d.b3 * oo) / 1e12
        else f * d.b1 * d.b1 * n end as var_base,
        case when d.objective = 'throughput' then f * d.r2 * d.r2 * oo end as var_routed_s,
        case when d.objective = 'throughput' then f * d.r2 * d.b2 * oo end as cov_s,
        case when d.objective = 'throughput' then f * d.b2 * d.b2 * oo end as var_base_s
    from imputed_parts
    where not excluded
),

imputed as (
    select
        date,
        model,
        objective,
        policy,
        list_sum(list_sort(list(var_routed))) as imputed_var_routed,
        list_sum(list_sort(list(cov))) as imputed_cov,
        list_sum(list_sort(list(var_base))) as imputed_var_base,
        list_sum(list_sort(list(var_routed_s))) as imputed_var_routed_s,
        list_sum(list_sort(list(cov_s))) as imputed_cov_s,
        list_sum(list_sort(list(var_base_s))) as imputed_var_base_s
    from imputed_terms
    group by all
),

day_sums as (
    select
        date,
        month_label(date) as month,
        quarter_label(date) as quarter,
        model,
        objective,
        policy,
        max(official_provider) filter (where not excluded) as baseline_provider,
        coalesce(list_sum(list_sort(list(w) filter (where paired))), 0) as routed,
        coalesce(list_sum(list_sort(list(w) filter (where not paired))), 0) as excluded,
        coalesce(list_sum(list_sort(list(w_imputed) filter (where paired))), 0) as imputed,
        coalesce(list_sum(list_sort(list(routed) filter (where paired))), 0) as routed_sum,
        coalesce(list_sum(list_sort(list(base) filter (where paired))), 0) as base_sum,
        list_sum(list_sort(list(tokens) filter (where paired))) as output_tokens,
        list_sum(list_sort(list(routed_s) filter (where paired))) as routed_decode_s,
        list_sum(list_sort(list(base_s) filter (where paired))) as base_decode_s
    from flagged
    group by date, model, objective, policy
)

select
    s.*,
    coalesce(i.imputed_var_routed, 0) as imputed_var_routed,
    coalesce(i.imputed_cov, 0) as imputed_cov,
    coalesce(i.imputed_var_base, 0) as imputed_var_base,
    case when s.objective = 'throughput' then coalesce(i.imputed_var_routed_s, 0) end as imputed_var_routed_s,
    case when s.objective = 'throughput' then coalesce(i.imputed_cov_s, 0) end as imputed_cov_s,
    case when s.objective = 'throughput' then coalesce(i.imputed_var_base_s, 0) end as imputed_var_base_s
from day_sums as s
left join imputed as i using (date, model, objective, policy)
order by s.date, s.model, s.objective, s.policy
