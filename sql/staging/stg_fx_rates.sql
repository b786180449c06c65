-- stg_fx_rates: one row per (date, currency); hive-partitioned by date.
-- USD is implicit (1.0) and need not be in the drop.
select * from ok
