-- marts.quarantine_reasons: one row per (dataset, reason code) of the quarantined rows: how many,
-- and one example reason (the first in sort order), for the report's quarantine table.
-- Parameters: $quarantine = marts.quarantine.
select
    dataset,
    split_part(reason, ':', 1) as code,
    count(*) as rows_quarantined,
    min(reason) as example
from read_parquet($quarantine)
group by all
order by dataset, rows_quarantined desc, code
