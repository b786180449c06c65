"""The marts that need numpy or polars rather than one SQL file, one module named after each
table: pure functions, frames in and a frame out. The SQL marts are sql/marts/<table>.sql; the
registry (pipeline/registry/<table>.yaml) names the file that builds every table."""
