"""Planted task-dependent best providers (issue 17): a world in which the cheapest provider of
one model depends on the traffic, so that learned, segment-conditioned routing has a known
truth (the manifest's planted_best_providers).

For qwen3-32b (official API alibaba, bf16), two third-party endpoints are replaced by one
state each for the whole quarter, both bf16 (so the quantization floor admits them) with tools,
JSON mode and streaming:

- novita: cheapest for short-context chat: 0.05 / 0.05 USD per million input / output tokens,
  but a 16,384-token context, which no long_context request (32k-120k input tokens) fits;
- deepinfra: a 131,072-token context and the lowest input price, 0.04, but 0.60 for output, so
  for chat (about 8 input tokens per output token at the median) it costs about twice novita.

So chat and the balanced regime (chat's) go to novita first, long_context and the long-context
regime to deepinfra. The official API's price is untouched (2 / 8 CNY). Combine with
`--shifts none` for a world with nothing else moving.
"""

from __future__ import annotations

import datetime as dt

MODEL = "qwen3-32b"
STATES = {
    "novita": dict(context_length=16_384, max_output_tokens=8192, price=(0.05, 0.05, None)),
    "deepinfra": dict(context_length=131_072, max_output_tokens=40_960, price=(0.04, 0.60, None)),
}
PLANTED = [
    # (segment_kind, segment, objective, provider)
    ("application", "chat", "cost", "novita"),
    ("token_regime", "balanced", "cost", "novita"),
    ("application", "long_context", "cost", "deepinfra"),
    ("token_regime", "long-context", "cost", "deepinfra"),
]
MODES = ("none", "planted")


def plant_endpoints(eps: list[dict]) -> list[dict]:
    """The endpoint states with the planted providers' states of MODEL replaced by one each."""
    out, done = [], set()
    for e in eps:
        if e["model"] == MODEL and e["provider"] in STATES:
            if e["provider"] in done:
                continue
            done.add(e["provider"])
            e = dict(
                e,
                **STATES[e["provider"]],
                quantization="bf16",
                supports_tools=True,
                supports_json_mode=True,
                supports_streaming=True,
                valid_from=dt.date(2025, 9, 1),
                valid_to=None,
                source="planted best provider (pipeline/lib/generate/best.py)",
            )
        out.append(e)
    assert done == set(STATES), done
    return out


def planted_best_providers() -> list[dict]:
    """The manifest's planted_best_providers: the provider a learned cost order should put first."""
    return [{"model": MODEL, "segment_kind": k, "segment": s, "objective": o, "provider": p} for k, s, o, p in PLANTED]
