"""Recognising a header row: which kind of table it names, and where each column is.

Headers are matched after :func:`etl.normalize.normalize_header` (NFKC, no whitespace,
lower case, no required-field markers), so Chinese headers and English aliases match
in any order, with stray spaces, full-width letters or ``活动编号*``.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.normalize import normalize_header
from store.contracts import KINDS, Kind

HEADER_SEARCH_ROWS = 30  # the header is looked for among a file's first rows


def header_aliases(kinds=None) -> dict[Kind, dict[str, str]]:
    """Per kind: normalised header (Chinese or English alias) → column name."""
    out = {}
    for kind in kinds or KINDS.values():
        lookup = {}
        for c in kind.columns:
            lookup[normalize_header(c.header)] = c.name
            lookup[normalize_header(c.name)] = c.name
        out[kind] = lookup
    return out


_ALIASES = header_aliases()  # every kind, computed once


@dataclass
class HeaderMatch:
    """The kind a header row names and where its columns are."""

    kind: Kind
    columns: dict[int, str]  # cell position → column name
    missing: list[str]  # required column names absent
    duplicates: list[int]  # positions naming a column already named


def match_header(cells: list[object]) -> HeaderMatch | None:
    """The kind a header row names (most recognised columns wins), or None.

    A row counts as a header when it names at least two columns of some kind.
    """
    norm = [normalize_header(c) for c in cells]
    best: HeaderMatch | None = None
    best_score = (0, 0)
    for kind, lookup in _ALIASES.items():
        columns: dict[int, str] = {}
        duplicates: list[int] = []
        for pos, h in enumerate(norm):
            name = lookup.get(h)
            if name is None:
                continue
            if name in columns.values():
                duplicates.append(pos)
            else:
                columns[pos] = name
        if len(columns) < 2:
            continue
        missing = [c.name for c in kind.columns if c.required and c.name not in columns.values()]
        # complete matches first, then the most recognised columns
        score = (1 if not missing else 0, len(columns))
        if score > best_score:
            best, best_score = HeaderMatch(kind, columns, missing, duplicates), score
    return best
