"""Task token regimes: the thresholds of the regime rule. The rule itself is applied in one place,
sql/marts/task_regimes.sql, with these values bound as parameters (rule_params); marts.run_parameters
publishes them. In this order (README, Demand methods):
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


def rule_params() -> dict[str, float]:
    return {
        "long_context_p50": LONG_CONTEXT_INPUT_P50,
        "generation_share": GENERATION_SHARE,
        "prompt_share": PROMPT_SHARE,
    }
