"""One model, many spellings: provider model names -> canonical model ids, and provider
routes -> provider ids.

Price tables and request logs name the same open-weight model differently per provider:
`deepseek/deepseek-chat`, `together_ai/deepseek-ai/DeepSeek-V3`,
`fireworks_ai/accounts/fireworks/models/deepseek-v3`, `deepinfra/deepseek-ai/DeepSeek-V3` and
OpenRouter's `deepseek/deepseek-chat` are all DeepSeek-V3. `resolve(name, route, on)` maps
such a name to one canonical id of `CANONICAL` (the same ids as the sample world,
pipeline/lib/generate/world.py, where a model appears in both), and `provider_id(route)`
maps a route slug (LiteLLM's `litellm_provider`, a genai-prices provider id, a log's
provider column) to the project's provider ids (`together`, `fireworks`, `zhipu`, ...).

How a name is read (`clean_name`):

1. lower-cased; URL escapes decoded; a leading `~` dropped; only the last path segment kept
   (`fireworks_ai/accounts/fireworks/models/deepseek-v3` -> `deepseek-v3`);
2. Bedrock spellings: a region prefix (`us.`, `eu.`, `apac.`, `global.`, ...) is an offering
   marker, a vendor prefix (`meta.`, `deepseek.`, `qwen.`, ...) is dropped (re-attached
   when the rest does not name the family: `deepseek.r1-v1:0` -> `deepseek-r1`), `-v0:2` is
   Mistral's v0.2, and API versions (`-v1:0`, `-1:0`, `:0`) are dropped;
3. OpenRouter / Ollama tags after `:` (`:free`, `:nitro`, `:extended`, `:exacto`,
   `:thinking`, `:120b-cloud`) are markers;
4. Fireworks writes decimals with `p` (`v3p1` -> `v3.1`), others with `_` (`3_1` -> `3.1`);
5. trailing tokens are peeled off as markers: quantization (`fp8`, `fp4`, `nvfp4`/`mxfp4`
   -> fp4, `bf16`, `fp16`, `int8`, `int4`, `awq` -> int4) and offering tiers (`turbo`,
   `tput`, `lite`, `fast`, `highspeed`, `lightning`, `spot`, `us`, `free`, `specdec`),
   neutral suffixes (`hf`, `maas`, `basic`, `gguf`) are dropped.

The cleaned name is then matched (full match) against each canonical model's patterns.
Names without `-instruct` are read as the instruct model where the family's hosted APIs
serve only that (`llama-3.3-70b` on Cerebras); names with `base` are not matched.

Moving aliases: DeepSeek's own API serves `deepseek-chat` and `deepseek-reasoner` as
whatever model is current, so on route `deepseek` they resolve by date (DEEPSEEK_API_ALIASES;
the dates are DeepSeek's API change-log dates). Everywhere else `deepseek-chat` is the fixed
DeepSeek-V3 (OpenRouter's slug), `deepseek-reasoner` DeepSeek-R1.

A name that cannot be mapped gets a reason class (`Resolution.status`):

    non_target   no family the project studies (gpt-4o, claude-..., embeddings ...)
    closed       a target family's developer, but not open weights (qwen-max, moonshot-v1,
                 mistral-medium, codestral, glm-4-plus ...)
    derivative   a third-party fine-tune or merge of a target model (hermes, dolphin, ...)
    out_of_scope open weights but not a chat model the project studies (guard/safety models)
    unmapped     a target family whose spelling is not in this map (a newer or minor
                 variant): importers list these individually so the map can be extended

Price importers count the first four per snapshot and reason and list `unmapped` keys one by
one; log importers list every row that is not written.

Offering markers let importers choose one key when several spellings of one provider map to
the same model in one snapshot (DeepInfra's `Llama-3.3-70B-Instruct` and `-Turbo`): see
`Resolution.rank`.

Release dates are the public Hugging Face / blog release dates. `context_length` is the
model's native window (the developer's model card), used only where a source has none.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

D = dt.date.fromisoformat


@dataclass(frozen=True)
class CanonicalModel:
    model: str
    family: str
    developer: str
    release_date: dt.date
    successor_of: str | None
    official_provider: str
    context_length: int  # native window per the model card
    patterns: tuple[str, ...] = ()  # full-match regexes over clean_name's core


def _m(model, family, developer, release, successor, official, ctx, *patterns) -> CanonicalModel:
    return CanonicalModel(model, family, developer, D(release), successor, official, ctx, tuple(patterns))


# Families without a first-party API use the same canonical host as the sample world
# (world.py): gpt-oss, llama -> together; gemma, phi, nemotron -> deepinfra; baichuan ->
# siliconflow. DeepSeek's R1 distills (not served by DeepSeek's API) -> together.
_MODELS = (
    # ---------------------------------------------------------------- deepseek
    _m(
        "deepseek-v3",
        "deepseek",
        "deepseek",
        "2024-12-26",
        None,
        "deepseek",
        131072,
        r"deepseek-v3",
        r"deepseek-chat",
        r"deepseek-v3-chat",
    ),
    _m(
        "deepseek-v3-0324",
        "deepseek",
        "deepseek",
        "2025-03-24",
        "deepseek-v3",
        "deepseek",
        131072,
        r"deepseek-v3-0324",
        r"deepseek-chat-v3-0324",
    ),
    _m(
        "deepseek-v3.1",
        "deepseek",
        "deepseek",
        "2025-08-21",
        "deepseek-v3-0324",
        "deepseek",
        131072,
        r"deepseek-v3\.1",
        r"deepseek-chat-v3\.1",
    ),
    _m(
        "deepseek-v3.1-terminus",
        "deepseek",
        "deepseek",
        "2025-09-22",
        None,
        "deepseek",
        131072,
        r"deepseek-v3\.1-terminus",
    ),
    _m(
        "deepseek-v3.2-exp",
        "deepseek",
        "deepseek",
        "2025-09-29",
        "deepseek-v3.1-terminus",
        "deepseek",
        131072,
        r"deepseek-v3\.2-exp",
    ),
    _m(
        "deepseek-v3.2",
        "deepseek",
        "deepseek",
        "2025-12-01",
        "deepseek-v3.2-exp",
        "deepseek",
        131072,
        r"deepseek-v3\.2",
        r"deepseek-v3-2-251201",
    ),
    _m(
        "deepseek-r1",
        "deepseek",
        "deepseek",
        "2025-01-20",
        None,
        "deepseek",
        131072,
        r"deepseek-r1",
        r"deepseek-r1-671b",
        r"deepseek-reasoner",
    ),
    _m("deepseek-r1-0528", "deepseek", "deepseek", "2025-05-28", None, "deepseek", 131072, r"deepseek-r1-0528"),
    _m(
        "deepseek-r1-distill-llama-70b",
        "deepseek",
        "deepseek",
        "2025-01-20",
        None,
        "together",
        131072,
        r"deepseek-r1-distill-llama-70b",
    ),
    _m(
        "deepseek-r1-distill-qwen-32b",
        "deepseek",
        "deepseek",
        "2025-01-20",
        None,
        "together",
        131072,
        r"deepseek-r1-distill-qwen-32b",
    ),
    # ---------------------------------------------------------------- qwen
    _m("qwen2.5-72b-instruct", "qwen", "alibaba", "2024-09-19", None, "alibaba", 131072, r"qwen2\.5-72b-instruct"),
    _m("qwen2.5-7b-instruct", "qwen", "alibaba", "2024-09-19", None, "alibaba", 131072, r"qwen2\.5-7b-instruct"),
    _m(
        "qwen2.5-coder-32b-instruct",
        "qwen",
        "alibaba",
        "2024-11-12",
        None,
        "alibaba",
        131072,
        r"qwen2\.5-coder-32b-instruct",
    ),
    _m("qwq-32b", "qwen", "alibaba", "2025-03-06", None, "alibaba", 131072, r"qwq-32b", r"qwen-qwq-32b"),
    _m("qwen3-8b", "qwen", "alibaba", "2025-04-29", None, "alibaba", 131072, r"qwen3-8b(-instruct)?"),
    _m("qwen3-14b", "qwen", "alibaba", "2025-04-29", None, "alibaba", 131072, r"qwen3-14b(-instruct)?"),
    _m("qwen3-32b", "qwen", "alibaba", "2025-04-29", None, "alibaba", 131072, r"qwen3-32b(-instruct)?"),
    _m("qwen3-30b-a3b", "qwen", "alibaba", "2025-04-29", None, "alibaba", 131072, r"qwen3-30b(-a3b)?"),
    _m("qwen3-235b-a22b", "qwen", "alibaba", "2025-04-29", None, "alibaba", 131072, r"qwen3-235b(-a22b)?"),
    _m(
        "qwen3-235b-a22b-instruct-2507",
        "qwen",
        "alibaba",
        "2025-07-21",
        None,
        "alibaba",
        262144,
        r"qwen3-235b-a22b-instruct-2507",
        r"qwen3-235b-a22b-2507",
    ),
    _m(
        "qwen3-235b-a22b-thinking-2507",
        "qwen",
        "alibaba",
        "2025-07-25",
        None,
        "alibaba",
        262144,
        r"qwen3-235b-a22b-thinking-2507",
    ),
    _m(
        "qwen3-30b-a3b-instruct-2507",
        "qwen",
        "alibaba",
        "2025-07-29",
        None,
        "alibaba",
        262144,
        r"qwen3-30b-a3b-instruct-2507",
    ),
    _m(
        "qwen3-30b-a3b-thinking-2507",
        "qwen",
        "alibaba",
        "2025-07-30",
        None,
        "alibaba",
        262144,
        r"qwen3-30b-a3b-thinking-2507",
    ),
    _m(
        "qwen3-coder-480b-a35b-instruct",
        "qwen",
        "alibaba",
        "2025-07-22",
        None,
        "alibaba",
        262144,
        r"qwen3-coder-480b(-a35b)?(-instruct)?",
        r"qwen3-coder",
    ),
    _m(
        "qwen3-coder-30b-a3b-instruct",
        "qwen",
        "alibaba",
        "2025-07-31",
        None,
        "alibaba",
        262144,
        r"qwen3-coder-30b-a3b(-instruct)?",
    ),
    _m(
        "qwen3-next-80b-a3b-instruct",
        "qwen",
        "alibaba",
        "2025-09-11",
        None,
        "alibaba",
        262144,
        r"qwen3-next-80b-a3b(-instruct)?",
    ),
    _m(
        "qwen3-next-80b-a3b-thinking",
        "qwen",
        "alibaba",
        "2025-09-11",
        None,
        "alibaba",
        262144,
        r"qwen3-next-80b-a3b-thinking",
    ),
    # ---------------------------------------------------------------- kimi
    _m(
        "kimi-k2-0711",
        "kimi",
        "moonshot",
        "2025-07-11",
        None,
        "moonshot",
        131072,
        r"kimi-k2",
        r"kimi-k2-0711",
        r"kimi-k2-0711-preview",
        r"kimi-k2-instruct",
        r"kimi-k2-instruct-0711",
    ),
    _m(
        "kimi-k2-0905",
        "kimi",
        "moonshot",
        "2025-09-05",
        "kimi-k2-0711",
        "moonshot",
        262144,
        r"kimi-k2-0905",
        r"kimi-k2-0905-preview",
        r"kimi-k2-instruct-0905",
    ),
    _m(
        "kimi-k2-thinking",
        "kimi",
        "moonshot",
        "2025-11-06",
        "kimi-k2-0905",
        "moonshot",
        262144,
        r"kimi-k2-thinking",
        r"kimi-k2-thinking-251104",
    ),
    # ---------------------------------------------------------------- glm
    _m("glm-4.5", "glm", "zhipu", "2025-07-28", None, "zhipu", 131072, r"glm-4\.5"),
    _m("glm-4.5-air", "glm", "zhipu", "2025-07-28", None, "zhipu", 131072, r"glm-4\.5-air"),
    _m("glm-4.6", "glm", "zhipu", "2025-09-30", "glm-4.5", "zhipu", 204800, r"glm-4\.6"),
    # ---------------------------------------------------------------- minimax
    # MiniMax-M1-40k and -80k (two thinking budgets of one release) are one model here, as in world.py.
    _m("minimax-m1", "minimax", "minimax", "2025-06-16", None, "minimax", 1000000, r"minimax-m1(-40k|-80k)?"),
    _m("minimax-m2", "minimax", "minimax", "2025-10-27", "minimax-m1", "minimax", 204800, r"minimax-m2"),
    # ---------------------------------------------------------------- gpt-oss
    _m("gpt-oss-120b", "gpt-oss", "openai", "2025-08-05", None, "together", 131072, r"gpt-oss-120b"),
    _m("gpt-oss-20b", "gpt-oss", "openai", "2025-08-05", None, "together", 131072, r"gpt-oss-20b"),
    # ---------------------------------------------------------------- llama
    _m("llama-2-7b-chat", "llama", "meta", "2023-07-18", None, "together", 4096, r"llama-?v?2-7b-chat"),
    _m("llama-2-13b-chat", "llama", "meta", "2023-07-18", None, "together", 4096, r"llama-?v?2-13b-chat"),
    _m(
        "llama-2-70b-chat",
        "llama",
        "meta",
        "2023-07-18",
        None,
        "together",
        4096,
        r"llama-?v?2-70b-chat",
        r"llama2-70b-4096",
    ),
    _m(
        "llama-3-8b-instruct",
        "llama",
        "meta",
        "2024-04-18",
        None,
        "together",
        8192,
        r"llama-?v?3-8b(-instruct|-chat)?",
        r"llama3-8b-8192",
    ),
    _m(
        "llama-3-70b-instruct",
        "llama",
        "meta",
        "2024-04-18",
        None,
        "together",
        8192,
        r"llama-?v?3-70b(-instruct|-chat)?",
        r"llama3-70b-8192",
    ),
    _m(
        "llama-3.1-8b-instruct",
        "llama",
        "meta",
        "2024-07-23",
        "llama-3-8b-instruct",
        "together",
        131072,
        r"llama-?v?3[.-]1-8b(-instruct|-instant)?",
    ),
    _m(
        "llama-3.1-70b-instruct",
        "llama",
        "meta",
        "2024-07-23",
        "llama-3-70b-instruct",
        "together",
        131072,
        r"llama-?v?3[.-]1-70b(-instruct|-versatile)?",
    ),
    _m(
        "llama-3.1-405b-instruct",
        "llama",
        "meta",
        "2024-07-23",
        None,
        "together",
        131072,
        r"llama-?v?3[.-]1-405b(-instruct)?",
    ),
    _m(
        "llama-3.2-1b-instruct",
        "llama",
        "meta",
        "2024-09-25",
        None,
        "together",
        131072,
        r"llama-?v?3[.-]2-1b(-instruct|-preview)?",
    ),
    _m(
        "llama-3.2-3b-instruct",
        "llama",
        "meta",
        "2024-09-25",
        None,
        "together",
        131072,
        r"llama-?v?3[.-]2-3b(-instruct|-preview)?",
    ),
    _m(
        "llama-3.2-11b-vision-instruct",
        "llama",
        "meta",
        "2024-09-25",
        None,
        "together",
        131072,
        r"llama-?v?3[.-]2-11b(-vision)?(-instruct|-preview)?",
    ),
    _m(
        "llama-3.2-90b-vision-instruct",
        "llama",
        "meta",
        "2024-09-25",
        None,
        "together",
        131072,
        r"llama-?v?3[.-]2-90b(-vision)?(-instruct|-preview)?",
    ),
    _m(
        "llama-3.3-70b-instruct",
        "llama",
        "meta",
        "2024-12-06",
        "llama-3.1-70b-instruct",
        "together",
        131072,
        r"llama-?v?3[.-]3-70b(-instruct|-versatile)?",
    ),
    _m(
        "llama-4-scout-17b-16e-instruct",
        "llama",
        "meta",
        "2025-04-05",
        None,
        "together",
        10485760,
        r"llama-?4-scout(-17b)?(-\d+e)?(-instruct)?",
    ),
    _m(
        "llama-4-maverick-17b-128e-instruct",
        "llama",
        "meta",
        "2025-04-05",
        None,
        "together",
        1048576,
        r"llama-?4-maverick(-17b)?(-\d+e)?(-instruct)?",
    ),
    # ---------------------------------------------------------------- mistral (Apache-2.0 weights)
    _m(
        "mistral-7b-instruct-v0.1",
        "mistral",
        "mistral",
        "2023-09-27",
        None,
        "mistral",
        8192,
        r"mistral-7b-instruct-v0\.1",
    ),
    _m(
        "mistral-7b-instruct-v0.2",
        "mistral",
        "mistral",
        "2023-12-11",
        "mistral-7b-instruct-v0.1",
        "mistral",
        32768,
        r"mistral-7b-instruct-v0\.2",
    ),
    _m(
        "mistral-7b-instruct-v0.3",
        "mistral",
        "mistral",
        "2024-05-22",
        "mistral-7b-instruct-v0.2",
        "mistral",
        32768,
        r"mistral-7b-instruct-v0\.3",
        r"mistral-7b-instruct-v3",
        r"open-mistral-7b",
    ),
    _m(
        "mixtral-8x7b-instruct",
        "mistral",
        "mistral",
        "2023-12-11",
        None,
        "mistral",
        32768,
        r"mixtral-8x7b-instruct(-v0[.-]1)?",
        r"open-mixtral-8x7b",
        r"mixtral-8x7b-32768",
    ),
    _m(
        "mixtral-8x22b-instruct",
        "mistral",
        "mistral",
        "2024-04-17",
        None,
        "mistral",
        65536,
        r"mixtral-8x22b-instruct(-v0\.1)?",
        r"open-mixtral-8x22b",
    ),
    _m(
        "mistral-nemo-instruct-2407",
        "mistral",
        "mistral",
        "2024-07-18",
        None,
        "mistral",
        131072,
        r"(open-)?mistral-nemo(-instruct)?(-2407)?",
    ),
    _m(
        "mistral-small-24b-instruct-2501",
        "mistral",
        "mistral",
        "2025-01-30",
        None,
        "mistral",
        32768,
        r"mistral-small-24b-instruct-2501",
        r"mistral-small-2501",
    ),
    _m(
        "mistral-small-3.1-24b-instruct",
        "mistral",
        "mistral",
        "2025-03-17",
        "mistral-small-24b-instruct-2501",
        "mistral",
        131072,
        r"mistral-small-3[.-]1-24b-instruct(-2503)?",
        r"mistral-small-2503",
    ),
    _m(
        "mistral-small-3.2-24b-instruct",
        "mistral",
        "mistral",
        "2025-06-20",
        None,
        "mistral",
        131072,
        r"mistral-small-3[.-]2-24b-instruct(-2506)?",
        r"mistral-small-2506",
    ),
    _m("devstral-small-2505", "mistral", "mistral", "2025-05-21", None, "mistral", 131072, r"devstral-small-2505"),
    _m(
        "devstral-small-2507",
        "mistral",
        "mistral",
        "2025-07-10",
        "devstral-small-2505",
        "mistral",
        131072,
        r"devstral-small-2507",
    ),
    _m("magistral-small-2506", "mistral", "mistral", "2025-06-10", None, "mistral", 40960, r"magistral-small-2506"),
    # ---------------------------------------------------------------- others in the sample world
    _m("gemma-2-9b-it", "gemma", "google", "2024-06-27", None, "deepinfra", 8192, r"gemma-?2-9b(-it)?"),
    _m("gemma-2-27b-it", "gemma", "google", "2024-06-27", None, "deepinfra", 8192, r"gemma-?2-27b(-it)?"),
    _m("gemma-3-4b-it", "gemma", "google", "2025-03-12", None, "deepinfra", 131072, r"gemma-?3-4b(-it)?"),
    _m("gemma-3-12b-it", "gemma", "google", "2025-03-12", None, "deepinfra", 131072, r"gemma-?3-12b(-it)?"),
    _m("gemma-3-27b-it", "gemma", "google", "2025-03-12", None, "deepinfra", 131072, r"gemma-?3-27b(-it)?"),
    _m("phi-4", "phi", "microsoft", "2024-12-12", None, "deepinfra", 16384, r"phi-4"),
    _m(
        "llama-3.1-nemotron-70b-instruct",
        "nemotron",
        "nvidia",
        "2024-10-15",
        None,
        "deepinfra",
        131072,
        r"llama-?v?3[.-]1-nemotron-70b-instruct",
    ),
    _m(
        "llama-3.3-nemotron-super-49b-v1.5",
        "nemotron",
        "nvidia",
        "2025-07-25",
        None,
        "deepinfra",
        131072,
        r"llama-3[.-]3-nemotron-super-49b-v1\.5",
    ),
    _m(
        "ernie-4.5-300b-a47b",
        "ernie",
        "baidu",
        "2025-06-30",
        None,
        "baidu-qianfan",
        131072,
        r"ernie-4\.5-300b-a47b(-pt|-paddle)?",
    ),
    _m(
        "ernie-4.5-21b-a3b",
        "ernie",
        "baidu",
        "2025-06-30",
        None,
        "baidu-qianfan",
        131072,
        r"ernie-4\.5-21b-a3b(-pt|-paddle)?",
    ),
    _m("baichuan-m2-32b", "baichuan", "baichuan", "2025-08-11", None, "siliconflow", 131072, r"baichuan-m2-32b"),
    _m(
        "hunyuan-a13b-instruct",
        "hunyuan",
        "tencent",
        "2025-06-27",
        None,
        "siliconflow",
        262144,
        r"hunyuan-a13b(-instruct)?",
    ),
    _m(
        "seed-oss-36b-instruct",
        "seed-oss",
        "bytedance",
        "2025-08-20",
        None,
        "volcengine",
        524288,
        r"seed-oss-36b(-instruct)?",
    ),
    _m("longcat-flash-chat", "longcat", "meituan", "2025-09-01", None, "siliconflow", 131072, r"longcat-flash(-chat)?"),
    _m("step3", "step", "stepfun", "2025-07-31", None, "siliconflow", 65536, r"step-?3"),
    _m("ling-flash-2.0", "ling", "inclusionai", "2025-09-17", None, "siliconflow", 131072, r"ling-flash-2\.0"),
    _m(
        "internlm3-8b-instruct",
        "internlm",
        "shanghai-ai-lab",
        "2025-01-15",
        None,
        "siliconflow",
        32768,
        r"internlm3-8b(-instruct)?",
    ),
    _m("yi-1.5-34b-chat", "yi", "01-ai", "2024-05-12", None, "siliconflow", 4096, r"yi-1\.5-34b(-chat)?"),
    # ---------------------------------------------------------------- further variants common in price tables
    _m(
        "deepseek-r1-distill-llama-8b",
        "deepseek",
        "deepseek",
        "2025-01-20",
        None,
        "together",
        131072,
        r"deepseek-r1-distill-llama-8b",
    ),
    _m(
        "deepseek-r1-distill-qwen-14b",
        "deepseek",
        "deepseek",
        "2025-01-20",
        None,
        "together",
        131072,
        r"deepseek-r1-distill-qwen-14b",
    ),
    _m(
        "deepseek-r1-distill-qwen-7b",
        "deepseek",
        "deepseek",
        "2025-01-20",
        None,
        "together",
        131072,
        r"deepseek-r1-distill-qwen-7b",
    ),
    _m(
        "deepseek-r1-distill-qwen-1.5b",
        "deepseek",
        "deepseek",
        "2025-01-20",
        None,
        "together",
        131072,
        r"deepseek-r1-distill-qwen-1\.5b",
    ),
    _m("qwen2-72b-instruct", "qwen", "alibaba", "2024-06-07", None, "alibaba", 131072, r"qwen2-72b-instruct"),
    _m("qwq-32b-preview", "qwen", "alibaba", "2024-11-28", None, "alibaba", 32768, r"(qwen-)?qwq-32b-preview"),
    _m("qwen2.5-vl-7b-instruct", "qwen", "alibaba", "2025-01-26", None, "alibaba", 131072, r"qwen2\.5-vl-7b-instruct"),
    _m(
        "qwen2.5-vl-72b-instruct", "qwen", "alibaba", "2025-01-26", None, "alibaba", 131072, r"qwen2\.5-vl-72b-instruct"
    ),
    _m(
        "qwen2.5-vl-32b-instruct", "qwen", "alibaba", "2025-03-24", None, "alibaba", 131072, r"qwen2\.5-vl-32b-instruct"
    ),
    _m("glm-4-32b-0414", "glm", "zhipu", "2025-04-14", None, "zhipu", 32768, r"glm-4-32b(-0414)?(-128k)?"),
    _m("pixtral-12b-2409", "mistral", "mistral", "2024-09-17", None, "mistral", 131072, r"pixtral-12b(-2409)?"),
    _m("gemma-7b-it", "gemma", "google", "2024-02-21", None, "deepinfra", 8192, r"gemma-7b-it"),
    _m("phi-4-mini-instruct", "phi", "microsoft", "2025-02-26", None, "deepinfra", 131072, r"phi-4-mini-instruct"),
    _m(
        "phi-4-multimodal-instruct",
        "phi",
        "microsoft",
        "2025-02-26",
        None,
        "deepinfra",
        131072,
        r"phi-4-multimodal-instruct",
    ),
    _m("phi-4-reasoning", "phi", "microsoft", "2025-04-30", None, "deepinfra", 32768, r"phi-4-reasoning"),
    _m("phi-4-reasoning-plus", "phi", "microsoft", "2025-04-30", None, "deepinfra", 32768, r"phi-4-reasoning-plus"),
    _m(
        "llama-3.3-nemotron-super-49b-v1",
        "nemotron",
        "nvidia",
        "2025-03-18",
        None,
        "deepinfra",
        131072,
        r"llama-3[.-]3-nemotron-super-49b-v1",
    ),
    _m(
        "llama-3.1-nemotron-ultra-253b-v1",
        "nemotron",
        "nvidia",
        "2025-04-07",
        None,
        "deepinfra",
        131072,
        r"llama-3[.-]1-nemotron-ultra-253b-v1",
    ),
)
CANONICAL: dict[str, CanonicalModel] = {m.model: m for m in _MODELS}
assert len(CANONICAL) == len(_MODELS), "duplicate canonical id"

_COMPILED: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), m.model) for m in _MODELS for p in m.patterns)

# DeepSeek's own API: the model behind its moving aliases, by date (from, model). Dates of
# DeepSeek's API change log: V3-0324 on 2025-03-24, V3.1 (both aliases, thinking and
# non-thinking modes of one model) on 2025-08-21, V3.1-Terminus 2025-09-22, V3.2-Exp
# 2025-09-29, V3.2 2025-12-01; R1-0528 replaced R1 on 2025-05-28. The last entry holds
# until a release this map does not know.
DEEPSEEK_API_ALIASES: dict[str, tuple[tuple[dt.date, str], ...]] = {
    "deepseek-chat": (
        (D("2024-12-26"), "deepseek-v3"),
        (D("2025-03-24"), "deepseek-v3-0324"),
        (D("2025-08-21"), "deepseek-v3.1"),
        (D("2025-09-22"), "deepseek-v3.1-terminus"),
        (D("2025-09-29"), "deepseek-v3.2-exp"),
        (D("2025-12-01"), "deepseek-v3.2"),
    ),
    "deepseek-reasoner": (
        (D("2025-01-20"), "deepseek-r1"),
        (D("2025-05-28"), "deepseek-r1-0528"),
        (D("2025-08-21"), "deepseek-v3.1"),
        (D("2025-09-22"), "deepseek-v3.1-terminus"),
        (D("2025-09-29"), "deepseek-v3.2-exp"),
        (D("2025-12-01"), "deepseek-v3.2"),
    ),
}
# deepseek-reasoner is the thinking mode of the same model as deepseek-chat from V3.1 on:
# when both are listed, deepseek-chat is the one kept (see Resolution.rank).
_SECONDARY_ALIASES = {"deepseek-reasoner"}

# Provider API names for a faster, pricier tier of a model: (canonical spelling, marker).
# Moonshot: kimi-k2-turbo-preview is the high-speed kimi-k2-0905; Z.ai: GLM-4.5-X and
# GLM-4.5-AirX are the high-speed GLM-4.5 and GLM-4.5-Air.
TIER_NAMES: dict[str, tuple[str, str]] = {
    "kimi-k2-turbo-preview": ("kimi-k2-0905", "turbo"),
    "glm-4.5-x": ("glm-4.5", "x"),
    "glm-4.5-airx": ("glm-4.5-air", "x"),
}

# Exact (route, raw last segment) spellings no rule can read.
RAW_OVERRIDES: dict[tuple[str, str], str] = {
    # AWS Bedrock's DeepSeek-V3.1 (September 2025) has the model id deepseek.v3-v1:0.
    ("bedrock", "deepseek.v3-v1:0"): "deepseek-v3.1",
}

# --------------------------------------------------------------------------- providers

# Route slug (LiteLLM litellm_provider / key prefix, genai-prices provider id, log provider
# column, lower-cased) -> provider id. Unlisted slugs keep their name with `_` -> `-`.
PROVIDER_OF_ROUTE: dict[str, str] = {
    "together_ai": "together",
    "together": "together",
    "togetherai": "together",
    "fireworks_ai": "fireworks",
    "fireworks": "fireworks",
    "deepinfra": "deepinfra",
    "novita": "novita",
    "novitaai": "novita",
    "groq": "groq",
    "deepseek": "deepseek",
    "moonshot": "moonshot",
    "moonshotai": "moonshot",
    "moonshot ai": "moonshot",
    "zai": "zhipu",
    "z.ai": "zhipu",
    "z-ai": "zhipu",
    "zhipuai": "zhipu",
    "zhipu": "zhipu",
    "dashscope": "alibaba",
    "alibaba": "alibaba",
    "minimax": "minimax",
    "mistral": "mistral",
    "mistralai": "mistral",
    "codestral": "mistral",
    "text-completion-codestral": "mistral",
    "volcengine": "volcengine",
    "siliconflow": "siliconflow",
    "openrouter": "openrouter",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "bedrock_mantle": "bedrock",
    "aws": "bedrock",
    "amazon bedrock": "bedrock",
    "azure": "azure",
    "azure_ai": "azure",
    "azure_text": "azure",
    "vertex_ai": "vertex-ai",
    "google vertex": "vertex-ai",
    "hyperbolic": "hyperbolic",
    "sambanova": "sambanova",
    "cerebras": "cerebras",
    "nebius": "nebius",
    "nebius ai studio": "nebius",
    "baseten": "baseten",
    "lambda_ai": "lambda",
    "lambda": "lambda",
    "parasail": "parasail",
    "chutes": "chutes",
    "baidu": "baidu-qianfan",
    "qianfan": "baidu-qianfan",
}


def provider_id(route: str | None) -> str | None:
    """The project's provider id for a route slug (None for a blank one)."""
    if route is None:
        return None
    r = str(route).strip().lower()
    if not r:
        return None
    if r in PROVIDER_OF_ROUTE:
        return PROVIDER_OF_ROUTE[r]
    if r.startswith("vertex_ai"):
        return "vertex-ai"
    if r.startswith("huggingface_") or r.startswith("huggingface-"):
        backend = r[len("huggingface_") :]
        backend = PROVIDER_OF_ROUTE.get(backend, PROVIDER_OF_ROUTE.get(backend.replace("-ai", "_ai"), backend))
        return "huggingface-" + backend.replace("_", "-")
    return re.sub(r"[^a-z0-9.]+", "-", r).strip("-") or None


