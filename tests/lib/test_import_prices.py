"""Price-table importers (LiteLLM, genai-prices) and the alias map: hand-made snapshots with
the fate of every key worked out by hand (tests/fixtures_prices/README.md), and the public
snapshot series re-derived from the raw JSON with plain loops."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from pipeline.lib.contract import DATASETS
from pipeline.lib.generate import world
from pipeline.lib.importers import FORMATS, get_importer
from pipeline.lib.importers.aliases import CANONICAL, clean_name, provider_id, resolve
from pipeline.lib.importers.genai_prices import import_genai_prices, resolve_prices
from pipeline.lib.importers.litellm_prices import NATIVE_CONTEXT, import_litellm_prices
from pipeline.lib.ingest import stage_dataset
from tests.conftest import real_data

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures_prices"
LL = FIXTURES / "litellm"
GP = FIXTURES / "genai"
D1, D2, D3 = dt.datetime(2025, 10, 1), dt.datetime(2025, 11, 1), dt.datetime(2025, 12, 7)


def _stage(drop: Path, root: Path, datasets=("models", "endpoints", "prices")) -> dict[str, tuple[int, int, int, int]]:
    """Stage every dataset of the contract; the accounting of the ones the import writes."""
    staged = {name: stage_dataset(spec, drop, root) for name, spec in DATASETS.items()}
    return {
        n: (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate)
        for n, r in staged.items()
        if n in datasets
    }


def _report_rows(out: Path, fmt: str) -> list[dict]:
    with (out / f"_import_report_{fmt}.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _aggregates(issues, file_part: str) -> dict[str, int]:
    """code -> count of the aggregated report lines of one file."""
    out = {}
    for i in issues:
        m = re.match(r"(\w+): (\d+) keys, ", i.reason)
        if i.row is None and file_part in i.file and m:
            out[m.group(1)] = int(m.group(2))
    return out


# --------------------------------------------------------------------------- the alias map

DEEPSEEK_V3_SPELLINGS = [
    ("together_ai/deepseek-ai/DeepSeek-V3", "together_ai", "together"),
    ("fireworks_ai/accounts/fireworks/models/deepseek-v3", "fireworks_ai", "fireworks"),
    ("deepinfra/deepseek-ai/DeepSeek-V3", "deepinfra", "deepinfra"),
    ("openrouter/deepseek/deepseek-chat", "openrouter", "openrouter"),  # OpenRouter's slug is V3 at any date
    ("deepseek/deepseek-chat", "deepseek", "deepseek"),  # DeepSeek's own alias, before V3-0324 (dated)
    ("hyperbolic/deepseek-ai/DeepSeek-V3", "hyperbolic", "hyperbolic"),
    ("novita/deepseek/deepseek_v3", "novita", "novita"),
    ("azure_ai/deepseek-v3", "azure_ai", "azure"),
    ("deepseek-ai/DeepSeek-V3", "huggingface_together", "huggingface-together"),  # genai-prices spelling
]


def test_one_model_provider_aliases_resolve_to_one_canonical_model():
    on = dt.date(2025, 2, 1)
    got = {(provider_id(route), resolve(name, route, on).model) for name, route, _ in DEEPSEEK_V3_SPELLINGS}
    assert got == {(p, "deepseek-v3") for _, _, p in DEEPSEEK_V3_SPELLINGS}
    assert len({resolve(n, r, on).model for n, r, _ in DEEPSEEK_V3_SPELLINGS}) == 1


@pytest.mark.parametrize(
    ("on", "chat", "reasoner"),
    [
        ("2025-01-15", "deepseek-v3", None),  # deepseek-reasoner (R1) not yet released
        ("2025-02-01", "deepseek-v3", "deepseek-r1"),
        ("2025-04-01", "deepseek-v3-0324", "deepseek-r1"),
        ("2025-07-04", "deepseek-v3-0324", "deepseek-r1-0528"),
        ("2025-09-04", "deepseek-v3.1", "deepseek-v3.1"),
        ("2025-09-25", "deepseek-v3.1-terminus", "deepseek-v3.1-terminus"),
        ("2025-10-05", "deepseek-v3.2-exp", "deepseek-v3.2-exp"),
        ("2025-12-07", "deepseek-v3.2", "deepseek-v3.2"),
    ],
)
def test_deepseek_api_aliases_move_with_the_date(on, chat, reasoner):
    d = dt.date.fromisoformat(on)
    assert resolve("deepseek/deepseek-chat", "deepseek", d).model == chat
    assert resolve("deepseek-reasoner", "deepseek", d).model == reasoner
    assert resolve("deepseek/deepseek-chat", "openrouter", d).model == "deepseek-v3"  # not moving elsewhere
    assert resolve("deepseek-chat", "deepseek", None).status == "unmapped"  # no date, no guess


@pytest.mark.parametrize(
    ("name", "route", "model"),
    [
        ("moonshot/kimi-k2-0905-preview", "moonshot", "kimi-k2-0905"),
        ("groq/moonshotai/kimi-k2-instruct-0905", "groq", "kimi-k2-0905"),
        ("fireworks_ai/accounts/fireworks/models/kimi-k2-instruct-0905", "fireworks_ai", "kimi-k2-0905"),
        ("moonshotai/Kimi-K2-Instruct-0905", "huggingface_novita", "kimi-k2-0905"),
        ("moonshot/kimi-k2-turbo-preview", "moonshot", "kimi-k2-0905"),
        ("groq/qwen/qwen3-32b", "groq", "qwen3-32b"),
        ("cerebras/qwen-3-32b", "cerebras", "qwen3-32b"),
        ("qwen.qwen3-32b-v1:0", "bedrock_converse", "qwen3-32b"),
        ("novita/qwen/qwen3-32b-fp8", "novita", "qwen3-32b"),
        ("fireworks_ai/accounts/fireworks/models/glm-4p6", "fireworks_ai", "glm-4.6"),
        ("zai/glm-4.6", "zai", "glm-4.6"),
        ("openai.gpt-oss-120b-1:0", "bedrock", "gpt-oss-120b"),
        ("us.meta.llama3-3-70b-instruct-v1:0", "bedrock", "llama-3.3-70b-instruct"),
        ("ovhcloud/Meta-Llama-3_3-70B-Instruct", "ovhcloud", "llama-3.3-70b-instruct"),
        ("groq/llama-3.3-70b-versatile", "groq", "llama-3.3-70b-instruct"),
        ("deepseek.v3-v1:0", "bedrock_converse", "deepseek-v3.1"),
        ("mistral.mistral-7b-instruct-v0:2", "bedrock", "mistral-7b-instruct-v0.2"),
        ("mistral/open-mistral-nemo", "mistral", "mistral-nemo-instruct-2407"),
        ("fireworks_ai/accounts/fireworks/models/minimax-m1-80k", "fireworks_ai", "minimax-m1"),
    ],
)
def test_spellings(name, route, model):
    assert resolve(name, route, dt.date(2025, 10, 1)).model == model


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("gpt-4o", "non_target"),
        ("dashscope/qwen-max", "closed"),
        ("moonshot/moonshot-v1-8k", "closed"),
        ("mistral/mistral-medium-latest", "closed"),
        ("nousresearch/hermes-3-llama-3.1-70b", "derivative"),
        ("groq/llama-guard-3-8b", "out_of_scope"),
        ("novita/qwen/qwen3-4b-fp8", "unmapped"),
        ("text-embedding-3-small", "non_target"),
    ],
)
def test_name_classes(name, status):
    assert resolve(name, None, dt.date(2025, 10, 1)).status == status


def test_markers_quantization_and_offering_rank():
    assert clean_name("together_ai/Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8").quantization == "fp8"
    assert clean_name("sail/gemma-4-31b-it-nvfp4").quantization == "fp4"
    assert clean_name("deepinfra/deepseek-ai/DeepSeek-V3").quantization == "unknown"
    plain = resolve("deepinfra/deepseek-ai/DeepSeek-V3", "deepinfra")
    turbo = resolve("deepinfra/deepseek-ai/DeepSeek-V3-Turbo", "deepinfra")
    free = resolve("openrouter/deepseek/deepseek-chat:free", "openrouter")
    region = resolve("bedrock/us-west-2/mistral.mistral-7b-instruct-v0:2", "bedrock")
    assert plain.model == turbo.model == "deepseek-v3" and plain.rank < turbo.rank < free.rank
    assert region.region and region.model == "mistral-7b-instruct-v0.2"


@pytest.mark.parametrize(
    ("route", "provider"),
    [
        ("together_ai", "together"),
        ("fireworks_ai", "fireworks"),
        ("zai", "zhipu"),
        ("zhipuai", "zhipu"),
        ("dashscope", "alibaba"),
        ("moonshotai", "moonshot"),
        ("bedrock_converse", "bedrock"),
        ("aws", "bedrock"),
        ("vertex_ai-deepseek_models", "vertex-ai"),
        ("huggingface_fireworks-ai", "huggingface-fireworks"),
        ("NovitaAI", "novita"),
        ("Z.AI", "zhipu"),
        ("Moonshot AI", "moonshot"),
        ("lambda_ai", "lambda"),
        ("Some Cloud", "some-cloud"),
        ("", None),
    ],
)
def test_provider_ids(route, provider):
    assert provider_id(route) == provider


def test_canonical_models_agree_with_the_sample_world():
    """Every model of the sample world is in the map with the same facts; successor_of
    agrees wherever the predecessor is a world model too."""
    world_providers = set(world.PROVIDER_IDS)
    for m, (family, developer, release, successor, official, *_) in world.MODELS.items():
        c = CANONICAL[m]
        assert (c.family, c.developer, c.release_date, c.official_provider) == (
            family,
            developer,
            dt.date.fromisoformat(release),
            official,
        ), m
        if c.successor_of in world.MODELS or successor is not None:
            assert c.successor_of == successor, m
    for c in CANONICAL.values():
        assert c.official_provider in world_providers, c.model
        assert c.successor_of is None or CANONICAL[c.successor_of].family == c.family, c.model
        assert resolve(c.model, None, dt.date(2025, 10, 1)).model == c.model, c.model


# --------------------------------------------------------------------------- LiteLLM fixture

# tests/fixtures_prices/README.md: three snapshots, every key's fate worked out by hand.
EXPECTED_LL_PRICES = [
    (D1, "deepinfra", "deepseek-v3", 0.38, 0.89, None),
    (D3, "deepseek", "deepseek-v3.2", 0.28, 0.42, 0.028),  # deepseek-chat moved on 2025-12-01
    (D1, "deepseek", "deepseek-v3.2-exp", 0.28, 0.42, 0.028),
    (D1, "fireworks", "deepseek-v3", 0.9, 0.9, None),
    (D2, "fireworks", "deepseek-v3", 0.56, 1.68, None),  # the price change
    (D2, "moonshot", "kimi-k2-0905", 0.6, 2.5, 0.15),
    (D1, "novita", "llama-3.3-70b-instruct", 0.13, 0.39, None),
    (D1, "openrouter", "deepseek-v3", 0.3, 0.85, None),  # gone in D2, back in D3 at the same price: no row
    (D1, "together", "deepseek-v3", 1.25, 1.25, None),
    (D1, "together", "qwen3-235b-a22b-instruct-2507", 0.2, 0.6, None),
]
EXPECTED_LL_ENDPOINTS = [
    # provider, model, valid_from, valid_to, context, max_output, quantization, tools, json, streaming, reasoning, ctx source
    ("deepinfra", "deepseek-v3", D1, D2, 163840, 163840, "unknown", False, False, True, False, "max_input_tokens"),
    ("deepinfra", "deepseek-v3", D2, None, 163840, 81920, "unknown", False, False, True, False, "max_input_tokens"),
    ("deepseek", "deepseek-v3.2", D3, None, 131072, 8192, "unknown", True, False, True, False, "max_input_tokens"),
    ("deepseek", "deepseek-v3.2-exp", D1, D3, 131072, 8192, "unknown", True, False, True, False, "max_input_tokens"),
    ("fireworks", "deepseek-v3", D1, None, 128000, None, "unknown", True, True, True, False, "max_input_tokens"),
    ("moonshot", "kimi-k2-0905", D2, None, 262144, 262144, "unknown", True, False, True, False, "max_input_tokens"),
    ("novita", "llama-3.3-70b-instruct", D1, None, 131072, 16384, "fp8", False, False, True, False, "max_input_tokens"),
    ("openrouter", "deepseek-v3", D1, D2, 163840, None, "unknown", False, False, True, False, "max_tokens"),
    ("openrouter", "deepseek-v3", D3, None, 163840, None, "unknown", False, False, True, False, "max_tokens"),
    ("together", "deepseek-v3", D1, None, 131072, 12288, "unknown", True, False, True, False, "max_input_tokens"),
    (
        "together",
        "qwen3-235b-a22b-instruct-2507",
        D1,
        D3,
        262144,
        None,
        "unknown",
        True,
        False,
        True,
        False,
        NATIVE_CONTEXT,
    ),
]
EXPECTED_LL_LISTED = [  # (snapshot folder prefix, row, reason start)
    (
        "2025-10-01",
        6,
        "duplicate_offering: key 'deepinfra/deepseek-ai/DeepSeek-V3-Turbo' and the kept key 'deepinfra/deepseek-ai/DeepSeek-V3'",
    ),
    ("2025-10-01", 12, "unmapped: target family, spelling 'qwen3-4b'"),
    ("2025-10-01", 13, "missing: input_cost_per_token"),
    ("2025-10-01", 14, "bad_type: max_input_tokens is not a whole number >= 1 ('lots')"),
    ("2025-11-01", 10, "malformed_row: key 'together_ai/broken-entry': value is not a JSON object"),
    ("2025-12-07", 7, "duplicate_offering: key 'deepseek/deepseek-reasoner' and the kept key 'deepseek/deepseek-chat'"),
]
EXPECTED_LL_FATES = {
    "2025-10-01": {"priced": 7, "listed": 4, "not_a_model": 1, "non_target": 1, "closed": 1, "not_chat": 1},
    "2025-11-01": {"priced": 2, "unchanged": 5, "listed": 1, "not_a_model": 1, "non_target": 1},
    "2025-12-07": {"priced": 1, "unchanged": 6, "listed": 1, "not_a_model": 1, "non_target": 1},
}


@pytest.fixture(scope="module")
def ll_fixture(tmp_path_factory):
    out = tmp_path_factory.mktemp("ll") / "drop"
    return import_litellm_prices([LL], out), out


def test_litellm_fixture_prices_are_the_hand_worked_rows(ll_fixture):
    _, out = ll_fixture
    got = pl.read_parquet(out / "prices" / "litellm_prices.parquet")
    assert (
        got.select(
            "snapshot_ts", "provider", "model", "input_per_mtok", "output_per_mtok", "cached_input_per_mtok"
        ).rows()
        == EXPECTED_LL_PRICES
    )
    assert set(got["currency"]) == {"USD"}


def test_litellm_fixture_price_change_appears_as_two_snapshots(ll_fixture):
    _, out = ll_fixture
    got = pl.read_parquet(out / "prices" / "litellm_prices.parquet").filter(
        (pl.col("provider") == "fireworks") & (pl.col("model") == "deepseek-v3")
    )
    assert got.select("snapshot_ts", "input_per_mtok", "output_per_mtok", "litellm_snapshot").rows() == [
        (D1, 0.9, 0.9, "2025-10-01_litellm-1.0.0"),
        (D2, 0.56, 1.68, "2025-11-01_litellm-1.1.0"),
    ]


def test_litellm_fixture_endpoint_states(ll_fixture):
    _, out = ll_fixture
    got = pl.read_parquet(out / "endpoints" / "litellm_prices.parquet")
    cols = [
        "provider",
        "model",
        "valid_from",
        "valid_to",
        "context_length",
        "max_output_tokens",
        "quantization",
        "supports_tools",
        "supports_json_mode",
        "supports_streaming",
        "supports_reasoning",
        "context_length_source",
    ]
    assert got.select(cols).rows() == EXPECTED_LL_ENDPOINTS
    models = pl.read_parquet(out / "models" / "litellm_prices.parquet")
    assert models["model"].to_list() == sorted({e[1] for e in EXPECTED_LL_ENDPOINTS})
    assert models.filter(pl.col("model") == "deepseek-v3.2").row(0) == (
        "deepseek-v3.2",
        "deepseek",
        "deepseek",
        dt.date(2025, 12, 1),
        "deepseek-v3.2-exp",
        "deepseek",
    )


def test_litellm_fixture_every_key_is_written_or_reported(ll_fixture):
    report, out = ll_fixture
    keys = {p.parent.name[:10]: len(json.loads(p.read_text())) for p in LL.glob("*/*.json")}
    assert report.rows_read == sum(keys.values()) == 35
    fates = {Path(f).parent.name[:10]: {k: v for k, v in c.items() if v} for f, c in report.fates.items()}
    assert fates == EXPECTED_LL_FATES
    assert {d: sum(c.values()) for d, c in fates.items()} == keys
    listed = sorted((Path(i.file).parent.name[:10], i.row, i.reason) for i in report.issues if i.row is not None)
    assert [(d, r) for d, r, _ in listed] == sorted((d, r) for d, r, _ in EXPECTED_LL_LISTED)
    for (d, r, reason), (_, _, start) in zip(listed, sorted(EXPECTED_LL_LISTED), strict=False):
        assert reason.startswith(start), (d, r, reason)
    for d, c in EXPECTED_LL_FATES.items():
        assert _aggregates(report.issues, d) == {k: v for k, v in c.items() if k not in ("priced", "listed")}
    # the report file holds the same lines
    rows = _report_rows(out, "litellm-prices")
    assert [(r["file"], r["row"], r["reason"]) for r in rows] == [
        (i.file, "" if i.row is None else str(i.row), i.reason) for i in report.issues
    ]
    assert report.rows_written == {"models": 6, "endpoints": 11, "prices": 10}


def test_litellm_fixture_drop_stages_every_written_row(ll_fixture, tmp_path):
    _, out = ll_fixture
    assert _stage(out, tmp_path / "wh") == {
        "models": (6, 6, 0, 0),
        "endpoints": (11, 11, 0, 0),
        "prices": (10, 10, 0, 0),
    }


def test_litellm_file_problems_are_file_level_issues(tmp_path):
    good = tmp_path / "2025-10-01_x" / "model_prices_and_context_window.json"
    good.parent.mkdir()
    good.write_text((LL / "2025-10-01_litellm-1.0.0" / "model_prices_and_context_window_backup.json").read_text())
    broken = tmp_path / "2025-11-01_x" / "model_prices_and_context_window.json"
    broken.parent.mkdir()
    broken.write_text('{"gpt-4o": {"mode": ')
    undated = tmp_path / "latest" / "model_prices_and_context_window.json"
    undated.parent.mkdir()
    undated.write_text("{}")
    report = import_litellm_prices([tmp_path], tmp_path / "drop")
    file_issues = {
        Path(i.file).parent.name: i.reason
        for i in report.issues
        if i.row is None and not re.match(r"\w+: \d+ keys, ", i.reason)
    }
    assert file_issues["2025-11-01_x"].startswith("malformed_json:")
    assert file_issues["latest"].startswith("missing: snapshot date")
    assert report.rows_read == 15 and report.rows_written["prices"] == 7


def test_missing_paths_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        import_litellm_prices([tmp_path / "nope"], tmp_path / "drop")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no LiteLLM price table"):
        import_litellm_prices([tmp_path / "empty"], tmp_path / "drop")
    with pytest.raises(ValueError, match="no genai-prices"):
        import_genai_prices([tmp_path / "empty"], tmp_path / "drop")


def test_registry_dispatches_the_price_formats():
    assert get_importer("litellm-prices") is import_litellm_prices
    assert get_importer("genai-prices") is import_genai_prices
    assert {"litellm-prices", "genai-prices", "litellm-spend-logs", "openrouter-activity"} <= set(FORMATS)


# --------------------------------------------------------------------------- genai-prices fixture

G1, G2, GS = dt.datetime(2025, 10, 27), dt.datetime(2025, 11, 27), dt.datetime(2025, 11, 10)
TOD = [  # DeepSeek's windows: off-peak (the unconstrained default) around the standard 00:30-16:30
    {"from_utc": "00:00", "to_utc": "00:30", "input_mtok": 0.14, "cache_read_mtok": 0.014, "output_mtok": 0.21},
    {"from_utc": "00:30", "to_utc": "16:30", "input_mtok": 0.28, "cache_read_mtok": 0.028, "output_mtok": 0.42},
    {"from_utc": "16:30", "to_utc": "24:00", "input_mtok": 0.14, "cache_read_mtok": 0.014, "output_mtok": 0.21},
]
EXPECTED_GP_PRICES = [
    # snapshot_ts, provider, model, in, out, cached, tier_prices, time_of_day, scheduled_in
    (G1, "deepseek", "deepseek-v3.2-exp", 0.28, 0.42, 0.028, None, TOD, None),  # standard price: 16 of 24 h
    (G1, "fireworks", "qwen3-coder-480b-a35b-instruct", 0.45, 1.8, None, None, None, None),
    (GS, "fireworks", "qwen3-coder-480b-a35b-instruct", 0.4, 1.6, None, None, None, "2025-10-27_aaaaaaaa"),
    (G1, "openai", "gpt-oss-120b", 0.15, 0.6, None, None, None, None),
    (G1, "together", "deepseek-v3", 1.25, 1.25, None, None, None, None),
    (
        G1,
        "together",
        "kimi-k2-0905",
        1.0,
        3.0,
        None,
        [{"start": 128000, "input_mtok": 2.0, "output_mtok": 6.0}],
        None,
        None,
    ),
    (
        G2,
        "together",
        "kimi-k2-0905",
        1.0,
        3.0,
        None,
        [{"start": 128000, "input_mtok": 2.5, "output_mtok": 6.0}],
        None,
        None,
    ),
]


@pytest.fixture(scope="module")
def gp_fixture(tmp_path_factory):
    out = tmp_path_factory.mktemp("gp") / "drop"
    return import_genai_prices([GP], out), out


def test_genai_fixture_prices_tiers_time_of_day_and_scheduled_changes(gp_fixture):
    report, out = gp_fixture
    got = pl.read_parquet(out / "prices" / "genai_prices.parquet")
    rows = [
        (*r[:6], None if r[6] is None else json.loads(r[6]), None if r[7] is None else json.loads(r[7]), r[8])
        for r in got.select(
            "snapshot_ts",
            "provider",
            "model",
            "input_per_mtok",
            "output_per_mtok",
            "cached_input_per_mtok",
            "tier_prices",
            "time_of_day_prices",
            "scheduled_in",
        ).rows()
    ]
    assert rows == EXPECTED_GP_PRICES
    assert report.scheduled_rows == 1
    notes = sorted(i.reason for i in report.issues if i.reason.startswith("note:"))
    assert notes == [
        "note: 1 written prices rows are dated price changes announced in this snapshot, written at their start date",
        "note: 1 written prices rows carry prompt-length tiers in column tier_prices (contract price = the base tier)",
        "note: 1 written prices rows carry prompt-length tiers in column tier_prices (contract price = the base tier)",
        "note: 1 written prices rows carry time-of-day prices in column time_of_day_prices (contract price = the one applying the most UTC hours)",
    ]


def test_genai_fixture_every_entry_is_written_or_reported(gp_fixture, tmp_path):
    report, out = gp_fixture
    entries = {
        p.parent.name[:10]: sum(len(pr["models"]) for pr in json.loads(p.read_text())) for p in GP.glob("*/data.json")
    }
    assert report.rows_read == sum(entries.values()) == 17
    fates = {Path(f).parent.name[:10]: {k: v for k, v in c.items() if v} for f, c in report.fates.items()}
    assert fates == {
        "2025-10-27": {"priced": 5, "listed": 4, "out_of_scope": 1, "non_target": 1, "closed": 1},
        "2025-11-27": {"priced": 1, "unchanged": 3, "listed": 1},
    }
    listed = sorted(
        (Path(i.file).parent.name[:10], i.row, i.reason.split(":")[0]) for i in report.issues if i.row is not None
    )
    assert listed == [
        ("2025-10-27", 2, "duplicate_offering"),
        ("2025-10-27", 7, "missing"),
        ("2025-10-27", 11, "unmapped"),
        ("2025-10-27", 12, "malformed_row"),
        ("2025-11-27", 5, "missing"),
    ]
    endpoints = pl.read_parquet(out / "endpoints" / "genai_prices.parquet")
    assert endpoints.select(
        "provider", "model", "valid_from", "valid_to", "context_length", "context_length_source"
    ).rows() == [
        ("deepseek", "deepseek-v3.2-exp", G1, None, 128000, "context_window"),
        ("fireworks", "qwen3-coder-480b-a35b-instruct", G1, None, 262144, NATIVE_CONTEXT),
        ("openai", "gpt-oss-120b", G1, G2, 131072, NATIVE_CONTEXT),
        ("together", "deepseek-v3", G1, None, 131072, NATIVE_CONTEXT),
        ("together", "kimi-k2-0905", G1, None, 262144, "context_window"),
    ]
    assert not endpoints["capabilities_known"].any()
    assert _stage(out, tmp_path / "wh") == {"models": (5, 5, 0, 0), "endpoints": (5, 5, 0, 0), "prices": (7, 7, 0, 0)}


def test_time_of_day_base_is_the_price_of_most_hours():
    night = {"input_mtok": 1.0, "output_mtok": 2.0}
    day = {"input_mtok": 3.0, "output_mtok": 4.0}
    # the constrained window is the short one: the default holds 20 h
    now, _ = resolve_prices(
        [{"prices": night}, {"constraint": {"start_time": "22:00:00Z", "end_time": "02:00:00Z"}, "prices": day}],
        dt.date(2025, 10, 1),
        None,
    )
    assert (now["input_per_mtok"], now["output_per_mtok"]) == (1.0, 2.0)
    assert [(w["from_utc"], w["to_utc"], w["input_mtok"]) for w in json.loads(now["time_of_day_prices"])] == [
        ("00:00", "02:00", 3.0),
        ("02:00", "22:00", 1.0),
        ("22:00", "24:00", 3.0),
    ]


# --------------------------------------------------------------------------- the public samples

CHAT = {"chat", "completion", "responses", None}


def _winners(data: dict, on: dt.date) -> dict[tuple[str, str], tuple]:
    """The spec of litellm_prices in plain loops: per (provider, model) the kept key's
    (price, endpoint attributes)."""
    best: dict[tuple[str, str], tuple] = {}
    for key, e in data.items():
        if key == "sample_spec" or not isinstance(e, dict) or e.get("mode") not in CHAT:
            continue
        route = e.get("litellm_provider") or (key.split("/")[0] if "/" in key else None)
        r = resolve(key, route, on)

        def num(v) -> bool:
            return v is not None and not isinstance(v, bool) and isinstance(v, (int, float))

        def cnt(v, num=num) -> bool:
            return num(v) and v == int(v) and v >= 1

        if r.model is None or not (num(e.get("input_cost_per_token")) and num(e.get("output_cost_per_token"))):
            continue
        if e.get("cache_read_input_token_cost") is not None and not num(e.get("cache_read_input_token_cost")):
            continue
        if any(
            e.get(f) is not None and not cnt(e.get(f)) for f in ("max_input_tokens", "max_tokens", "max_output_tokens")
        ):
            continue
        ctx = e.get("max_input_tokens") or e.get("max_tokens") or CANONICAL[r.model].context_length
        # $/Mtok to 12 decimals: 2.99999e-06 and 2.9999900000000002e-06 are one price
        price = tuple(
            None if v is None else round(v * 1e6, 12)
            for v in (e["input_cost_per_token"], e["output_cost_per_token"], e.get("cache_read_input_token_cost"))
        )
        attrs = (
            int(ctx),
            e.get("max_output_tokens"),
            r.quantization,
            e.get("supports_function_calling") is True,
            e.get("supports_response_schema") is True,
            e.get("supports_reasoning") is True,
        )
        pair = (provider_id(route), r.model)
        order = (r.rank, "/" not in key, len(key), key)
        if pair not in best or order < best[pair][0]:
            best[pair] = (order, price, attrs)
    return {p: (price, attrs) for p, (_, price, attrs) in best.items()}


def _import_real(tmp_path_factory, source: str, importer) -> tuple[Path, object, Path, dict]:
    """(source folder, report, drop, staged accounting) of a public sample, imported once."""
    base = real_data(source)
    tmp = tmp_path_factory.mktemp(source)
    report = importer([base], tmp / "drop")
    return base, report, tmp / "drop", _stage(tmp / "drop", tmp / "wh")


@pytest.fixture(scope="module")
def ll_real(tmp_path_factory):
    return _import_real(tmp_path_factory, "litellm-model-prices", import_litellm_prices)


@pytest.mark.realdata
def test_real_litellm_key_counts_are_reproduced(ll_real):
    base, report, _, _ = ll_real
    snaps = sorted(base.glob("*/model_prices_and_context_window_backup.json"))
    assert len(snaps) == 14
    total = 0
    for p in snaps:
        data = json.loads(p.read_text())
        fates = report.fates[str(p)]
        assert sum(fates.values()) == len(data), p.parent.name
        assert fates["not_a_model"] == int("sample_spec" in data)
        assert fates["not_chat"] == sum(
            k != "sample_spec" and isinstance(v, dict) and v.get("mode") not in CHAT for k, v in data.items()
        )
        total += len(data)
    # SOURCE.md's entry counts exclude sample_spec: 727 ... 4552 entries, 14 snapshots
    assert report.rows_read == total == 21503
    assert report.rows_read == sum(report.fate_totals().values())


@pytest.mark.realdata
def test_real_litellm_prices_and_endpoints_match_a_plain_rederivation(ll_real):
    base, report, out, _ = ll_real
    prices = pl.read_parquet(out / "prices" / "litellm_prices.parquet")
    endpoints = pl.read_parquet(out / "endpoints" / "litellm_prices.parquet")
    last_price: dict = {}
    prev: dict = {}
    want_prices: Counter = Counter()
    want_unchanged: Counter = Counter()
    n_states = 0
    for p in sorted(base.glob("*/model_prices_and_context_window_backup.json")):
        on = dt.date.fromisoformat(p.parent.name[:10])
        winners = _winners(json.loads(p.read_text()), on)
        for pair, (price, attrs) in winners.items():
            if last_price.get(pair) != price:
                want_prices[on] += 1
                last_price[pair] = price
            else:
                want_unchanged[on] += 1
            n_states += prev.get(pair) != attrs
        prev = {pair: attrs for pair, (_, attrs) in winners.items()}
    got = Counter(prices["snapshot_ts"].dt.date().to_list())
    assert got == want_prices
    assert {
        dt.date.fromisoformat(Path(f).parent.name[:10]): c["unchanged"]
        for f, c in report.fates.items()
        if c["unchanged"]
    } == dict(want_unchanged)
    assert endpoints.height == n_states
    assert prices.height == report.rows_written["prices"] == sum(want_prices.values())


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("key", "provider", "model"),
    [
        # SOURCE.md's example: Fireworks cut DeepSeek-V3.2 from 1.2/1.2 to 0.56/1.68
        ("fireworks_ai/accounts/fireworks/models/deepseek-v3p2", "fireworks", "deepseek-v3.2"),
        # in the sample quarter: DeepInfra's GLM-4.5 0.55/2.0 -> 0.4/1.6 (world.py cites the later one)
        ("deepinfra/zai-org/GLM-4.5", "deepinfra", "glm-4.5"),
    ],
)
def test_real_litellm_price_change_appears_as_two_snapshots_with_the_right_dates(ll_real, key, provider, model):
    base, _, out, _ = ll_real
    seen = []  # (snapshot date, in $/Mtok, out $/Mtok) of the key, read straight from the JSON
    for p in sorted(base.glob("*/model_prices_and_context_window_backup.json")):
        e = json.loads(p.read_text()).get(key)
        if e:
            seen.append(
                (
                    dt.datetime.fromisoformat(p.parent.name[:10]),
                    e["input_cost_per_token"] * 1e6,
                    e["output_cost_per_token"] * 1e6,
                )
            )
    changes = [s for i, s in enumerate(seen) if i == 0 or s[1:] != seen[i - 1][1:]]
    assert len(changes) == 2 and changes[0][0] < changes[1][0]
    got = (
        pl.read_parquet(out / "prices" / "litellm_prices.parquet")
        .filter((pl.col("provider") == provider) & (pl.col("model") == model))
        .sort("snapshot_ts")
    )
    assert got["litellm_key"].to_list() == [key, key]
    assert got["snapshot_ts"].to_list() == [c[0] for c in changes]
    assert got["input_per_mtok"].to_list() == pytest.approx([c[1] for c in changes], rel=1e-12)
    assert got["output_per_mtok"].to_list() == pytest.approx([c[2] for c in changes], rel=1e-12)


@pytest.mark.realdata
def test_real_litellm_one_model_across_providers(ll_real):
    """DeepSeek-V3 under its provider spellings in the 2025-09-04 snapshot: one canonical model."""
    base, _, out, _ = ll_real
    data = json.loads((base / "2025-09-04_litellm-1.76.2" / "model_prices_and_context_window_backup.json").read_text())
    keys = [
        "together_ai/deepseek-ai/DeepSeek-V3",
        "fireworks_ai/accounts/fireworks/models/deepseek-v3",
        "deepinfra/deepseek-ai/DeepSeek-V3",
        "openrouter/deepseek/deepseek-chat",
        "deepseek/deepseek-v3",
    ]
    assert all(k in data for k in keys)
    eps = pl.read_parquet(out / "endpoints" / "litellm_prices.parquet").filter(
        (pl.col("model") == "deepseek-v3")
        & (pl.col("valid_from") <= dt.datetime(2025, 9, 4))
        & (pl.col("valid_to").is_null() | (pl.col("valid_to") > dt.datetime(2025, 9, 4)))
    )
    assert {"together", "fireworks", "deepinfra", "openrouter", "deepseek"} <= set(eps["provider"])


@pytest.mark.realdata
def test_real_litellm_drop_stages_every_written_row(ll_real):
    _, report, _, staged = ll_real
    for dataset in ("models", "endpoints", "prices"):
        n = report.rows_written[dataset]
        assert staged[dataset] == (n, n, 0, 0), dataset


@pytest.fixture(scope="module")
def gp_real(tmp_path_factory):
    return _import_real(tmp_path_factory, "genai-prices", import_genai_prices)


@pytest.mark.realdata
def test_real_genai_entries_are_counted_and_staged(gp_real):
    base, report, _, staged = gp_real
    files = sorted(base.glob("*/data.json"))
    assert len(files) == 14
    for p in files:
        n = sum(len(pr["models"]) for pr in json.loads(p.read_text()))
        assert sum(report.fates[str(p)].values()) == n, p.parent.name
    assert report.rows_read == sum(sum(len(pr["models"]) for pr in json.loads(p.read_text())) for p in files)
    for dataset in ("models", "endpoints", "prices"):
        n = report.rows_written[dataset]
        assert staged[dataset] == (n, n, 0, 0), dataset


@pytest.mark.realdata
def test_real_genai_deepseek_time_of_day_prices(gp_real):
    """DeepSeek's off-peak pricing: the written price is the one of the 00:30-16:30 UTC
    window (16 h), read from the raw JSON; the windows kept cover the whole day."""
    base, _, out, _ = gp_real
    got = pl.read_parquet(out / "prices" / "genai_prices.parquet").filter(
        (pl.col("provider") == "deepseek") & pl.col("time_of_day_prices").is_not_null()
    )
    assert got.height >= 2
    for r in got.iter_rows(named=True):
        snap = base / r["genai_snapshot"] / "data.json"
        (entry,) = [
            m
            for pr in json.loads(snap.read_text())
            if pr["id"] == "deepseek"
            for m in pr["models"]
            if m["id"] == r["genai_model_id"]
        ]
        (standard,) = [p["prices"] for p in entry["prices"] if p.get("constraint", {}).get("start_time") == "00:30:00Z"]
        assert (r["input_per_mtok"], r["output_per_mtok"], r["cached_input_per_mtok"]) == (
            standard["input_mtok"],
            standard["output_mtok"],
            standard.get("cache_read_mtok"),
        )
        windows = json.loads(r["time_of_day_prices"])
        assert windows[0]["from_utc"] == "00:00" and windows[-1]["to_utc"] == "24:00"
        assert all(a["to_utc"] == b["from_utc"] for a, b in zip(windows, windows[1:], strict=False))
