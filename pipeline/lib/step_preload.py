"""Imported once by the forkserver of Dagster's multiprocess executor (pipeline/lib/runner.py
multiprocess_config): every step process it forks starts with Dagster, the definitions and both
jobs already loaded. Only definitions are loaded here, no query is run: a forked process must not
inherit a DuckDB connection or a started thread pool."""

from pipeline.lib import runner

runner.PRELOADED.update({name: runner.job(name) for name in ("servicelens_prepare", "servicelens_build")})
