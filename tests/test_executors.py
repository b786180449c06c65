"""The executor a deployment picks (pipeline/defs/executors.py) and the shipped cluster profiles."""

import importlib.util
from pathlib import Path

import pytest
import yaml

from pipeline.defs.executors import chosen_executor

REPO = Path(__file__).resolve().parent.parent


def test_default_is_dagsters_own():
    assert chosen_executor("") is None
    assert chosen_executor("multiprocess") is None


def test_unknown_executor_is_one_clear_error():
    with pytest.raises(RuntimeError, match="use one of multiprocess, celery, k8s"):
        chosen_executor("slurm")


@pytest.mark.parametrize("kind, module, extra", [("celery", "dagster_celery", "celery"), ("k8s", "dagster_k8s", "k8s")])
def test_cluster_executors_need_their_extra(kind, module, extra):
    if importlib.util.find_spec(module) is None:
        with pytest.raises(RuntimeError, match=rf"servicelens\[{extra}\]"):
            chosen_executor(kind)
    else:
        assert chosen_executor(kind).name in {"servicelens_celery_executor", "k8s"}


def test_k8s_profile_is_valid_for_the_run_launcher(monkeypatch):
    cfg = yaml.safe_load((REPO / "deploy/k8s/dagster.yaml").read_text())
    assert cfg["run_launcher"]["class"] == "K8sRunLauncher"
    assert "SERVICELENS_EXECUTOR=k8s" in cfg["run_launcher"]["config"]["env_vars"]
    if importlib.util.find_spec("dagster_k8s") is not None:
        monkeypatch.setenv("SERVICELENS_IMAGE", "registry.example/servicelens:1")
        from dagster._config import process_config, resolve_to_config_type
        from dagster_k8s import K8sRunLauncher

        result = process_config(resolve_to_config_type(K8sRunLauncher.config_type()), cfg["run_launcher"]["config"])
        assert result.success, [e.message for e in result.errors]


def test_celery_worker_config_matches_the_executor():
    worker = yaml.safe_load((REPO / "deploy/celery/worker.yaml").read_text())["execution"]["config"]
    assert worker == {"broker": {"env": "SERVICELENS_CELERY_BROKER"}, "backend": {"env": "SERVICELENS_CELERY_BACKEND"}}
