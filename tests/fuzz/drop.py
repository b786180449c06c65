"""Planning, writing and checking one hostile drop of one dataset (see model.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lib.checks import accounting_problems, duplicate_keys
from pipeline.lib.contract import DATASETS, STR
from pipeline.lib.ingest import stage_dataset, text_reader
from tests.fuzz import model as M

_BASE: dict[str, Path] = {}


def base_root(work: Path) -> Path:
    """The reference datasets (models, endpoints, fx_rates) staged once per session."""
    if "root" not in _BASE:
        raw, root = work / "base-raw", work / "base-wh"
        for rel, text in M.BASE_FILES.items():
            (raw / rel).parent.mkdir(parents=True, exist_ok=True)
            (raw / rel).write_text(text)
        for name in ("models", "endpoints", "fx_rates"):
            stage_dataset(DATASETS[name], raw, root)
        _BASE["root"] = root
    return _BASE["root"]


@dataclass
class FilePlan:
    rel: str
    fmt: str
    present: list[str]  # contract columns written, in order
    fill: tuple[str, str] | None  # (column, value) a hive folder stands in for
    items: list = field(default_factory=list)  # Row, or (kind, text) for structural lines
    extras: list[str] = field(default_factory=list)
    special: str | None = None  # garbage | truncated | empty | header_only | corrupt


class Planner:
    """Draws a drop: files, their layouts, rows (valid, mutated, copies) and structural noise."""

    def __init__(self, ds: str, rnd):
        self.ds, self.rnd, self.spec = ds, rnd, DATASETS[ds]
        self.n = 0

    def fresh(self, far: bool = False) -> dict:
        self.n += 1
        return M.valid_row(self.ds, self.rnd, self.n, far)

    def layout(self, fmt: str, i: int) -> FilePlan:
        rnd, spec = self.rnd, self.spec
        names = list(spec.column_names)
        fill = None
        folder = ""
        r = rnd.random()
        hive = M.HIVE_FILL[self.ds]
        if hive and r < 0.2:
            fill = (hive[0], rnd.choice(hive[1]))
            folder = f"{fill[0]}={fill[1]}/"
            names.remove(fill[0])
        elif r < 0.35 and self.ds != "fx_rates":
            folder = f"date=2025-10-{rnd.randint(1, 28):02d}/"
        for c in spec.columns:
            if not c.required and c.name in names and rnd.random() < 0.12:
                names.remove(c.name)
        if rnd.random() < 0.04:
            names.remove(rnd.choice([c.name for c in spec.columns if c.required and c.name in names]))
        if rnd.random() < 0.5:
            rnd.shuffle(names)
        ext = {"parquet": "parquet", "csv": "csv", "jsonl": rnd.choice(["jsonl", "jsonl", "ndjson"])}[fmt]
        stem = rnd.choice(["part", "Part", "x", "day", "\u00e9t\u00e9", "a b", "it's", "n-1"])
        plan = FilePlan(f"{self.ds}/{folder}{stem}-{i}.{ext}", fmt, names, fill)
        # an extra never takes the name of a contract column the file lacks: that column would be
        # the contract's (fx_rates' `date` among the extra names was expected missing, read as a bad date)
        absent = {c.name for c in spec.columns} - set(names)
        plan.extras = [e for e in rnd.sample(M.EXTRA_NAMES, rnd.choice([0, 0, 1, 2, 3])) if e not in absent]
        if fmt != "jsonl" and rnd.random() < 0.1 and names:
            plan.extras.append(rnd.choice(names))  # a contract name written twice
        if fmt == "jsonl":
            plan.extras = [e for e in plan.extras if e not in names]
        return plan

    def fill_rows(self, plan: FilePlan) -> None:
        rnd = self.rnd
        n_rows = rnd.choice([0, 1, 2, 3, 5, 8, 12, 12, 30]) if rnd.random() < 0.97 else rnd.randint(100, 400)
        for _ in range(n_rows):
            row = M.Row(self.fresh())
            if rnd.random() < 0.3:
                row.values, code = M.mutate(self.ds, row.values, rnd, plan.present)
                row.codes = {code}
            row.extras = {e: self.extra_value() for e in plan.extras}
            plan.items.append(row)
        # structural noise
        for _ in range(rnd.choice([0, 0, 0, 1, 2, 4])):
            kind = rnd.choice(["blank", "malformed", "bad_bytes", "empty_object"])
            if kind == "bad_bytes":
                row = M.Row(
                    self.fresh(), {"bad_encoding"}, {e: self.extra_value() for e in plan.extras}, bad_bytes=True
                )
                plan.items.insert(rnd.randint(0, len(plan.items)), row)
            elif kind == "empty_object" and plan.fmt == "jsonl":
                plan.items.insert(rnd.randint(0, len(plan.items)), ("empty_object", "{}"))
            elif kind in ("blank", "malformed") and plan.fmt != "parquet":
                plan.items.insert(rnd.randint(0, len(plan.items)), (kind, None))

    def extra_value(self):
        r = self.rnd.random()
        if r < 0.2:
            return None
        if r < 0.4:
            return self.rnd.randint(-(2**63), 2**63 - 1)
        return M.hostile_text(self.rnd, 12)

    def copies(self, plans: list[FilePlan]) -> None:
        """Exact copies (duplicates) and changed copies (conflicts) of valid rows, anywhere."""
        rnd = self.rnd
        valid = [
            (p, r)
            for p in plans
            for r in p.items
            if isinstance(r, M.Row) and not r.codes and not r.bad_bytes and p.special is None
        ]
        targets = [p for p in plans if p.special is None]
        for _ in range(rnd.choice([0, 0, 1, 2, 4])):
            if not valid or not targets:
                return
            _, src = rnd.choice(valid)
            values = dict(src.values)
            if rnd.random() < 0.4:
                values[M.CONFLICT_COL[self.ds]] = self.changed(values[M.CONFLICT_COL[self.ds]])
            dst = rnd.choice(targets)
            dst.items.insert(
                rnd.randint(0, len(dst.items)), M.Row(values, set(), {e: self.extra_value() for e in dst.extras})
            )

    def changed(self, v):
        if isinstance(v, str):
            return v + "!"
        if isinstance(v, float):
            return 7.25 if v != 7.25 else 8.5
        return v + 1 if v < 2**63 - 1 else v - 1


# --------------------------------------------------------------------- writing


def _final(ds: str, plan: FilePlan, row: M.Row, normalised: bool) -> tuple[dict | None, set]:
    """The typed values the engine must see for a row in this file, and the codes it breaks."""
    spec = DATASETS[ds]
    dropped_required = any(
        c.required and c.name not in plan.present and not (plan.fill and plan.fill[0] == c.name) for c in spec.columns
    )
    if row.bad_bytes:
        return None, {"bad_encoding"}
    if row.codes:
        return None, {"missing"} if dropped_required else set(row.codes)
    final = {}
    for c in spec.columns:
        if c.name in plan.present:
            final[c.name] = M.expected_value(c, row.values[c.name], normalised)
        elif plan.fill and plan.fill[0] == c.name:
            final[c.name] = M.expected_value(c, plan.fill[1], False)
        else:
            final[c.name] = None
    return final, M.violations(ds, final)


def _line_ends(rnd, ends: str, lines: list[bytes]) -> list[bytes]:
    """One line end per line. A lone \r is never followed by an empty line: \r then \n
    would be one line end (\r\n), not two."""
    terms = [
        b"\n" if ends == "\n" else b"\r\n" if ends == "\r\n" else rnd.choice([b"\n", b"\r\n", b"\r"]) for _ in lines
    ]
    for i in range(len(lines) - 1):
        if terms[i] == b"\r" and lines[i + 1] == b"":
            terms[i] = b"\n"
    return terms


def _shuffled(rnd, names: list[str], n_contract: int) -> list[int]:
    """A column order (indexes into names) that keeps a contract column before an extra column
    of the same name: the first of two equal names is the contract column."""
    order = list(range(len(names)))
    if rnd.random() < 0.3:
        rnd.shuffle(order)
        for i, name in enumerate(names[:n_contract]):
            twins = [k for k, j in enumerate(order) if names[j] == name]
            if twins and order[twins[0]] != i:
                a, b = twins[0], order.index(i)
                order[a], order[b] = order[b], order[a]
    return order


def write_csv(ds: str, plan: FilePlan, rnd) -> M.FileOut:
    spec = DATASETS[ds]
    cols = {c.name: c for c in spec.columns}
    header = plan.present + plan.extras
    order = _shuffled(rnd, header, len(plan.present))
    header = [header[i] for i in order]
    quoting = rnd.choice([csv.QUOTE_MINIMAL, csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
    ends = rnd.choice(["\n", "\n", "\r\n", "mixed"])

    def line(fields: list) -> str:
        # the terminator is written by hand below; csv quotes fields holding its characters
        buf = io.StringIO()
        csv.writer(buf, quoting=quoting, lineterminator="\r\n").writerow(fields)
        return buf.getvalue()[:-2]

    def cells(row: M.Row) -> list:
        out = []
        for i in order:
            name = (plan.present + plan.extras)[i]
            if i < len(plan.present):
                out.append(M.text_of(rnd, cols[name], row.values[name]))
            else:
                v = row.extras.get(name)
                out.append(None if v is None else str(v))
        return ["" if v is None else v for v in out]

    spoil = [i for i, name in enumerate(header) if header.index(name) != i or name not in plan.present]
    spoil = [i for i in spoil if any(ch.isascii() and ch.isalnum() for ch in header[i])]
    if spoil and rnd.random() < 0.1:
        # a byte that is not UTF-8 in an extra column's name: read as U+FFFD, the columns still map
        i = rnd.choice(spoil)
        j = rnd.choice([k for k, ch in enumerate(header[i]) if ch.isascii() and ch.isalnum()])
        header = header[:i] + [header[i][:j] + "\ue000" + header[i][j + 1 :]] + header[i + 1 :]
    head = line(header).encode().replace("\ue000".encode(), b"\xff")
    lines: list[tuple[bytes, M.Rec | None, M.Row | None]] = []
    n = 0
    for item in plan.items:
        if isinstance(item, M.Row):
            n += 1
            b = line(cells(item)).encode()
            if item.bad_bytes:
                b = M.spoil_bytes(b, rnd)
            lines.append((b, M.Rec(n, "bad_bytes" if item.bad_bytes else "row", item, data=b), item))
        elif item[0] == "blank":
            lines.append((b"", None, None))
        elif item[0] == "malformed":
            n += 1
            k = rnd.choice(["short", "spaces", "long"])
            if k == "spaces" or len(header) < 2:
                text = " " * rnd.randint(1, 4)
            elif k == "short":
                text = ",".join(rnd.choice("abcxyz") * 3 for _ in range(rnd.randint(1, len(header) - 1)))
            else:
                text = ",".join(["v"] * len(header)) + ",extra"
            lines.append((text.encode(), M.Rec(n, "malformed", codes={"malformed_row"}, data=text.encode()), None))
    if plan.special == "truncated":
        n += 1
        row = M.Row(M.valid_row(ds, rnd, 10**6 + rnd.randint(0, 10**6), far=True))
        lines.append((line(cells(row)).encode(), M.Rec(n, "unknown", row), row))
    bom = b"\xef\xbb\xbf" if rnd.random() < 0.05 else b""
    terms = _line_ends(rnd, ends, [head] + [b for b, _, _ in lines])
    data = bom + head
    for (b, _, _), t in zip(lines, terms, strict=False):
        data += t + b
    cut = None
    if plan.special == "truncated" and lines:
        last = lines[-1][0]
        cut = len(data) - len(last) + rnd.randint(1, max(1, len(last) - 1))
        data = data[:cut]
    elif rnd.random() < 0.8 or not lines:
        data += terms[-1]
    normalised = b"\r" in data
    records = []
    for _, rec, row in lines:
        if rec is None:
            continue
        if rec.kind == "row":
            rec.final, rec.codes = _final(ds, plan, row, normalised)
        elif rec.kind == "bad_bytes":
            rec.codes = {"bad_encoding"}
        records.append(rec)
    first = data[len(bom) :].split(b"\n")[0].split(b"\r")[0]
    if plan.special == "header_only":
        data, records = bom + head + rnd.choice([b"", b"\n", b"\r\n"]), []
    # a blank header line with rows after it is unreadable (no header to map them by)
    unreadable = not first.strip() and bool(records)
    return M.FileOut(plan.rel, "csv", data, records, unreadable=unreadable, header=head)


NON_OBJECTS = [
    "[1, 2]",
    '"text"',
    "123",
    "null",
    "true",
    '{"a":',
    "{bad}",
    "garbage",
    '{"a": 1}}',
    "\t",
    "}{",
    "[]",
    '{"a" 1}',
]


def write_jsonl(ds: str, plan: FilePlan, rnd) -> M.FileOut:
    spec = DATASETS[ds]
    cols = {c.name: c for c in spec.columns}

    def obj(row: M.Row) -> str:
        d = {}
        for name in plan.present:
            v = row.values[name]
            if v is None:
                if rnd.random() < 0.5:
                    d[name] = None
                continue
            col = cols[name]
            if isinstance(v, M.Raw) or isinstance(v, str):
                d[name] = M.text_of(rnd, col, v)
            elif isinstance(v, bool) and rnd.random() < 0.7:
                d[name] = v
            elif isinstance(v, int) and not isinstance(v, bool) and rnd.random() < 0.7:
                d[name] = v
            elif isinstance(v, float) and rnd.random() < 0.7:
                d[name] = v
            else:
                d[name] = M.text_of(rnd, col, v)
        for name in plan.extras:
            d[name] = row.extras.get(name)
        return json.dumps(d, ensure_ascii=rnd.random() < 0.3)

    lines: list[tuple[bytes, M.Rec | None, M.Row | None]] = []
    for item in plan.items:
        if isinstance(item, M.Row):
            b = obj(item).encode()
            if item.bad_bytes:
                b = M.spoil_bytes(b, rnd)
            lines.append((b, M.Rec(0, "bad_bytes" if item.bad_bytes else "row", item, data=b), item))
        elif item[0] == "blank":
            lines.append((rnd.choice([b"", b"   "]), None, None))
        elif item[0] == "malformed":
            lines.append((rnd.choice(NON_OBJECTS).encode(), M.Rec(0, "malformed", codes={"malformed_json"}), None))
        elif item[0] == "empty_object":
            lines.append((b"{}", M.Rec(0, "malformed", codes={"missing"}), None))
    if plan.special == "truncated":
        row = M.Row(M.valid_row(ds, rnd, 10**6 + rnd.randint(0, 10**6), far=True))
        lines.append((obj(row).encode(), M.Rec(0, "truncated", row), row))
    ends = rnd.choice(["\n", "\n", "\r\n", "mixed"])
    terms = _line_ends(rnd, ends, [b for b, _, _ in lines])
    data = b"\xef\xbb\xbf" if rnd.random() < 0.05 and lines else b""
    for i, ((b, rec, _row), t) in enumerate(zip(lines, terms, strict=False), 1):
        if rec is not None:
            rec.row_number = i  # the physical line: \n, \r\n and \r each end one
        data += b + (t if i < len(lines) or plan.special != "truncated" else b"")
    if plan.special == "truncated" and lines:
        last = lines[-1][0]
        data = data[: len(data) - len(last) + rnd.randint(1, len(last) - 1)]
    elif lines and rnd.random() < 0.2:
        data = data[: -len(terms[-1])]  # no line end after the last line
    records = []
    for _, rec, row in lines:
        if rec is None:
            continue
        if rec.kind == "row":
            rec.final, rec.codes = _final(ds, plan, row, False)
        elif rec.kind == "bad_bytes":
            rec.codes = {"bad_encoding"}
        elif rec.kind == "truncated":
            rec.kind, rec.codes = "quarantined", set()  # malformed_json or bad_encoding
        records.append(rec)
    return M.FileOut(plan.rel, "jsonl", data, records)


def write_parquet(ds: str, plan: FilePlan, rnd) -> M.FileOut:
    spec = DATASETS[ds]
    cols = {c.name: c for c in spec.columns}
    rows = [r for r in plan.items if isinstance(r, M.Row)]
    strs = [n for n in plan.present if cols[n].type == STR]
    for r in rows:
        if r.bad_bytes:
            if not strs:
                r.bad_bytes, r.codes = False, set()
                continue
            name = rnd.choice(strs)
            text = r.values[name] if isinstance(r.values[name], str) else "x"
            b = M.spoil_bytes((text + "z").encode(), rnd)
            r.values = dict(r.values)
            r.values[name] = b
    names, arrays = [], []
    for name in plan.present:
        names.append(name)
        arrays.append(M.arrow_column(rnd, cols[name], [r.values[name] for r in rows]))
    for name in plan.extras:
        names.append(name)
        vals = [r.extras.get(name) for r in rows]
        if all(v is None or isinstance(v, int) for v in vals) and rnd.random() < 0.5:
            arrays.append(pa.array(vals, pa.int64()))
        else:
            arrays.append(pa.array([None if v is None else str(v) for v in vals], pa.string()))
    order = _shuffled(rnd, names, len(plan.present))
    table = pa.Table.from_arrays([arrays[i] for i in order], names=[names[i] for i in order]) if names else pa.table({})
    buf = io.BytesIO()
    pq.write_table(
        table,
        buf,
        row_group_size=rnd.choice([None, None, 1, 2, 7]),
        compression=rnd.choice(["snappy", "zstd", "none", "gzip"]),
        use_dictionary=rnd.random() < 0.7,
    )
    data = buf.getvalue()
    records = []
    for i, r in enumerate(rows, 1):
        rec = M.Rec(i, "bad_bytes" if r.bad_bytes else "row", r)
        if r.bad_bytes:
            rec.codes = {"bad_encoding"}
        else:
            rec.final, rec.codes = _final(ds, plan, r, False)
        records.append(rec)
    if plan.special == "truncated":
        return M.FileOut(plan.rel, "parquet", data[: rnd.randint(0, len(data) - 1)], [], unreadable=True)
    if plan.special == "corrupt":
        i = rnd.randint(4, max(4, len(data) - 9))
        data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]
        return M.FileOut(plan.rel, "parquet", data, records, unreadable=None, predictable=False)
    return M.FileOut(plan.rel, "parquet", data, records)


def write_garbage(ds: str, plan: FilePlan, rnd) -> M.FileOut:
    if plan.fmt == "parquet":
        data = rnd.choice(
            [b"", b"PAR1", b"PAR1garbagePAR1", bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300)))]
        )
        return M.FileOut(plan.rel, "parquet", data, [], unreadable=True)
    if plan.fmt == "jsonl":
        # lines without '{' cannot be JSON objects: every non-blank line is a quarantined row
        alphabet = [
            b"a",
            b"1",
            b" ",
            b"[",
            b"]",
            b'"',
            b":",
            b",",
            b"\xff",
            b"\xc3\xa9",
            b"\x00",
            b"\t",
            b"\n",
            b"\r\n",
            b"\r",
        ]
        data = b"".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 200)))
        text_lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        if text_lines and text_lines[-1] == b"":
            text_lines.pop()
        recs = [M.Rec(i, "quarantined") for i, ln in enumerate(text_lines, 1) if ln.strip(b" ")]
        return M.FileOut(plan.rel, "jsonl", data, recs)
    alphabet = [b"a", b"1", b",", b'"', b" ", b"\n", b"\r\n", b"\xff", b"\x00", b"\t", b"\xc3\xa9", b"{"]
    data = b"".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 300)))
    # rows unknown; unreadable exactly when the first line (the header) is blank and more follows
    first, _, rest = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").partition(b"\n")
    blank = not first.decode("utf-8", "replace").replace("\x00", "\ufffd").strip()
    return M.FileOut(plan.rel, "csv", data, [], unreadable=blank and bool(rest.strip()), predictable=False)


def plan_drop(ds: str, rnd, formats: list[str], specials: list[str | None]) -> list[M.FileOut]:
    planner = Planner(ds, rnd)
    plans = []
    for i, (fmt, special) in enumerate(zip(formats, specials, strict=False)):
        plan = planner.layout(fmt, i)
        plan.special = special
        if special in (None, "truncated", "corrupt", "header_only"):
            planner.fill_rows(plan)
        plans.append(plan)
    planner.copies(plans)
    out = []
    for plan in plans:
        if plan.special in ("garbage",):
            out.append(write_garbage(ds, plan, rnd))
        elif plan.special == "empty":
            out.append(M.FileOut(plan.rel, plan.fmt, b"", [], unreadable=plan.fmt == "parquet"))
        elif plan.fmt == "csv":
            out.append(write_csv(ds, plan, rnd))
        elif plan.fmt == "jsonl":
            out.append(write_jsonl(ds, plan, rnd))
        else:
            out.append(write_parquet(ds, plan, rnd))
    # two plans may have drawn one path: keep the first
    seen, unique = set(), []
    for f in out:
        if f.rel not in seen:
            seen.add(f.rel)
            unique.append(f)
    return unique


# ------------------------------------------------------------------ expectations


def apply_limit(files: list[M.FileOut], limit: int, margin: int = 64) -> None:
    """With a small MAX_LINE_BYTES: a record (CSV: all its lines together, as DuckDB measures
    it; JSONL: its line) over the limit is quarantined as too_long; a CSV header over it
    makes the file unreadable. Within `margin` bytes of the limit either may happen."""

    def size(b: bytes) -> tuple[int, int]:
        nb = b.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return len(nb), max(len(p) for p in nb.split(b"\n"))

    for f in files:
        if f.unreadable or not f.predictable or f.fmt == "parquet":
            continue
        if f.fmt == "csv" and f.header:
            n, _ = size(f.header)
            if n > limit + margin:
                f.unreadable, f.records = True, []
                continue
            if n > limit - margin:
                f.unreadable, f.predictable = None, False
                continue
        for r in f.records:
            if not r.data:
                continue
            record, longest = size(r.data)
            if max(record, longest) > limit + margin:
                r.codes, r.final = ({"too_long"} if r.kind == "row" else set()), None
                if r.kind != "row":
                    r.kind = "quarantined"
            elif max(record, longest) > limit - margin:
                r.kind, r.final = "unknown", None


def fates(ds: str, files: list[M.FileOut]) -> None:
    """Which valid row loads, which is a duplicate, which a conflict: among valid rows with one
    key, the first by (file path, row number) loads; later identical ones are duplicates, later
    different ones conflicts. Invalid rows are quarantined whatever their key."""
    spec = DATASETS[ds]
    groups: dict[tuple, list[tuple[str, int, M.Rec]]] = {}
    for f in files:
        if f.unreadable or not f.predictable:
            for r in f.records:
                r.kind = "unknown"
            continue
        for r in f.records:
            if r.kind == "row" and not r.codes:
                groups.setdefault(tuple(r.final[k] for k in spec.key), []).append((f.rel, r.row_number, r))
            elif r.kind == "row":
                r.kind = "quarantined"
            elif r.kind in ("bad_bytes", "malformed"):
                r.kind = "quarantined"
    for occ in groups.values():
        occ.sort(key=lambda t: (t[0], t[1]))
        first = occ[0][2]
        first.kind = "loaded"
        for _, _, r in occ[1:]:
            if r.final == first.final:
                r.kind = "duplicate"
            else:
                r.kind, r.codes = "quarantined", {"conflict"}


# --------------------------------------------------------------------- checking


def _rows(con, sql: str, **params):
    return con.execute(sql, params).fetchall()


def run_and_check(ds: str, files: list[M.FileOut], work: Path, limit: int | None = None) -> None:
    spec = DATASETS[ds]
    raw, root = work / "raw", work / "wh"
    for name in M.NEEDS[ds]:
        shutil.copytree(base_root(work.parent) / "staging" / name, root / "staging" / name)
    (raw / ds).mkdir(parents=True)
    for f in files:
        p = raw / f.rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(f.data)
    if limit:
        apply_limit(files, limit)
    fates(ds, files)
    saved = text_reader.MAX_LINE_BYTES
    text_reader.MAX_LINE_BYTES = limit or saved
    try:
        result = stage_dataset(spec, raw, root)
    finally:
        text_reader.MAX_LINE_BYTES = saved

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    try:
        audit = {
            r[0]: r[1:]
            for r in _rows(
                con,
                "select source_file, rows_read, rows_loaded, rows_quarantined, rows_duplicate, file_error, file_format "
                "from read_parquet($p)",
                p=str(root / "ingest" / ds / "audit.parquet"),
            )
        }
        quarantine = {
            (f, n): reason
            for f, n, reason in _rows(
                con,
                "select source_file, row_number, reason from read_parquet($p)",
                p=str(root / "ingest" / ds / "quarantine.parquet"),
            )
        }
        assert set(audit) == {f.rel for f in files}, (sorted(audit), sorted(f.rel for f in files))
        unknown = 0
        expected_loaded: list[M.Rec] = []
        for f in files:
            read, loaded, quarantined, duplicate, error, fmt = audit[f.rel]
            where = f"{f.rel} ({f.fmt})"
            assert fmt == f.fmt, where
            if f.unreadable or (f.unreadable is None and error is not None):
                assert error is not None and (read, loaded, quarantined, duplicate) == (0, 0, 0, 0), (
                    where,
                    audit[f.rel],
                )
                continue
            assert error is None, (where, error)
            assert read == loaded + quarantined + duplicate, (where, audit[f.rel])
            if not f.predictable:
                unknown += read
                continue
            assert read == len(f.records), (where, "rows read", read, "rows written", len(f.records))
            want = {k: sum(r.kind == k for r in f.records) for k in ("loaded", "quarantined", "duplicate", "unknown")}
            u = want["unknown"]
            unknown += u
            assert want["loaded"] <= loaded <= want["loaded"] + u, (where, audit[f.rel], want)
            assert want["quarantined"] <= quarantined <= want["quarantined"] + u, (where, audit[f.rel], want)
            assert want["duplicate"] <= duplicate <= want["duplicate"] + u, (where, audit[f.rel], want)
            for r in f.records:
                reason = quarantine.get((f.rel, r.row_number))
                if r.kind == "quarantined":
                    assert reason is not None, (where, r.row_number, "should be quarantined", r.codes)
                    for code in r.codes:
                        assert f"{code}:" in reason or reason.startswith(code), (where, r.row_number, code, reason)
                elif r.kind in ("loaded", "duplicate"):
                    assert reason is None, (where, r.row_number, r.kind, reason)
                if r.kind == "loaded":
                    expected_loaded.append(r)
        # every valid and unique row is staged with its values
        staged = _staged(con, root, ds)
        by_key = {}
        for row in staged:
            k = tuple(row[c] for c in spec.key)
            assert k not in by_key, ("key staged twice", k)
            by_key[k] = row
        total_loaded = sum(a[1] for a in audit.values())
        assert len(staged) == total_loaded == result.rows_loaded
        assert len(expected_loaded) <= len(staged) <= len(expected_loaded) + unknown
        for r in expected_loaded:
            k = tuple(r.final[c] for c in spec.key)
            assert k in by_key, ("valid row not staged", k)
            got = by_key[k]
            for c in spec.columns:
                want = r.final[c.name]
                if ds == "requests" and c.name == "application" and want is None:
                    want = "unknown"
                assert _same(got[c.name], want), (c.name, got[c.name], want)
            if spec.partition_by:
                part = r.final[spec.partition_by]
                assert got["date"] == (part.date() if isinstance(part, dt.datetime) else part), (
                    "partition",
                    got["date"],
                    part,
                )
        cols = (
            {n for (n,) in _rows(con, "select distinct name from parquet_schema($p)", p=_staged_files(root, ds))}
            if staged
            else set()
        )
        assert not cols & {"filename", "file_row_number", "file_index"}, cols
        assert accounting_problems(root, spec, raw) == []
        assert duplicate_keys(root, spec) == 0
    finally:
        con.close()
    M.STATS["examples"] += 1
    M.bump("files_by_dataset", ds, len(files))
    for f in files:
        M.STATS["files"] += 1
        M.bump("files_by_format", f.fmt)
        M.STATS["rows"] += len(f.records)
        M.STATS["unreadable_by_design"] += bool(f.unreadable)
        M.STATS["unpredictable_files"] += not f.predictable
        for r in f.records:
            M.bump("records_by_kind", r.kind)


def _staged_files(root: Path, ds: str) -> list[str]:
    return sorted(str(p) for p in (root / "staging" / ds).rglob("*.parquet"))


def _staged(con, root: Path, ds: str) -> list[dict]:
    files = _staged_files(root, ds)
    cur = con.execute("select * from read_parquet($p, hive_partitioning = true)", {"p": files})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=False)) for r in cur.fetchall()]


def _same(got, want) -> bool:
    if isinstance(want, float) and isinstance(got, float):
        return got == want and (str(got).startswith("-") == str(want).startswith("-"))
    return got == want and type(got) is type(want)
