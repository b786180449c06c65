"""`servicelens export` (pipeline/cli_export.py, pipeline/lib/export.py): a row of
marts.routing_recommendations as a LiteLLM router config or OpenRouter provider preferences,
checked against JSON schemas written from the two tools' documentation (tests/schemas/), and
one-line errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import jsonschema
import polars as pl
import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import main

SCHEMAS = Path(__file__).parent / "schemas"


def _rec(segment="chat", providers=("novita", "deepinfra", "siliconflow", "alibaba")):
    return {
        "model": "qwen3-32b",
        "segment": segment,
        "segment_kind": "application" if segment != "(all)" else "model",
        "objective": "cost",
        "providers": list(providers),
        "baseline_provider": "alibaba",
        "train_start": dt.date(2025, 10, 1),
        "train_end": dt.date(2025, 11, 30),
        "test_start": dt.date(2025, 12, 1),
        "test_end": dt.date(2025, 12, 31),
        "predicted_change_pct": -85.2,
        "realised_change_pct": -86.4,
        "max_input_price_usd_per_mtok": 0.28,
        "max_output_price_usd_per_mtok": 1.12,
    }


@pytest.fixture
def warehouse(tmp_path) -> Path:
    path = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    df = pl.DataFrame([_rec(), _rec("(all)", ("deepinfra", "alibaba"))])  # noqa: F841
    con.execute("create table marts.routing_recommendations as select * from df")
    con.close()
    return path


def _schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def test_litellm_config_matches_the_documented_shape(warehouse, tmp_path):
    out = tmp_path / "litellm.yaml"
    res = CliRunner().invoke(
        main,
        [
            "export",
            "--format",
            "litellm",
            "--model",
            "qwen3-32b",
            "--segment",
            "chat",
            "--warehouse",
            str(warehouse),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "novita > deepinfra > siliconflow > alibaba" in res.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# servicelens export: marts.routing_recommendations, qwen3-32b / chat")
    config = yaml.safe_load(text)
    jsonschema.validate(config, _schema("litellm_config.schema.json"))
    deployments = config["model_list"]
    assert [d["model_name"] for d in deployments] == ["qwen3-32b"] * 4  # one model group
    assert [d["litellm_params"]["order"] for d in deployments] == [1, 2, 3, 4]
    assert [d["litellm_params"]["model"] for d in deployments] == [
        "novita/qwen3-32b",
        "deepinfra/qwen3-32b",
        "openai/qwen3-32b",  # no LiteLLM prefix known: an OpenAI-compatible deployment
        "dashscope/qwen3-32b",
    ]
    assert deployments[0]["litellm_params"]["api_key"] == "os.environ/NOVITA_API_KEY"
    assert deployments[2]["litellm_params"]["api_base"] == "os.environ/SILICONFLOW_API_BASE"
    assert config["router_settings"] == {"enable_pre_call_checks": True}


def test_litellm_itself_loads_the_exported_config(warehouse, tmp_path, monkeypatch):
    """LiteLLM's own proxy config model (ConfigYAML) and its Router accept the exported file, with
    the deployments in the exported order (LiteLLM installs cleanly: it is in the dev extra)."""
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no download of its price table
    for name in ("NOVITA", "DEEPINFRA", "SILICONFLOW", "ALIBABA"):
        monkeypatch.setenv(f"{name}_API_KEY", "sk-test")
    monkeypatch.setenv("SILICONFLOW_API_BASE", "https://api.siliconflow.example/v1")
    from litellm import Router
    from litellm.proxy._types import ConfigYAML

    out = tmp_path / "litellm.yaml"
    args = ["export", "--format", "litellm", "--model", "qwen3-32b", "--segment", "chat", "--warehouse", str(warehouse)]
    res = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    config = yaml.safe_load(out.read_text(encoding="utf-8"))
    ConfigYAML(**config)  # raises on a shape the proxy would refuse
    router = Router(model_list=config["model_list"], **config["router_settings"])
    deployments = router.get_model_list(model_name="qwen3-32b")
    assert [d["litellm_params"]["model"] for d in deployments] == [
        "novita/qwen3-32b",
        "deepinfra/qwen3-32b",
        "openai/qwen3-32b",
        "dashscope/qwen3-32b",
    ]
    assert [d["litellm_params"]["order"] for d in deployments] == [1, 2, 3, 4]


def test_openrouter_preferences_match_the_documented_shape(warehouse):
    # no --segment: the model's whole traffic
    res = CliRunner().invoke(
        main, ["export", "--format", "openrouter", "--model", "qwen3-32b", "--warehouse", str(warehouse)]
    )
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    jsonschema.validate(body, _schema("openrouter_provider.schema.json"))
    assert body == {
        "model": "qwen3-32b",
        "provider": {
            "order": ["deepinfra", "alibaba"],
            "allow_fallbacks": False,
            "max_price": {"prompt": 0.28, "completion": 1.12},
        },
    }


def test_the_schemas_reject_what_the_tools_would():
    with pytest.raises(jsonschema.ValidationError):  # a literal key instead of an env reference
        jsonschema.validate(
            {"model_list": [{"model_name": "m", "litellm_params": {"model": "groq/m", "api_key": "sk-1"}}]},
            _schema("litellm_config.schema.json"),
        )
    with pytest.raises(jsonschema.ValidationError):  # max_price keys are prompt / completion
        jsonschema.validate(
            {"model": "m", "provider": {"order": ["groq"], "max_price": {"input": 1}}},
            _schema("openrouter_provider.schema.json"),
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nope"], "no recommendation for model 'nope' in"),
        (
            ["--model", "qwen3-32b", "--segment", "nope"],
            "no recommendation for qwen3-32b segment 'nope' (cost); segments: (all), chat",
        ),
    ],
)
def test_unknown_model_or_segment_is_one_line(warehouse, args, message):
    res = CliRunner().invoke(main, ["export", "--format", "litellm", *args, "--warehouse", str(warehouse)])
    assert res.exit_code != 0
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert message in res.output


def test_a_warehouse_without_the_mart_is_one_line(tmp_path):
    path = tmp_path / "old.duckdb"
    duckdb.connect(str(path)).close()
    res = CliRunner().invoke(main, ["export", "--format", "openrouter", "--model", "m", "--warehouse", str(path)])
    assert res.exit_code != 0
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert "has no marts.routing_recommendations" in res.output
