"""A tiny contract drop written by hand, with the outcome of every row worked out by hand.

EXPECTED maps (dataset, source_file) -> (rows_read, loaded, quarantined, duplicate) and
EXPECTED_REASONS lists (dataset, source_file, row_number, reason code) for every
quarantined row: the code must appear in the row's reason (a row may break several rules). The
numbers come from reading the rows below, not from running the code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REQ_HEADER = "request_id,ts,application,client_id,model,provider,input_tokens,output_tokens,cached_input_tokens,status,error_type,http_status,ttft_ms,latency_ms,stream,tools,json_mode,sample_rate"

FILES = {
    "models/models.csv": """model,family,developer,release_date,successor_of,official_provider
m1,fam,dev,2025-09-01,,p1
m2,fam,dev,2025-10-15,m1,p1
m2,fam,dev,2025-10-15,m1,p1
m3,fam,dev,not-a-date,,p1
""",
    "endpoints/endpoints.csv": """provider,model,valid_from,valid_to,context_length,max_output_tokens,quantization,supports_tools,supports_json_mode,supports_streaming,supports_reasoning,region
p1,m1,2025-09-01T00:00:00Z,,131072,8192,bf16,true,true,true,false,us
p2,m1,2025-09-01T00:00:00Z,,65536,,FP8,false,true,true,false,eu
p1,m2,2025-10-15T00:00:00Z,,131072,8192,fp3,true,true,true,false,us
p1,m2,2025-10-15,,131072,8192,bf16,true,true,true,false
p1,m9,2025-10-15T00:00:00Z,,131072,8192,bf16,true,true,true,false,us
""",
    "fx_rates/fx.csv": """date,currency,usd_per_unit
2025-09-30,CNY,0.14
2025-10-02,CNY,0.15
""",
    "prices/p.csv": """snapshot_ts,provider,model,input_per_mtok,output_per_mtok,cached_input_per_mtok,currency
