-- marts.ingest_audit: one row per (dataset, source_file) of the drop.
-- Every input row is loaded, quarantined or a duplicate:
--   rows_read = rows_loaded + rows_quarantined + rows_duplicate.
-- file_error is set when the file could not be read at all (then every count is 0).
-- Parameters: $files = list of per-dataset audit Parquet files.
select dataset, source_file, file_format, rows_read, rows_loaded, rows_quarantined, rows_duplicate, file_error
from read_parquet($files, union_by_name = true)
order by dataset, source_file
