-- marts.quarantine: one row per rejected input row, with the reason and the row as text.
-- reason starts with a stable code (missing, bad_type, out_of_range, not_allowed,
-- unknown_model, unknown_provider, conflict, no_fx_rate, malformed_row, malformed_json)
-- followed by a colon and the detail. row_number is the 1-based data row in its file
-- (Parquet: row in file; CSV: data row after the header; JSONL: line).
-- Parameters: $files = list of per-dataset quarantine Parquet files.
select dataset, source_file, row_number, reason, raw
from read_parquet($files, union_by_name = true)
order by dataset, source_file, row_number
