-- marts.ingest_summary: one row per dataset of the drop, and one for all datasets together
-- (is_total): files, rows read and what became of them, unreadable files, and the quarantined rows
-- naming a model or provider the drop does not know. The report's ingest table and data-quality
-- note read it as it is.
-- Parameters: $audit = marts.ingest_audit, $quarantine = marts.quarantine.
with unknown_refs as (
    select dataset, count(*) as rows_unknown_reference
    from read_parquet($quarantine)
    where reason like 'unknown_model%' or reason like 'unknown_provider%'
    group by dataset
),

audit as (
    select
        a.*,
        coalesce(u.rows_unknown_reference, 0) as rows_unknown_reference,
        row_number() over (partition by a.dataset order by a.source_file) = 1 as first_of_dataset
    from read_parquet($audit) as a
    left join unknown_refs as u on a.dataset = u.dataset
)

select
    dataset,
    grouping(dataset) = 1 as is_total,
    count(*) as files,
    coalesce(sum(rows_read), 0)::bigint as rows_read,
    coalesce(sum(rows_loaded), 0)::bigint as rows_loaded,
    coalesce(sum(rows_quarantined), 0)::bigint as rows_quarantined,
    coalesce(sum(rows_duplicate), 0)::bigint as rows_duplicate,
    count(file_error) as files_unreadable,
    -- the dataset's count sits on its first file's row, so a sum over files counts it once
    coalesce(sum(rows_unknown_reference) filter (where first_of_dataset), 0)::bigint as rows_unknown_reference,
    -- sums over no file are 0: an empty drop balances
    coalesce(sum(rows_read), 0)
    = coalesce(sum(rows_loaded), 0) + coalesce(sum(rows_quarantined), 0) + coalesce(sum(rows_duplicate), 0) as balanced
from audit
group by grouping sets ((dataset), ())
order by is_total, dataset
