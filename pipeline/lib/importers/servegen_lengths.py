"""ServeGen's token-length distributions (chunk-<i>-dataset.json: PMFs of input_tokens,
output_tokens and reason_ratio per 6-hour window) for the servegen importer: a client's own,
and the pool's request-weighted mixture for clients without one (see servegen's docstring).
Also the facts of the trace format both need (a trace line is one 10-minute window).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.lib.importers import trace_common as tc

WINDOW_S = 600  # seconds of a trace line's window
N_FIELDS = 6  # fields of a trace line: timestamp, rate, cv, pattern, shape, scale
LENGTH_FIELDS = ("input_tokens", "output_tokens", "reason_ratio")

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PMF_PAIR = re.compile(rf"({_NUM})\s*:\s*({_NUM})")
_PMF_LITERAL = re.compile(rf"\s*\{{\s*(?:{_NUM}\s*:\s*{_NUM}\s*(?:,\s*{_NUM}\s*:\s*{_NUM}\s*)*,?\s*)?\}}\s*")


@dataclass
class Lengths:
    """Length PMFs by dataset window: starts[j] -> {field: (values, probabilities)}."""

    starts: np.ndarray
    pmfs: list[dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=list)

    def index(self, t: np.ndarray) -> np.ndarray:
        """The dataset window of trace-window starts t: latest start <= t, else the first."""
        return np.clip(np.searchsorted(self.starts, t, side="right") - 1, 0, None)


def dataset_path(trace: Path) -> Path:
    return trace.with_name(trace.name.replace("-trace.csv", "-dataset.json"))


def _pmf(text, what: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A PMF literal `{value: probability}` as (values, normalised probabilities); None
    for `{}` (ServeGen writes empty PMFs for 6-h windows in which the client sent nothing).
    A plain `{number: number, ...}` literal is parsed with a regex (the 14k-entry PMFs of the
    public files take 0.1 s instead of 0.6 s); anything else goes to ast.literal_eval, never eval."""
    if isinstance(text, str) and _PMF_LITERAL.fullmatch(text):
        arr = np.array(_PMF_PAIR.findall(text), dtype=float).reshape(-1, 2)
        if len(arr) == 0:
            return None
        if len(np.unique(arr[:, 0])) == len(arr):  # repeated keys: let Python's rules decide
            return _normalised(arr[:, 0], arr[:, 1], what)
    obj = ast.literal_eval(text) if isinstance(text, str) else text
    if not isinstance(obj, dict):
        raise ValueError(f"{what}: not a {{value: probability}} dict")
    if not obj:
        return None
    return _normalised(np.array(list(obj.keys()), dtype=float), np.array(list(obj.values()), dtype=float), what)


def _normalised(values: np.ndarray, probs: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    if not (np.isfinite(values).all() and np.isfinite(probs).all() and (probs >= 0).all() and probs.sum() > 0):
        raise ValueError(f"{what}: values and probabilities must be finite, probabilities >= 0 with a positive sum")
    return values, probs / probs.sum()


def load_lengths(path: Path) -> Lengths:
    """Parse a chunk-<i>-dataset.json, keeping the windows with input and output PMFs (empty
    ones mark windows without requests); tc.FileIssue when it cannot be used."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            raise ValueError("expected a JSON object {window_start_seconds: {field: pmf}}")
        starts, pmfs = [], []
        for s in sorted(doc, key=float):
            win = doc[s]
            if not isinstance(win, dict):
                raise ValueError(f"window {s}: not an object")
            pmf = {f: _pmf(win[f], f"window {s} {f}") for f in LENGTH_FIELDS if f in win}
            pmf = {f: v for f, v in pmf.items() if v is not None}
            if "input_tokens" in pmf and "output_tokens" in pmf:
                starts.append(float(s))
                pmfs.append(pmf)
        if not starts:
            raise ValueError("no window with both input_tokens and output_tokens PMFs")
        return Lengths(np.array(starts), pmfs)
    except (OSError, ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise tc.FileIssue(
            f"malformed_json: {path.name} unusable, its client falls back to pool lengths ({exc})"
        ) from exc


def _window_rates(trace: Path) -> pl.DataFrame:
    """(t, rate) of the well-formed windows of a trace file (for the pool mixture weights)."""
    f = pl.col("raw").str.split(",")
    return tc.collect(
        tc.scan_lines(trace)
        .select(
            tc.num(tc.field(f, 0)).alias("t"),
            tc.num(tc.field(f, 1)).alias("rate"),
            (f.list.len() == N_FIELDS).alias("ok"),
        )
        .filter("ok", pl.col("t").is_finite(), pl.col("rate").is_finite(), pl.col("rate") >= 0)
    )


def pool_lengths(client_lengths: dict[Path, Lengths]) -> Lengths | None:
    """The request-weighted mixture of the clients' PMFs, per dataset window (see the module
    docstring); None when no client has lengths."""
    if not client_lengths:
        return None
    starts = np.unique(np.concatenate([lg.starts for lg in client_lengths.values()]))
    bounds = np.append(starts, np.inf)
    weights = {}  # client -> expected requests per union window
    for trace, _lengths in client_lengths.items():
        try:
            w = _window_rates(trace)
            t, r = w["t"].to_numpy(), w["rate"].to_numpy()
        except (OSError, pl.exceptions.PolarsError):
            t, r = np.array([]), np.array([])
        j = np.clip(np.searchsorted(bounds, t, side="right") - 1, 0, len(starts) - 1)
        weights[trace] = np.bincount(j, weights=r * WINDOW_S, minlength=len(starts))
    pmfs = []
    for j, s in enumerate(starts):
        w = np.array([weights[c][j] for c in client_lengths])
        w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1 / len(w))
        mix = {}
        for f in LENGTH_FIELDS:
            parts = [
                (lg.pmfs[lg.index(np.array([s]))[0]].get(f), wc)
                for lg, wc in zip(client_lengths.values(), w, strict=False)
            ]
            parts = [(p, wc) for p, wc in parts if p is not None and wc > 0]
            if not parts:
                continue
            values = np.concatenate([p[0] for p, _ in parts])
            probs = np.concatenate([p[1] * wc for p, wc in parts])
            uniq, inv = np.unique(values, return_inverse=True)
            total = np.bincount(inv, weights=probs)
            mix[f] = (uniq, total / total.sum())
        pmfs.append(mix)
    return Lengths(starts, pmfs)
