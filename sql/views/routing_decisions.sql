-- marts.routing_decisions (a view in the warehouse file): one row per (request, policy), the long
-- form of marts.routing_outcomes (one row per request, five columns per policy, stored as Parquet
-- and read in place). Columns: request_id, date, model, w (1 / sample_rate), excluded, policy,
-- provider, cost_usd, decode_tps, ttft_ms, success_prob. The policies are those of
-- pipeline/lib/routing.py POLICIES (a test checks the two lists agree).
select request_id, date, model, w, excluded, 'official' as policy, official_provider as provider, official_cost as cost_usd, official_tps as decode_tps, official_ttft as ttft_ms, official_success as success_prob
from marts.routing_outcomes
union all
select request_id, date, model, w, excluded, 'cost_oracle' as policy, cost_oracle_provider as provider, cost_oracle_cost as cost_usd, cost_oracle_tps as decode_tps, cost_oracle_ttft as ttft_ms, cost_oracle_success as success_prob
from marts.routing_outcomes
union all
select request_id, date, model, w, excluded, 'throughput_oracle' as policy, throughput_oracle_provider as provider, throughput_oracle_cost as cost_usd, throughput_oracle_tps as decode_tps, throughput_oracle_ttft as ttft_ms, throughput_oracle_success as success_prob
from marts.routing_outcomes
union all
select request_id, date, model, w, excluded, 'cheapest' as policy, cheapest_provider as provider, cheapest_cost as cost_usd, cheapest_tps as decode_tps, cheapest_ttft as ttft_ms, cheapest_success as success_prob
from marts.routing_outcomes
union all
select request_id, date, model, w, excluded, 'fastest' as policy, fastest_provider as provider, fastest_cost as cost_usd, fastest_tps as decode_tps, fastest_ttft as ttft_ms, fastest_success as success_prob
from marts.routing_outcomes
union all
select request_id, date, model, w, excluded, 'lowest_p90_ttft' as policy, lowest_p90_ttft_provider as provider, lowest_p90_ttft_cost as cost_usd, lowest_p90_ttft_tps as decode_tps, lowest_p90_ttft_ttft as ttft_ms, lowest_p90_ttft_success as success_prob
from marts.routing_outcomes
union all
select request_id, date, model, w, excluded, 'sort_price_with_retries' as policy, sort_price_with_retries_provider as provider, sort_price_with_retries_cost as cost_usd, sort_price_with_retries_tps as decode_tps, sort_price_with_retries_ttft as ttft_ms, sort_price_with_retries_success as success_prob
from marts.routing_outcomes
union all
select request_id, date, model, w, excluded, 'price_weighted_balance' as policy, price_weighted_balance_provider as provider, price_weighted_balance_cost as cost_usd, price_weighted_balance_tps as decode_tps, price_weighted_balance_ttft as ttft_ms, price_weighted_balance_success as success_prob
from marts.routing_outcomes
