"""Strings from the data, made safe to draw: chart labels, table cells, Dagster metadata.

The marts keep every value as it came; only what is drawn is changed here:

- control characters (NUL, ESC, DEL, the C1 range) become U+FFFD, and the line and tab
  controls (plus U+2028/U+2029) a space; so do lone surrogates and noncharacters, which XML
  (the SVG vl-convert writes) cannot hold;
- bidirectional controls (the LRE/RLE/PDF/LRO/RLO embeddings and overrides, the LRI/RLI/FSI/PDI
  isolates, LRM/RLM/ALM marks) are removed, so a label cannot reorder the text around it
  ("\u202egnp.exe" drawn as "exe.png");
- a label changed in any of these ways ends in " #" and six hex digits of a hash of the
  original, so two values that differ only in what was cut or replaced stay two categories
  in a chart (and `label_map` checks that every drawn label names one value);
- a label longer than `limit` characters (60: an axis or legend label), that suffix included,
  is cut with an ellipsis before the suffix.

Only the characters needed are looked at: a 3 MB value costs a 60-character prefix plus a
hash, never a pass of Python over the whole string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

LIMIT = 60
ELLIPSIS = "\u2026"
REPLACEMENT = "\ufffd"
HASH_CHARS = 6

_SPACE = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def _char(c: str) -> str:
    """What one character becomes: itself, a space, U+FFFD or nothing."""
    if c in _BIDI:
        return ""
    if c in _SPACE:
        return " "
    o = ord(c)
    if o < 0x20 or 0x7F <= o <= 0x9F:  # the C0 and C1 controls and DEL
        return REPLACEMENT
    if 0xD800 <= o <= 0xDFFF or 0xFDD0 <= o <= 0xFDEF or (o & 0xFFFE) == 0xFFFE:  # surrogates, noncharacters
        return REPLACEMENT
    return c


def _safe(c: str) -> bool:
    o = ord(c)
    # printable ASCII and the common scripts skip the checks above
    return 0x20 <= o < 0x7F or (0xA0 <= o < 0x2000 and o != 0x061C) or 0x3000 <= o < 0xD800


def _digest(text: str, chars: int = HASH_CHARS) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()[:chars]


def clean(text: str, limit: int | None = None) -> tuple[str, bool, bool]:
    """(the cleaned text, whether a character was replaced or removed, whether it was cut at
    `limit` characters). Stops reading once `limit` + 1 characters are kept."""
    out: list[str] = []
    changed = False
    kept = 0
    for c in text:
        if limit is not None and kept > limit:
            break
        r = c if _safe(c) else _char(c)
        if r != c:
            changed = True
        if r:
            out.append(r)
            kept += 1
    cleaned = "".join(out)
    if limit is not None and len(cleaned) > limit:
        return cleaned, changed, True
    return cleaned, changed, False


def label(text: object, limit: int = LIMIT) -> str | None:
    """`text` made safe to draw: see the module's docstring. None stays None; a non-string is
    converted with str() first. At most `limit` characters."""
    if text is None:
        return None
    text = text if isinstance(text, str) else str(text)
    body, changed, cut = clean(text, limit)
    if not (changed or cut):
        return body
    suffix = f" #{_digest(text)}"
    if len(body) + len(suffix) > limit:
        body = body[: max(limit - len(suffix) - 1, 1)].rstrip() + ELLIPSIS
    return body + suffix


def label_map(values: Iterable[object], limit: int = LIMIT) -> dict[object, str | None]:
    """Every distinct value -> its label, with a longer hash wherever two values would still
    be drawn the same (only possible when a value already reads like another's label)."""
    out: dict[object, str | None] = {}
    for v in values:
        if v not in out:
            out[v] = label(v, limit)
    seen: dict[str, object] = {}
    for v, lab in out.items():
        if lab is None:
            continue
        if lab in seen and seen[lab] != v:
            out[v] = f"{lab} #{_digest(str(v), 16)}"
        else:
            seen[lab] = v
    return out


def label_columns(df, *columns: str, limit: int = LIMIT):
    """A polars frame with the given string columns replaced by their labels."""
    import polars as pl

    exprs = []
    for col in columns:
        if col not in df.columns:
            continue
        mapping = label_map(df[col].unique().to_list(), limit)
        if all(k == v for k, v in mapping.items()):
            continue
        keys = [k for k in mapping if k is not None]
        exprs.append(pl.col(col).replace_strict(keys, [mapping[k] for k in keys], default=None, return_dtype=pl.String))
    return df.with_columns(exprs) if exprs else df


def text(value: object, limit: int = LIMIT) -> str:
    """A label for a Dagster metadata key or value, or a sentence of the report: never None."""
    out = label(value, limit)
    return "" if out is None else out


__all__ = ["ELLIPSIS", "LIMIT", "clean", "label", "label_columns", "label_map", "text"]
