-- stg_requests: one row per request, hive-partitioned by the UTC date of ts.
-- A missing application label becomes 'unknown' (contract); weight = 1 / sample_rate.
select
    * replace (coalesce(application, 'unknown') as application),
    cast(ts as date) as date
from ok