# --------------------------------------------------------------------------- cleaning

QUANT_MARKERS = {
    "fp8": "fp8",
    "fp4": "fp4",
    "nvfp4": "fp4",
    "mxfp4": "fp4",
    "bf16": "bf16",
    "fp16": "fp16",
    "int8": "int8",
    "int4": "int4",
    "awq": "int4",
}
OFFERING_MARKERS = {
    "turbo",
    "tput",
    "lite",
    "fast",
    "highspeed",
    "lightning",
    "spot",
    "us",
    "free",
    "specdec",
    "nitro",
    "extended",
    "exacto",
    "floor",
    "thinking",
    "beta",
    "region",
    "x",
}
NEUTRAL_SUFFIXES = {"hf", "maas", "basic", "gguf", "dynamic", "long"}

_REGION_PATH = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")
_REGION = re.compile(r"^(us-gov|us|eu|apac|global|jp|au|ca|in|regional)\.")
_VENDOR = re.compile(
    r"^(meta|deepseek|mistral|qwen|openai|moonshot|moonshotai|minimax|zai|google|nvidia|"
    r"amazon|anthropic|cohere|ai21|writer|twelvelabs|stability|luma)\."
)
_TAG = re.compile(r":([a-z][a-z0-9.-]*|\d+[a-z][a-z0-9.-]*)$")  # :free, :120b-cloud; not :0
_API_VERSION = re.compile(r"(-v\d+:\d+|-\d+:\d+|:\d+|-v\d+)$")
_FAMILY = re.compile(
    r"(^|[-./_ ])(deepseek|qwen\d*(\.\d+)?|qwq|qvq|kimi|moonshot|glm|minimax|llama\d*(\.\d+)?|gpt-oss|mistral|mixtral|"
    r"magistral|devstral|ministral|codestral|pixtral|gemma\d*|phi-?\d|nemotron|ernie|baichuan|hunyuan|"
    r"seed-oss|longcat|step-?\d|ling-|internlm|yi-\d)"
)
_CLOSED = re.compile(
    r"qwen\d*(\.\d+)?-(max|plus|turbo|flash|long|coder-plus|coder-flash|vl-max|vl-plus|mt-[a-z]+|omni-turbo|omni-flash)([-.].*)?"
    r"|qwen-coder|qwq-plus|qvq-max.*|qwen3-max.*|moonshot-v1.*|kimi-latest.*|kimi-thinking-preview"
    r"|mistral-(medium|saba)([-.].*)?|mistral-tiny|mistral-small-2402|mistral-large(-2402|-2407|-2411|-latest)?"
    r"|mistral-large2|mistral-large-instruct-2407|magistral-medium.*|codestral.*|pixtral-large(-2411|-2502|-latest)?"
    r"|ministral-(3b|8b)(-2410|-latest)?"
    r"|glm-4-(plus|air|airx|flash|flashx|long|assistant)([-.].*)?|ernie-(x1|4\.0|5)([-.].*)?"
    r"|minimax-01|minimax-text-01|abab.*|llama-3\.1-sonar.*"
)
_DERIVATIVE = re.compile(
    r"(dolphin|hermes|cogito|reflection|phind|openhermes|llava|snorkel|tiefighter|uncensored|sea-lion|qwerky|"
    r"abliterated|mistrallite|minicpm|dobby|openthinker|lumimaid|euryale|lunaris|hanami|wayfarer|typhoon|"
    r"shisa|swallow|eva-|inferor|celeste|aion-|chimera|arliai|openorca|solidity|deephermes|sonar|r1t|"
    r"deepseek-llama|nous-|orca|vicuna|wizard|magnum)"
)
_OUT_OF_SCOPE = re.compile(
    r"(guard|safeguard|content-safety|embed|rerank|ocr|tts|whisper|voxtral|prover|-lora|-base($|-))"
)


