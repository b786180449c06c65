-- core_routing__provider_checks: what the learned recommendations (marts.routing_recommendations)
-- check a provider of a model against before it may be listed, one row per (model, provider) with
-- an endpoint in force at the end of the training window or a price at the end of the test window:
--   quantization: of the endpoint state in force at the training window's end ($train_until,
--     exclusive), official_quantization the official API's then (null without one);
--   probes, probe_success_rate, ttft_p90_ms: from marts.service_objects' months $months (those the
--     training window overlaps): the probes counted, the share that succeeded over them all, and
--     the worst month's p90 TTFT of the successful probes (the months' own quantiles: a pooled
--     quantile would read every probe again);
--   input_usd_per_mtok, output_usd_per_mtok: the price in force at the end of the test window
--     ($price_at, exclusive: the last snapshot before it), in USD per million tokens.
-- Parameters: $models, $endpoints, $prices, $service_objects (files), $months, $train_until,
-- $price_at.
with models as (
    select model, official_provider from read_parquet($models)
),

states as (
    select provider, model, quantization
    from read_parquet($endpoints)
    where valid_from < cast($train_until as timestamp) and (valid_to is null or valid_to >= cast($train_until as timestamp))
    qualify row_number() over (partition by provider, model order by valid_from desc) = 1
),

probe_stats as (
    select
        model,
        provider,
        sum(probes) as probes,
        sum(probe_success_rate * probes) / nullif(sum(probes), 0) as probe_success_rate,
        max(ttft_p90_ms) as ttft_p90_ms
    from read_parquet($service_objects)
    where period_type = 'month' and list_contains($months, period)
    group by model, provider
),

prices as (
    select provider, model, input_usd_per_mtok, output_usd_per_mtok
    from read_parquet($prices, hive_partitioning = true)
    where snapshot_ts < cast($price_at as timestamp)
    qualify row_number() over (partition by provider, model order by snapshot_ts desc) = 1
),

pairs as (
    select provider, model from states
    union
    select provider, model from prices
)

select
    p.model,
    p.provider,
    m.official_provider,
    s.quantization,
    o.quantization as official_quantization,
    coalesce(b.probes, 0) as probes,
    b.probe_success_rate,
    b.ttft_p90_ms,
    c.input_usd_per_mtok,
    c.output_usd_per_mtok
from pairs as p
left join models as m on m.model = p.model
left join states as s on s.model = p.model and s.provider = p.provider
left join states as o on o.model = p.model and o.provider = m.official_provider
left join probe_stats as b on b.model = p.model and b.provider = p.provider
left join prices as c on c.model = p.model and c.provider = p.provider
order by p.model, p.provider
