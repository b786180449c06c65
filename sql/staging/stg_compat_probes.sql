-- stg_compat_probes: one row per compat probe case, hive-partitioned by the UTC date of ts.
select *, cast(ts as date) as date from ok
