"""Ingestion engine: one contract dataset from a raw drop into typed, deduplicated Parquet.

Every input row ends in exactly one of three places, and the audit says which:
  loaded       -> staging/<dataset>/ (typed, extra columns kept as text)
  quarantined  -> ingest/<dataset>/quarantine.parquet with its reason and raw text
  duplicate    -> counted only (identical to a row already loaded)

All row work is set-based DuckDB SQL generated from `pipeline.lib.contract`; Python only
loops over files. A file that cannot be read is recorded as unreadable and never stops the
others. Outputs are written to a temporary folder and renamed into place.

The engine, by what each part does: discovery (the files), text_reader and parquet_reader (the
files as sources), validation (the SQL that types and checks every row), read (the files as
validated rows, a failed source retried), stage (duplicates classified, Parquet written). The
DuckDB toolbox they share with every other stage is pipeline.lib.duck.
"""

from pipeline.lib.ingest.discovery import FORMATS, SourceFile, discover, discover_all
from pipeline.lib.ingest.read import read_validated
from pipeline.lib.ingest.stage import StageResult, classify_duplicates, row_struct, stage_dataset
from pipeline.lib.ingest.validation import coerce, validate_select

__all__ = [
    "FORMATS",
    "SourceFile",
    "discover",
    "discover_all",
    "coerce",
    "validate_select",
    "StageResult",
    "classify_duplicates",
    "read_validated",
    "row_struct",
    "stage_dataset",
]