@dataclass(frozen=True)
class Cleaned:
    core: str  # the name the patterns see
    quantization: str  # from a quantization marker, else unknown
    offering: tuple[str, ...]  # offering-tier markers (demote a key among same-model siblings)
    region: bool


def clean_name(raw: str) -> Cleaned:
    """See the module docstring, steps 1-5."""
    s = unquote(str(raw)).strip().lower().lstrip("~")
    segments = s.rstrip("/").split("/")
    s = segments[-1]
    offering: list[str] = []
    # a cloud region as a path segment (bedrock/us-west-2/...) is a region-bound offering
    region = any(_REGION_PATH.fullmatch(seg) for seg in segments[:-1])
    if _REGION.match(s):
        region = True
        s = _REGION.sub("", s, count=1)
    vendor = None
    m = _VENDOR.match(s)
    if m:
        vendor = m.group(1)
        s = s[m.end() :]
    s = re.sub(r"-v0:(\d)$", r"-v0.\1", s)  # Bedrock's Mistral v0:2 = v0.2
    while True:
        t = _TAG.search(s)
        if not t:
            break
        tag = t.group(1)
        offering.append(tag if tag in OFFERING_MARKERS else "tag")
        s = s[: t.start()]
    if re.search(r"(-v\d+:\d+|-\d+:\d+|:\d+)$", s) or (vendor and re.search(r"-v\d+$", s)):
        s = _API_VERSION.sub("", s)
    s = re.sub(r"@(\d{3})$", "", s).replace("@", "-")  # vertex: mistral-small-2503@001, mistral-nemo@2407
    s = re.sub(r"(?<=\d)p(?=\d)", ".", s)  # fireworks: v3p1 -> v3.1
    s = re.sub(r"(?<=\d)_(?=\d)", ".", s)  # 3_1 -> 3.1
    s = s.replace("_", "-").replace(" ", "-")
    s = re.sub(r"^(databricks-|system\.ai\.|zai-(?=glm)|alibaba-(?=qwen)|gemini-(?=gemma))", "", s)
    s = re.sub(r"^meta-llama-", "llama-", s)
    host = re.match(r"^(fw|spot)-", s)  # azure_ai fw-...: Fireworks-hosted on Azure; fireworks spot-...
    if host:
        offering.append(host.group(1))
        s = s[host.end() :]
    s = re.sub(r"^qwen-?v?(?=\d)", "qwen", s)  # qwen-2.5-72b, qwen-v2.5 -> qwen2.5
    if vendor and not _FAMILY.search(s):
        s = f"{vendor}-{s}"
    quant = "unknown"
    while True:
        tok = re.search(r"-([a-z0-9]+)$", s)
        if not tok:
            break
        t = tok.group(1)
        if t in QUANT_MARKERS:
            quant = QUANT_MARKERS[t] if quant == "unknown" else quant
        elif t in OFFERING_MARKERS - {"x", "thinking"}:
            offering.append(t)
        elif t in NEUTRAL_SUFFIXES:
            pass
        else:
            break
        s = s[: tok.start()]
    if s in TIER_NAMES:
        s, marker = TIER_NAMES[s]
        offering.append(marker)
    return Cleaned(s, quant, tuple(offering), region)


