-- stg_prices: one row per (provider, model, snapshot_ts), hive-partitioned by snapshot date.
-- Converts every amount to USD with the latest fx rate on or before the snapshot date
-- (an as-of join); rows without a rate were quarantined upstream, so the join always hits.
select
    p.*,
    case when p.currency = 'USD' then 1.0 else f.usd_per_unit end as usd_per_unit,
    p.input_per_mtok * (case when p.currency = 'USD' then 1.0 else f.usd_per_unit end) as input_usd_per_mtok,
    p.output_per_mtok * (case when p.currency = 'USD' then 1.0 else f.usd_per_unit end) as output_usd_per_mtok,
    p.cached_input_per_mtok * (case when p.currency = 'USD' then 1.0 else f.usd_per_unit end) as cached_input_usd_per_mtok,
    cast(p.snapshot_ts as date) as date
from ok as p
asof left join known_fx as f
    on p.currency = f.currency and cast(p.snapshot_ts as date) >= f.date
