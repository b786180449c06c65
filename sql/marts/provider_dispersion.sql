-- marts.provider_dispersion: one row per (period, model, attribute) over the providers listing the
-- model in the period: how far "the same model" differs between providers.
-- cv = population standard deviation / mean (null with fewer than 2 providers or a zero mean);
-- official_value = the model's official provider's value; share_at_official (prices only) = share
-- of the providers, the official one included, within $tolerance (relative) of the official price.
-- feature_support = share of the four endpoint flags (tools, json mode, streaming, reasoning).
-- Range-safe: mean and cv are computed on the values divided by a power of two near the group's
-- largest absolute value, the mean scaled back (the same figures: dividing by a power of two
-- loses no precision), so prices near 1e308 neither overflow the sum to inf nor make STDDEV_POP
-- raise. A value that is not finite (none should come: service_objects publishes null instead)
-- is left out like a null.
-- Parameters: $objects = marts.service_objects Parquet, $tolerance.
with listed as (
    select * from read_parquet($objects) where listed_days > 0
),

long as (
    unpivot (
        select
            period,
            period_type,
            model,
            provider,
            is_official,
            input_usd_per_mtok as input_price,
            output_usd_per_mtok as output_price,
            blended_usd_per_mtok as blended_price,
            ttft_p50_ms,
            decode_tps_p50,
            cast(context_length as double) as context_length,
            request_error_rate as error_rate,
            (supports_tools::int + supports_json_mode::int + supports_streaming::int + supports_reasoning::int) / 4.0 as feature_support
        from listed
    )
    on input_price, output_price, blended_price, ttft_p50_ms, decode_tps_p50, context_length, error_rate, feature_support
    into name attribute value value
),

finite as (
    select *, max(abs(value)) over (partition by period, model, attribute) as max_abs
    from long
    where isfinite(value)
),

scaled as (
    select *, case when max_abs > 0 then pow(2.0, greatest(least(floor(log2(max_abs)), 1023), -1074)) else 1.0 end as scale
    from finite
),

official as (
    select period, model, attribute, value as official_value
    from scaled
    where is_official
)

select
    l.period,
    l.period_type,
    l.model,
    l.attribute,
    l.attribute like '%price' as is_price,
    count(*) as n_providers,
    any_value(l.scale) * avg(l.value / l.scale) as mean,
    case when count(*) >= 2 and avg(l.value / l.scale) <> 0
        then stddev_pop(l.value / l.scale) / avg(l.value / l.scale)
    end as cv,
    min(l.value) as min,
    max(l.value) as max,
    any_value(o.official_value) as official_value,
    case when l.attribute like '%price' and any_value(o.official_value) is not null
        then avg((abs(l.value - o.official_value) <= $tolerance * abs(o.official_value))::double)
    end as share_at_official
from scaled as l
left join official as o on o.period = l.period and o.model = l.model and o.attribute = l.attribute
group by l.period, l.period_type, l.model, l.attribute
order by l.period_type desc, l.period, l.model, l.attribute