# --------------------------------------------------------------------------- resolving


@dataclass(frozen=True)
class Resolution:
    model: str | None  # canonical id, or None
    status: str  # ok | non_target | closed | derivative | out_of_scope | unmapped
    core: str  # the cleaned name
    quantization: str = "unknown"
    offering: tuple[str, ...] = ()
    region: bool = False
    secondary: bool = False  # a moving alias kept only when its sibling is absent
    notes: tuple[str, ...] = field(default=())

    @property
    def rank(self) -> tuple[int, int, int, int, int]:
        """Lower is preferred among keys of one provider that map to one model in one
        snapshot: not a free tier, fewer offering markers (the standard tier), not
        region-bound, not a secondary alias, a name that says instruct/chat/it over a bare
        size (Replicate's `meta/llama-3-70b` is the base model beside `-instruct`)."""
        explicit = bool(re.search(r"instruct|chat|-it$|versatile|instant|thinking", self.core))
        return ("free" in self.offering, len(self.offering), int(self.region), int(self.secondary), int(not explicit))

    @property
    def reason(self) -> str:
        if self.status == "ok":
            return ""
        text = {
            "non_target": "non_target: not a model family the project studies",
            "closed": "closed: a target family's developer, but not open weights",
            "derivative": "derivative: a third-party fine-tune or merge",
            "out_of_scope": "out_of_scope: open weights but not a chat model studied (guard, embedding, base, ...)",
            "unmapped": f"unmapped: target family, spelling {self.core!r} is not in the alias map",
        }[self.status]
        return text


