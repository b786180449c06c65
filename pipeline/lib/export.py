"""`servicelens export`: a row of marts.routing_recommendations as a gateway's configuration.

- LiteLLM (proxy config.yaml / Router): one deployment per listed provider in `model_list`, all
  named after the model (one model group), `litellm_params.model` as `<LiteLLM prefix>/<model>`
  (the prefix of the provider where LiteLLM has one; otherwise an OpenAI-compatible deployment,
  `openai/<model>` with `api_base: os.environ/<PROVIDER>_API_BASE`), `api_key:
  os.environ/<PROVIDER>_API_KEY`, and `order: k` (LiteLLM's deployment priority within a model
  group: 1 first, the next tried when it fails); `router_settings.enable_pre_call_checks` lets
  the router skip a deployment whose context window the request does not fit, as the replay's
  first-feasible rule does.
- OpenRouter (provider routing preferences of a request body): `provider.order` in the
  recommended order, `allow_fallbacks: false` (only the vetted providers: the constraints left
  the others out on purpose), `max_price` {prompt, completion} in USD per million tokens, the
  highest listed price at the end of the test window.

Provider ids are this project's (staging.endpoints.provider); model ids are the canonical ones
(staging.models.model): a gateway's own model slugs may differ."""

from __future__ import annotations

import json

# provider id -> LiteLLM's provider prefix (its provider routes, as pipeline/data/provider_routes.csv
# maps them back); providers not listed are exported as OpenAI-compatible deployments
LITELLM_PREFIX = {
    "alibaba": "dashscope",
    "deepinfra": "deepinfra",
    "deepseek": "deepseek",
    "fireworks": "fireworks_ai",
    "groq": "groq",
    "minimax": "minimax",
    "mistral": "mistral",
    "moonshot": "moonshot",
    "novita": "novita",
    "together": "together_ai",
    "volcengine": "volcengine",
    "zhipu": "zai",
}
# provider id -> OpenRouter's provider slug where it differs
OPENROUTER_SLUG = {"moonshot": "moonshotai", "zhipu": "z-ai", "baidu-qianfan": "baidu"}
FORMATS = ("litellm", "openrouter")


def env_name(provider: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in provider.upper())


def litellm_config(rec: dict) -> dict:
    model, deployments = rec["model"], []
    for k, provider in enumerate(rec["providers"], start=1):
        prefix = LITELLM_PREFIX.get(provider)
        params = {
            "model": f"{prefix or 'openai'}/{model}",
            "api_key": f"os.environ/{env_name(provider)}_API_KEY",
            "order": k,
        }
        if prefix is None:
            params["api_base"] = f"os.environ/{env_name(provider)}_API_BASE"
        deployments.append({"model_name": model, "litellm_params": params, "model_info": {"id": f"{model}@{provider}"}})
    return {"model_list": deployments, "router_settings": {"enable_pre_call_checks": True}}


def openrouter_preferences(rec: dict) -> dict:
    prefs = {
        "order": [OPENROUTER_SLUG.get(p, p) for p in rec["providers"]],
        "allow_fallbacks": False,
    }
    price = {
        k: rec[c]
        for k, c in (("prompt", "max_input_price_usd_per_mtok"), ("completion", "max_output_price_usd_per_mtok"))
        if rec.get(c) is not None
    }
    if price:
        prefs["max_price"] = price
    return {"model": rec["model"], "provider": prefs}


def header(rec: dict) -> str:
    """Where the order comes from, as comment lines for the YAML file."""
    lines = [
        f"servicelens export: marts.routing_recommendations, {rec['model']} / {rec['segment']} ({rec['segment_kind']}), "
        f"objective {rec['objective']}",
        f"learned on {rec['train_start']}..{rec['train_end']}, tested on {rec['test_start']}..{rec['test_end']}: "
        f"realised {_pct(rec['realised_change_pct'])} vs the official API ({rec['baseline_provider']}), "
        f"predicted {_pct(rec['predicted_change_pct'])}",
    ]
    return "".join(f"# {line}\n" for line in lines)


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:+.1f} %"


def render(rec: dict, fmt: str) -> str:
    if fmt == "litellm":
        import yaml

        return header(rec) + yaml.safe_dump(litellm_config(rec), sort_keys=False)
    if fmt == "openrouter":
        return json.dumps(openrouter_preferences(rec), indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}: use {' or '.join(FORMATS)}")
