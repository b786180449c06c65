"""Byte-level preparation of text files (CSV, JSONL) before DuckDB reads them.

DuckDB's CSV reader is fast but has blind spots that would cost rows without saying so: a
line longer than its read buffer is dropped silently, a file mixing line ends (\\r\\n and \\n,
or a lone \\r) fails as a whole, and its reject line numbers count blank lines. One streaming
pass per file (numpy over 8 MiB chunks, never a Python loop per line) learns what the reader
needs to know, and where needed writes a prepared copy:

- line ends: a file containing \\r is copied with \\r\\n and a lone \\r turned into \\n, so
  \\n, \\r\\n and \\r all end a line (inside a quoted CSV value the break is kept, as \\n);
- the longest line and the longest record (CSV records may span lines inside quotes), so the
  read buffer always holds a whole record;
- the 1-based numbers of blank records (to number rows as the contract does);
- lines over the length limit: the copy carries a short marker line in their place and the
  engine quarantines them itself, with the line's first bytes as its raw text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHUNK = 8 * 2**20
MARKER = "__sl_too_long_"  # + index + "__": stands in for an over-long line in a prepared copy
_NL, _CR, _QUOTE = 10, 13, 34


@dataclass
class LongLine:
    line: int  # 1-based physical line number in the (normalised) file
    start: int  # byte offsets of the line in the (normalised) file, end exclusive of \n
    end: int
    quotes: int = 0  # number of '"' in the line (a CSV marker keeps its parity)
    record: int = 0  # 1-based number of the record holding it (CSV: lines join inside quotes)

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass
class TextLayout:
    path: Path  # the file to read: the original, or a prepared copy
    size: int
    lines: int = 0  # physical lines (a last line without \n counts)
    max_line: int = 0
    records: int = 0  # CSV: lines joined inside quotes; JSONL: = lines
    max_record: int = 0
    blank_records: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    long_lines: list[LongLine] = field(default_factory=list)
    normalised: bool = False

    @property
    def need(self) -> int:
        """Bytes the read buffer must hold: the longest line or record."""
        return max(self.max_line, self.max_record)


def _has_cr(path: Path) -> bool:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            if b"\r" in chunk:
                return True
    return False


def _normalise(src: Path, dst: Path) -> None:
    """Copy with \\r\\n and lone \\r turned into \\n (streaming; a \\r at a chunk end waits
    for the next chunk to see whether a \\n follows)."""
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        carry = b""
        while chunk := fi.read(CHUNK):
            chunk = carry + chunk
            carry = b""
            if chunk.endswith(b"\r"):
                chunk, carry = chunk[:-1], b"\r"
            fo.write(chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        if carry:
            fo.write(b"\n")


def scan(path: Path, limit: int, quotes: bool, copy_to: Path) -> TextLayout:
    """Layout of a text file; `quotes`: CSV (a \\n inside double quotes does not end a record).
    A file with \\r is first copied to `copy_to` with its line ends made \\n: the layout is
    that copy's, and the copy is what gets read."""
    path = Path(path)
    normalised = False
    if _has_cr(path):
        copy_to.parent.mkdir(parents=True, exist_ok=True)
        _normalise(path, copy_to)
        path, normalised = Path(copy_to), True
    out = TextLayout(path=path, size=path.stat().st_size, normalised=normalised)
    pos = 0
    with open(path, "rb") as fh:
        # DuckDB drops a UTF-8 byte order mark at the start: it is not part of the first line
        line_start = rec_start = 3 if fh.read(3) == b"\xef\xbb\xbf" else 0
    parity = 0
    blanks: list[np.ndarray] = []
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            a = np.frombuffer(chunk, np.uint8)
            nl = np.flatnonzero(a == _NL)
            qs = np.flatnonzero(a == _QUOTE) if quotes else None
            if nl.size:
                ends = nl.astype(np.int64) + pos
                starts = np.concatenate(([line_start], ends[:-1] + 1))
                lens = ends - starts
                out.max_line = max(out.max_line, int(lens.max()))
                long = np.flatnonzero(lens > limit)
                for i in long:
                    out.long_lines.append(LongLine(out.lines + int(i) + 1, int(starts[i]), int(ends[i])))
                out.lines += int(nl.size)
                line_start = int(ends[-1]) + 1
                rec_ends, parity = _record_ends(ends, nl, qs, parity, quotes)
                for k, i in enumerate(long, len(out.long_lines) - len(long)):
                    # the record ending at or after this line's end (records before: those ended earlier)
                    out.long_lines[k].record = out.records + int(np.searchsorted(rec_ends, ends[i])) + 1
                rec_start = _add_records(out, rec_ends, rec_start, blanks)
            elif quotes and qs.size:
                parity = (parity + int(qs.size)) & 1
            pos += len(chunk)
    _finish(out, line_start, rec_start, limit, quotes, blanks)
    return out