def _dated(table: tuple[tuple[dt.date, str], ...], on: dt.date | None) -> str | None:
    if on is None:
        return None
    chosen = None
    for start, model in table:
        if on >= start:
            chosen = model
    return chosen


def resolve(name: str, route: str | None = None, on: dt.date | None = None) -> Resolution:
    """Canonical model of `name` as spelled on `route` (a provider route slug or provider
    id), on date `on` (needed only for moving aliases; without it they stay unmapped)."""
    prov = provider_id(route) if route else None
    c = clean_name(name)
    raw_last = unquote(str(name)).strip().lower().rsplit("/", 1)[-1]
    base = dict(core=c.core, quantization=c.quantization, offering=c.offering, region=c.region)
    if prov and (prov, raw_last) in RAW_OVERRIDES:
        return Resolution(RAW_OVERRIDES[(prov, raw_last)], "ok", **base)
    if prov == "deepseek" and c.core in DEEPSEEK_API_ALIASES:
        model = _dated(DEEPSEEK_API_ALIASES[c.core], on)
        if model is None:
            return Resolution(None, "unmapped", **base, notes=(f"moving alias {c.core!r} needs a date",))
        return Resolution(model, "ok", **base, secondary=c.core in _SECONDARY_ALIASES)
    if _OUT_OF_SCOPE.search(c.core):
        status = "out_of_scope" if _FAMILY.search(c.core) else "non_target"
        return Resolution(None, status, **base)
    for pat, model in _COMPILED:
        if pat.fullmatch(c.core):
            return Resolution(model, "ok", **base)
    if not _FAMILY.search(c.core):
        return Resolution(None, "non_target", **base)
    if _DERIVATIVE.search(c.core):
        return Resolution(None, "derivative", **base)
    if _CLOSED.fullmatch(c.core):
        return Resolution(None, "closed", **base)
    return Resolution(None, "unmapped", **base)
