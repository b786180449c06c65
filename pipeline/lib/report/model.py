"""What a report is made of: sections of paragraphs, tables, figures and notes of what is
missing. Every string in here is plain text; the template escapes it.

Strings from the data are labelled where a section writes them (labels.label: no control or
bidi characters, at most 60 characters); as a last line of defence a table cell is labelled at
TABLE_LIMIT characters and a paragraph loses its control and bidi characters, so a NUL or a
3 MB value that slipped through can neither break the HTML nor stall the PDF layout."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.lib.labels import clean, label

# A table cell longer than this is cut (the report's own cells stay well below: an example
# quarantine reason is clipped at 90).
TABLE_LIMIT = 120


def _plain(text: str) -> str:
    """text without control or bidi characters, not cut."""
    return text if not isinstance(text, str) else clean(text)[0]


@dataclass
class Paragraph:
    text: str
    style: str = ""  # "callout": set apart (provenance)
    lead: str = ""  # a run-in heading, set in bold
    kind: str = "paragraph"

    def __post_init__(self) -> None:
        self.text, self.lead = _plain(self.text), _plain(self.lead)


@dataclass
class Bullets:
    items: list[Paragraph]
    kind: str = "bullets"


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[str]]
    # one letter per column: "l" text, "w" text that may wrap (long values), "r" numbers, "n" numbers
    # that may wrap (a value with its interval, in a wide table)
    align: str = ""
    note: str | None = None
    total_row: bool = False  # the last row sums the others (set in bold)
    number: int = 0
    kind: str = "table"

    def __post_init__(self) -> None:
        self.columns = [label(c, TABLE_LIMIT) if isinstance(c, str) else c for c in self.columns]
        self.rows = [[label(c, TABLE_LIMIT) if isinstance(c, str) else c for c in row] for row in self.rows]
        if not self.align:
            self.align = "l" + "r" * (len(self.columns) - 1)
        if len(self.align) != len(self.columns):
            raise ValueError(f"table {self.caption!r}: {len(self.columns)} columns, alignment {self.align!r}")


@dataclass
class Figure:
    key: str  # file stem of the PNG
    caption: str
    chart: Any  # an Altair chart; rendered later
    svg: str = ""
    png: Path | None = None
    number: int = 0
    kind: str = "figure"


@dataclass
class Missing:
    """A visible note in place of what the warehouse cannot support."""

    tables: list[str]
    what: str
    kind: str = "missing"


@dataclass
class Section:
    key: str
    title: str
    blocks: list = field(default_factory=list)
    number: int = 0
    page_break: bool = False  # starts a new page in print (a page per model)

    def add(self, *blocks) -> Section:
        self.blocks.extend(b for b in blocks if b is not None)
        return self

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]


@dataclass
class Headline:
    label: str
    value: float | None  # the number the change is computed from
    text: str  # the formatted value
    interval: str | None = None
    change: str | None = None
    previous: str | None = None  # the formatted previous-quarter value
    section: str = ""
    detail: str | None = None
