"""The small CSV datasets: models, endpoints, prices (daily snapshots), fx_rates."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from pipeline.lib.contract import ENDPOINTS

from . import world as W


def _ts(d: dt.date, hour: int = 0) -> str:
    return f"{d.isoformat()}T{hour:02d}:00:00Z"


def _b(x: bool) -> str:
    return "true" if x else "false"


def _f(x: float | None) -> str:
    return "" if x is None else repr(float(x))


def _write(path: Path, header: list[str], rows: list[list]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return len(rows)


def write_models(out: Path) -> int:
    rows = [[m, v[0], v[1], v[2], v[3] or "", v[4]] for m, v in W.MODELS.items()]
    return _write(
        out / "models" / "models.csv",
        ["model", "family", "developer", "release_date", "successor_of", "official_provider"],
        rows,
    )


def write_endpoints(out: Path, plant: bool, endpoints: list[dict] | None = None) -> tuple[int, dict]:
    """endpoints: the world's endpoint states (default W.ENDPOINTS; generate_drop passes the
    compiled world's, which has the planted quantization states)."""
    rows = []
    for e in W.ENDPOINTS if endpoints is None else endpoints:
        rows.append(
            [
                e["provider"],
                e["model"],
                _ts(e["valid_from"]),
                _ts(e["valid_to"]) if e["valid_to"] else "",
                e["context_length"],
                e["max_output_tokens"] if e["max_output_tokens"] else "",
                e["quantization"],
                _b(e["supports_tools"]),
                _b(e["supports_json_mode"]),
                _b(e["supports_streaming"]),
                _b(e["supports_reasoning"]),
            ]
        )
    planted = {}
    if plant:
        # an endpoint nobody uses, with an impossible quantization
        rows.insert(
            len(rows) // 2,
            [
                "groq",
                "gemma-3-27b-it",
                _ts(dt.date(2025, 9, 1)),
                "",
                131072,
                8192,
                "fp3",
                "false",
                "true",
                "true",
                "false",
            ],
        )
        planted = {"bad_quantization": 1}
    n = _write(
        out / "endpoints" / "endpoints.csv",
        list(ENDPOINTS.column_names),
        rows,
    )
    return n, planted


def price_schedule(endpoints: list[dict] | None = None) -> dict[tuple[str, str], list[tuple[dt.date, tuple]]]:
    """(provider, model) -> [(date, (in, out, cached, currency))] for every quarter day on
    which the pair has an endpoint valid at 00:00 UTC (endpoints: default W.ENDPOINTS)."""
    pairs: dict[tuple[str, str], dict] = {}
    for e in W.ENDPOINTS if endpoints is None else endpoints:
        key = (e["provider"], e["model"])
        p = pairs.setdefault(key, {"price": None, "spans": []})
        if e["price"] is not None:
            p["price"] = e["price"]
        p["spans"].append((e["valid_from"], e["valid_to"]))
    events: dict[tuple[str, str], list] = {}
    for prov, model, d, i, o, ca in W.PRICE_EVENTS:
        assert (prov, model) in pairs, (prov, model)
        events.setdefault((prov, model), []).append((W.date_of(d), i, o, ca))
    out = {}
    for key, p in pairs.items():
        cur = W.PROVIDERS[key[0]]["currency"]
        evs = sorted(events.get(key, []))
        snaps = []
        for d in W.DAYS:
            if not any(vf <= d and (vt is None or d < vt) for vf, vt in p["spans"]):
                continue
            i, o, ca = p["price"]
            for ed, ei, eo, eca in evs:
                if ed <= d:
                    i = ei if ei is not None else i
                    o = eo if eo is not None else o
                    ca = eca if eca is not None else ca
            snaps.append((d, (i, o, ca, cur)))
        out[key] = snaps
    return out


def write_prices(out: Path, plant: bool, endpoints: list[dict] | None = None) -> tuple[int, dict]:
    rows = []
    sched = price_schedule(endpoints)
    for d in W.DAYS:
        for (prov, model), snaps in sched.items():
            for sd, (i, o, ca, cur) in snaps:
                if sd == d:
                    rows.append([_ts(d), prov, model, _f(i), _f(o), _f(ca), cur])
    planted = {}
    if plant:
        # extra snapshots at 12:00 (distinct keys): an unconvertible currency, a negative price
        rows.insert(
            len(rows) // 3, [_ts(dt.date(2025, 10, 20), 12), "together", "gpt-oss-120b", "0.15", "0.6", "", "XYZ"]
        )
        rows.insert(
            2 * len(rows) // 3, [_ts(dt.date(2025, 11, 20), 12), "deepinfra", "phi-4", "-0.07", "0.14", "", "USD"]
        )
        planted = {"unknown_currency": 1, "negative_price": 1}
    n = _write(
        out / "prices" / "prices.csv",
        ["snapshot_ts", "provider", "model", "input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "currency"],
        rows,
    )
    return n, planted


def write_fx(out: Path) -> int:
    import numpy as np

    rates = W.cny_usd_per_unit(np.arange(W.N_DAYS))
    rows = []
    for i, d in enumerate(W.DAYS):
        rows.append([d.isoformat(), "CNY", repr(float(rates[i]))])
        rows.append([d.isoformat(), "USD", "1.0"])
    return _write(out / "fx_rates" / "fx_rates.csv", ["date", "currency", "usd_per_unit"], rows)
