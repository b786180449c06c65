"""Where the steps of every job run, chosen by the deployment, not by the code.

`SERVICELENS_EXECUTOR` picks one of Dagster's own executors (nothing of ours schedules or
queues work):

- unset / `multiprocess`: Dagster's default (in-process from `servicelens run`, or one process
  per step with `--processes N` and in the UI);
- `celery`: `dagster_celery.celery_executor`, steps sent to Celery workers over the broker
  `SERVICELENS_CELERY_BROKER` with results in `SERVICELENS_CELERY_BACKEND` (for example
  `redis://host:6379/0` and `/1`); needs `pip install 'servicelens[celery]'`;
- `k8s`: `dagster_k8s.k8s_job_executor`, each step a Kubernetes Job (image and namespace from the
  run launcher of `deploy/k8s/dagster.yaml`); needs `pip install 'servicelens[k8s]'`.

Every worker must see the same Parquet record (a shared volume, or object storage: see
docs/scaling.md) and the same Dagster instance (DAGSTER_HOME, or Postgres storage in a cluster).
"""

from __future__ import annotations

import os

import dagster as dg

EXECUTORS = ("multiprocess", "celery", "k8s")


def chosen_executor(kind: str | None = None) -> dg.ExecutorDefinition | None:
    kind = (kind if kind is not None else os.environ.get("SERVICELENS_EXECUTOR", "")).strip().lower() or "multiprocess"
    if kind == "multiprocess":
        return None  # Dagster's default: multi_or_in_process_executor
    if kind == "celery":
        try:
            from dagster_celery import celery_executor
        except ImportError as exc:
            raise RuntimeError(
                "SERVICELENS_EXECUTOR=celery needs dagster-celery: pip install 'servicelens[celery]'"
            ) from exc
        return celery_executor.configured(
            {"broker": {"env": "SERVICELENS_CELERY_BROKER"}, "backend": {"env": "SERVICELENS_CELERY_BACKEND"}},
            name="servicelens_celery_executor",
        )
    if kind == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError as exc:
            raise RuntimeError("SERVICELENS_EXECUTOR=k8s needs dagster-k8s: pip install 'servicelens[k8s]'") from exc
        return k8s_job_executor
    raise RuntimeError(f"SERVICELENS_EXECUTOR={kind!r}: use one of {', '.join(EXECUTORS)}")


_executor = chosen_executor()
defs = dg.Definitions(executor=_executor) if _executor is not None else dg.Definitions()
