"""Task token regimes: weighted token quantiles per application and the regime rule.

The rule (documented in the README), applied in this order:
  long-context      median input >= LONG_CONTEXT_INPUT_P50 tokens
  generation-heavy  output share (weighted output tokens / all tokens) >= GENERATION_SHARE
  prompt-heavy      output share < PROMPT_SHARE
  balanced          everything else
"""

from __future__ import annotations

LONG_CONTEXT_INPUT_P50 = 16_384
GENERATION_SHARE = 0.5
PROMPT_SHARE = 0.05
QUANTILES = (0.10, 0.50, 0.90, 0.99)


def regime(input_p50: float, output_share: float) -> str:
    """The regime label of one application (the same rule as sql/marts/task_regimes.sql)."""
    if input_p50 >= LONG_CONTEXT_INPUT_P50:
        return "long-context"
    if output_share >= GENERATION_SHARE:
        return "generation-heavy"
    if output_share < PROMPT_SHARE:
        return "prompt-heavy"
    return "balanced"


def rule_params() -> dict[str, float]:
    return {
        "long_context_p50": LONG_CONTEXT_INPUT_P50,
        "generation_share": GENERATION_SHARE,
        "prompt_share": PROMPT_SHARE,
    }
