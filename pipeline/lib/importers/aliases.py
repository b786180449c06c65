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

The facts are data, read once from pipeline/data/ (its README.md cites the sources): the
canonical models (models.csv: family, developer, release date, successor, official provider,
native context window; the sample world reads the same file), their name patterns
(model_aliases.csv), route -> provider ids (provider_routes.csv), DeepSeek's dated aliases
(deepseek_api_aliases.csv), tier names (tier_names.csv) and exact overrides
(raw_overrides.csv). This module holds the rules that read names with them. Release dates
are the public Hugging Face / blog release dates. `context_length` is the model's native
window (the developer's model card), used only where a source has none.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from pipeline.lib.reference_data import table

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


def _load_models() -> tuple[CanonicalModel, ...]:
    """pipeline/data/models.csv (one row per model, in file order) with its name patterns from
    pipeline/data/model_aliases.csv (one row per pattern; a model's patterns in file order)."""
    patterns: dict[str, list[str]] = {}
    for r in table("model_aliases.csv"):
        patterns.setdefault(r["model"], []).append(r["pattern"])
    models = tuple(
        CanonicalModel(
            r["model"],
            r["family"],
            r["developer"],
            D(r["release_date"]),
            r["successor_of"] or None,
            r["official_provider"],
            int(r["context_length"]),
            tuple(patterns.pop(r["model"], ())),
        )
        for r in table("models.csv")
    )
    assert not patterns, f"model_aliases.csv names models not in models.csv: {sorted(patterns)}"
    return models


# Patterns are tried in file order (models.csv, then each model's rows of model_aliases.csv);
# the first full match wins.
_MODELS = _load_models()
CANONICAL: dict[str, CanonicalModel] = {m.model: m for m in _MODELS}
assert len(CANONICAL) == len(_MODELS), "duplicate canonical id"

_COMPILED: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), m.model) for m in _MODELS for p in m.patterns)


def _load_dated() -> dict[str, tuple[tuple[dt.date, str], ...]]:
    dated: dict[str, list[tuple[dt.date, str]]] = {}
    for r in table("deepseek_api_aliases.csv"):
        dated.setdefault(r["alias"], []).append((D(r["from_date"]), r["model"]))
    return {alias: tuple(sorted(rows)) for alias, rows in dated.items()}


# DeepSeek's own API: the model behind each moving alias, by date (from, model), ascending;
# pipeline/data/deepseek_api_aliases.csv, from DeepSeek's API change log. The last entry holds
# until a release the file does not know.
DEEPSEEK_API_ALIASES = _load_dated()
# deepseek-reasoner is the thinking mode of the same model as deepseek-chat from V3.1 on:
# when both are listed, deepseek-chat is the one kept (see Resolution.rank).
_SECONDARY_ALIASES = {"deepseek-reasoner"}

# Provider API names for a faster, pricier tier of a model -> (canonical spelling, marker):
# pipeline/data/tier_names.csv (Moonshot's kimi-k2-turbo-preview, Z.ai's GLM-4.5-X ...).
TIER_NAMES: dict[str, tuple[str, str]] = {r["name"]: (r["core"], r["marker"]) for r in table("tier_names.csv")}

# Exact (route, raw last segment) spellings no rule can read: pipeline/data/raw_overrides.csv.
RAW_OVERRIDES: dict[tuple[str, str], str] = {(r["route"], r["name"]): r["model"] for r in table("raw_overrides.csv")}

# --------------------------------------------------------------------------- providers

# Route slug (LiteLLM litellm_provider / key prefix, genai-prices provider id, log provider
# column, lower-cased) -> provider id: pipeline/data/provider_routes.csv. Unlisted slugs keep
# their name with `_` -> `-`.
PROVIDER_OF_ROUTE: dict[str, str] = {r["route"]: r["provider"] for r in table("provider_routes.csv")}


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