def _record_ends(
    ends: np.ndarray, nl: np.ndarray, qs: np.ndarray | None, parity: int, quotes: bool
) -> tuple[np.ndarray, int]:
    """The line ends of a chunk that also end a record (CSV: a \\n inside double quotes does
    not), and the quote parity after the chunk."""
    if quotes and qs.size:
        par = (parity + np.searchsorted(qs, nl)) & 1
        return ends[par == 0], (parity + int(qs.size)) & 1
    if quotes and parity:
        return ends[:0], parity
    return ends, parity


def _add_records(out: TextLayout, rec_ends: np.ndarray, rec_start: int, blanks: list[np.ndarray]) -> int:
    """Count the records ending at `rec_ends` (their lengths, the blank ones); -> where the next
    record starts."""
    if not rec_ends.size:
        return rec_start
    rstarts = np.concatenate(([rec_start], rec_ends[:-1] + 1))
    rlens = rec_ends - rstarts
    out.max_record = max(out.max_record, int(rlens.max()))
    empty = np.flatnonzero(rlens == 0)
    if empty.size:
        blanks.append(empty.astype(np.int64) + out.records + 1)
    out.records += int(rec_ends.size)
    return int(rec_ends[-1]) + 1


def _finish(
    out: TextLayout, line_start: int, rec_start: int, limit: int, quotes: bool, blanks: list[np.ndarray]
) -> None:
    """The last line and record when the file does not end with \\n, and the totals."""
    if line_start < out.size:  # a last line without \n
        n = out.size - line_start
        out.max_line = max(out.max_line, n)
        out.lines += 1
        if n > limit:
            out.long_lines.append(LongLine(out.lines, line_start, out.size, record=out.records + 1))
    if rec_start < out.size:
        out.max_record = max(out.max_record, out.size - rec_start)
        out.records += 1
    if not quotes:
        out.max_record = out.max_line
    if blanks:
        out.blank_records = np.concatenate(blanks)


def _count_quotes(fh, start: int, end: int) -> int:
    fh.seek(start)
    n, left = 0, end - start
    while left > 0:
        chunk = fh.read(min(CHUNK, left))
        if not chunk:
            break
        n += chunk.count(b'"')
        left -= len(chunk)
    return n


def read_prefix(path: Path, start: int, n: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(start)
        return fh.read(n)


def marker(i: int) -> str:
    return f"{MARKER}{i}__"


def write_sanitised(layout: TextLayout, dst: Path, marker_line) -> Path:
    """Copy `layout.path` to `dst` with every long line replaced by `marker_line(i, long)`
    (bytes, without its \\n). Returns dst; updates each LongLine's quote count first."""
    src = layout.path
    with open(src, "rb") as fi:
        for ll in layout.long_lines:
            ll.quotes = _count_quotes(fi, ll.start, ll.end)
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        pos = 0
        for i, ll in enumerate(layout.long_lines):
            _copy_range(fi, fo, pos, ll.start)
            fo.write(marker_line(i, ll))
            pos = ll.end
        _copy_range(fi, fo, pos, layout.size)
    return dst


def _copy_range(fi, fo, start: int, end: int) -> None:
    fi.seek(start)
    left = end - start
    while left > 0:
        chunk = fi.read(min(CHUNK, left))
        if not chunk:
            break
        fo.write(chunk)
        left -= len(chunk)
