-- marts.cheapest_provider_now (a view): "which provider is cheapest for each model now?"
-- One row per (model, provider) listed at the end of the data, ranked by its current blended
-- price: the last price snapshot in force (input / output USD per Mtok) blended at the model's
-- token mix of the latest month (marts.service_objects, blend_input_share). `price_rank` 1 is the
-- cheapest; `vs_official_pct` compares with the official API's current blended price.
with latest as (
    select max(period) as period from marts.service_objects where period_type = 'month'
),

current_prices as (
    select
        s.model,
        s.provider,
        s.is_official,
        s.period as as_of_month,
        s.input_usd_per_mtok_last,
        s.output_usd_per_mtok_last,
        s.cached_input_usd_per_mtok_last,
        s.input_usd_per_mtok_last * s.blend_input_share
        + s.output_usd_per_mtok_last * (1 - s.blend_input_share) as blended_usd_per_mtok_now,
        s.context_length,
        s.quantization,
        s.supports_tools
    from marts.service_objects as s
    inner join latest as l on s.period = l.period
    where s.period_type = 'month' and s.context_length is not null and s.input_usd_per_mtok_last is not null
)

select
    c.*,
    rank() over (partition by c.model order by c.blended_usd_per_mtok_now) as price_rank,
    100 * (c.blended_usd_per_mtok_now / o.blended_usd_per_mtok_now - 1) as vs_official_pct
from current_prices as c
left join current_prices as o on c.model = o.model and o.is_official
order by c.model, price_rank, c.provider