2025-10-01T00:00:00Z,p1,m1,1.0,2.0,,USD
2025-10-01T00:00:00Z,p2,m1,2.0,8.0,0.5,cny
2025-10-01T00:00:00Z,p2,m1,2.0,8.0,0.5,XYZ
2025-09-01T00:00:00Z,p2,m1,2.0,8.0,0.5,CNY
2025-10-02T00:00:00Z,p1,m1,-1,2.0,,USD
2025-10-03T00:00:00Z,p2,m1,3.0,9.0,,CNY
""",
    "requests/date=2025-10-01/a.csv": "\n".join(
        [
            REQ_HEADER,
            "r1,2025-10-01T01:00:00Z,chat,c1,m1,p1,100,10,,ok,,200,100.5,900,true,false,false,0.5",
            "r2,2025-10-01T02:00:00+08:00,,c1,m1,p2,100,10,,ok,,200,100,900,true,false,false,1",
            "r3,2025-10-01T03:00:00Z,chat,c1,m1,p1,-5,10,,ok,,200,100,900,true,false,false,1",
            "r4,garbage,chat,c1,m1,p1,5,10,,ok,,200,100,900,true,false,false,1",
            "r5,2025-10-01T03:00:00Z,chat,c1,m1,p1,5,10,,maybe,,200,100,900,true,false,false,1",
            "r6,2025-10-01T03:00:00Z,chat,c1,m9,p1,5,10,,ok,,200,100,900,true,false,false,1",
            "r7,2025-10-01T03:00:00Z,chat,c1,m1,p1,5,10,,ok,,200,100,900,true,false,false,0",
            "r8,2025-10-01T03:00:00Z,chat,c1,m1,p1,5,10,",
            "r9,2025-10-01T03:00:00Z,chat,c1,m1,p1,5.5,10,,ok,,200,100,900,true,false,false,1",
            "r1,2025-10-01T01:00:00Z,chat,c1,m1,p1,100,10,,ok,,200,100.5,900,true,false,false,0.5",
            "r2,2025-10-01T02:00:00+08:00,,c1,m1,p2,100,11,,ok,,200,100,900,true,false,false,1",
            ",2025-10-01T03:00:00Z,chat,c1,m1,p1,5,10,,ok,,200,100,900,true,false,false,1",
            "r10,2025-10-01T04:00:00Z,chat,c1,m1,p9,5,10,,ok,,200,100,900,true,false,false,1.5",
            "r11,2025-10-01T04:00:00Z,rag,c2,m1,p1,50,5,20,error,rate_limit,429,,,false,false,false,0.25",
        ]
    )
    + "\n",
    "compat_probes/c.jsonl": (
        '{"ts":"2025-10-01T00:00:00Z","provider":"p1","model":"m1","suite":"tool_calls","case_id":"c1","finish_reason":"tool_calls","tool_calls":1,"schema_valid":true,"status":"ok","error_type":null}\n'
        '{"ts": "2025-10-\n'
        "\n"
        '{"ts":"2025-10-01T00:00:00Z","provider":"p1","model":"m1","suite":"tool_calls","case_id":"c2","finish_reason":"stop","tool_calls":-1,"schema_valid":null,"status":"ok"}\n'
        "[1, 2]\n"
    ),
    "latency_probes/notes.txt": "not a data file\n",
    "latency_probes/broken.parquet": "PAR1 this is not parquet",
}

# Parquet requests in a later day folder: r1 again identical (duplicate of a.csv row 1),
# r12 new, r2 again with the a.csv row-2 values (duplicate), r13 with a hive-only column.
PARQUET_REQUESTS = {
    "request_id": ["r1", "r12", "r2"],
    "ts": ["2025-10-01T01:00:00Z", "2025-10-02T05:00:00Z", "2025-09-30T18:00:00Z"],
    "application": ["chat", "agent", None],
    "client_id": ["c1", "c3", "c1"],
    "model": ["m1", "m1", "m1"],
    "provider": ["p1", "p2", "p2"],
    "input_tokens": [100, 7000, 100],
    "output_tokens": [10, 300, 10],
    "cached_input_tokens": [None, 2000, None],
    "status": ["ok", "ok", "ok"],
    "error_type": [None, None, None],
    "http_status": [200, 200, 200],
    "ttft_ms": [100.5, 350.0, 100.0],
    "latency_ms": [900.0, 6350.0, 900.0],
    "stream": [True, True, True],
    "tools": [False, True, False],
    "json_mode": [False, False, False],
    "sample_rate": [0.5, 1.0, 1.0],
}

# (dataset, source_file) -> (rows_read, rows_loaded, rows_quarantined, rows_duplicate)
EXPECTED = {
    # m2 twice identical -> 1 duplicate; m3 bad date
    ("models", "models/models.csv"): (4, 2, 1, 1),
    # row 3 quantization fp3; row 4 has 11 fields (malformed); row 5 unknown model m9
    ("endpoints", "endpoints/endpoints.csv"): (5, 2, 3, 0),
    ("fx_rates", "fx_rates/fx.csv"): (2, 2, 0, 0),
    # row 3 XYZ has no rate (checked before keys, so not a conflict); row 4 CNY before any
    # rate; row 5 negative; row 6 CNY converts at the 2025-10-02 rate
    ("prices", "prices/p.csv"): (6, 3, 3, 0),
    # r1,r2,r11 load; r3 r4 r5 r6 r7 r8 r9 (conflict r2) (missing id) r10 quarantined; r1 dup
    ("requests", "requests/date=2025-10-01/a.csv"): (14, 3, 10, 1),
    ("requests", "requests/date=2025-10-02/b.parquet"): (3, 1, 0, 2),
    # line 2 malformed, line 3 blank (not a row), line 4 negative tool_calls, line 5 array
    ("compat_probes", "compat_probes/c.jsonl"): (4, 1, 3, 0),
    ("latency_probes", "latency_probes/broken.parquet"): (0, 0, 0, 0),
    ("latency_probes", "latency_probes/notes.txt"): (0, 0, 0, 0),
}

EXPECTED_REASONS = sorted(
    [
        ("models", "models/models.csv", 4, "bad_type"),
        ("endpoints", "endpoints/endpoints.csv", 3, "not_allowed"),
        ("endpoints", "endpoints/endpoints.csv", 4, "malformed_row"),
        ("endpoints", "endpoints/endpoints.csv", 5, "unknown_model"),
        ("prices", "prices/p.csv", 3, "no_fx_rate"),
        ("prices", "prices/p.csv", 4, "no_fx_rate"),
        ("prices", "prices/p.csv", 5, "out_of_range"),
        ("requests", "requests/date=2025-10-01/a.csv", 3, "out_of_range"),
        ("requests", "requests/date=2025-10-01/a.csv", 4, "bad_type"),
        ("requests", "requests/date=2025-10-01/a.csv", 5, "not_allowed"),
        ("requests", "requests/date=2025-10-01/a.csv", 6, "unknown_model"),
        ("requests", "requests/date=2025-10-01/a.csv", 7, "out_of_range"),
        ("requests", "requests/date=2025-10-01/a.csv", 8, "malformed_row"),
        ("requests", "requests/date=2025-10-01/a.csv", 9, "bad_type"),
        ("requests", "requests/date=2025-10-01/a.csv", 11, "conflict"),
        ("requests", "requests/date=2025-10-01/a.csv", 12, "missing"),
        ("requests", "requests/date=2025-10-01/a.csv", 13, "unknown_provider"),
        ("compat_probes", "compat_probes/c.jsonl", 2, "malformed_json"),
        ("compat_probes", "compat_probes/c.jsonl", 4, "out_of_range"),
        ("compat_probes", "compat_probes/c.jsonl", 5, "malformed_json"),
    ]
)


def write_tiny_drop(root: Path) -> Path:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    data = dict(PARQUET_REQUESTS)
    data["ts"] = pa.array(
        [dt.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC) for t in data["ts"]],
        pa.timestamp("us", tz="UTC"),
    )
    table = pa.table(data)
    out = root / "requests" / "date=2025-10-02" / "b.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    return root
