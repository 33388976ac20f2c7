"""Typing: an upload's raw text tables become typed tables (:class:`Part`).

Every column is converted to its contract type (:mod:`store.contracts`) by the
normalisers of :mod:`etl.normalize`: the canonical fast path on the whole column first,
the tolerant fallbacks only where it failed. A cell that stays null while its text
was not empty is what the type rules (:mod:`etl.validation.rules`) report.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from etl.normalize import (
    fast_parse,
    finish_parse,
    normalize_codes,
    normalize_enum,
    parse_bools,
    parse_periods,
)
from etl.raw_table import ROW, RawTable, clean_columns, non_empty_rows
from store import contracts as ct
from store.contracts import ENUMS, Kind

PART = "_part"  # index of the table within the upload


@dataclass
class Part:
    """One table of an upload: the raw text and its typed conversion."""

    index: int
    raw: RawTable
    typed: pl.DataFrame
    # The text of the present columns (+ ROW) that reports quote: cleaned, except the
    # columns read completely by the fast path, which are as read (they held no blanks;
    # reports strip the values they quote).
    text: pl.DataFrame
    # Columns the canonical fast path read completely (every value parsed or allowed):
    # their type and enumeration rules cannot fire and are skipped.
    clean: frozenset[str] = frozenset()

    @property
    def kind(self) -> Kind:
        assert self.raw.kind is not None
        return self.raw.kind

    @property
    def label(self) -> str:
        return self.raw.label


PARSED = ("date", "timestamp", "int", "float")


def _is_period(kind: Kind, column: ct.Column) -> bool:
    # A half-year (测评期间 of evaluations, 评价期间 of 履职评价): 2026H1 or 2026年上半年.
    return column.name == "period"


def _fast(kind: Kind, column: ct.Column) -> tuple[pl.Expr, pl.Expr | None]:
    """(value, needs-the-slow-path) expressions for one column's canonical fast path."""
    text = pl.col(column.name)
    if column.dtype in PARSED:
        return fast_parse(column.dtype, text), None  # failures are found from the nulls
    allowed = ENUMS.get((kind.name, column.name))
    if column.dtype == "text" and allowed is not None:
        return text, (text.is_not_null() & ~text.is_in(pl.Series(allowed).implode())).any()
    if column.dtype == "text" and column.name.endswith("_id"):
        return text, (text.str.len_bytes() != text.str.len_chars()).any()
    if column.dtype == "text" and not _is_period(kind, column):
        return text, None
    return text, pl.lit(True)  # flags and periods: small tables, always the full parse


def _slow(kind: Kind, column: ct.Column, fast: pl.Series, text: pl.Series) -> pl.Series:
    if _is_period(kind, column):
        return parse_periods(text)
    if column.dtype in PARSED:
        return finish_parse(column.dtype, fast, text)
    if column.dtype == "bool":
        return parse_bools(text)
    allowed = ENUMS.get((kind.name, column.name))
    if allowed is not None:
        return normalize_enum(text, allowed)
    return normalize_codes(text)


POLARS_TYPES = {
    "text": pl.String,
    "date": pl.Date,
    "timestamp": pl.Datetime("us"),
    "int": pl.Int64,
    "float": pl.Float64,
    "bool": pl.Boolean,
}


def type_table(raw: RawTable, index: int) -> Part:
    """Clean and convert a raw table's text columns to the kind's types (absent → null).

    The canonical fast path of every column runs in one ``select`` (in parallel) on the
    text as read. A date/time/number column whose every cell parses that way, or an
    enumeration whose every cell is an allowed value, is done: it held no stray spaces
    (a blank cell would not have parsed) and needs no cleaning. The other columns (ids,
    free text, the rare column with quirks) are stripped, then typed, with the tolerant
    normalisers run only on the columns (and cells) that need them.
    """
    kind = raw.kind
    assert kind is not None
    text = raw.text
    present = [c for c in kind.columns if c.name in text.columns]
    # Only parsed and enumerated columns can prove themselves canonical as read.
    provable = [c for c in present if c.dtype in PARSED or (kind.name, c.name) in ENUMS]
    values, flagged = _fast_pass(kind, provable, text)
    done = {
        c.name
        for c in provable
        if not flagged[c.name]
        and (c.dtype not in PARSED or values[c.name].null_count() == text[c.name].null_count())
    }
    rest = [c for c in present if c.name not in done]
    if rest:
        names = [c.name for c in rest]
        before = sum(text[c].null_count() for c in names)
        text = clean_columns(text, names)
        if sum(text[c].null_count() for c in names) > before:  # blanks: rows may be empty now
            keep = non_empty_rows(text)
            if keep is not None:
                text, values = text.filter(keep), values.filter(keep)
        values_rest, flagged_rest = _fast_pass(kind, rest, text)
        values = values.with_columns(values_rest[c] for c in names)
        flagged.update(flagged_rest)
    columns = []
    clean = set(done)
    for c in kind.columns:
        if c.name not in text.columns:
            column = pl.repeat(None, text.height, dtype=POLARS_TYPES[c.dtype], eager=True)
        elif c.name in done:
            column = values[c.name]
        elif flagged.get(c.name) or (
            c.dtype in PARSED and values[c.name].null_count() != text[c.name].null_count()
        ):
            column = _slow(kind, c, values[c.name], text[c.name])
        else:
            column = values[c.name]
            clean.add(c.name)
        columns.append(column.alias(c.name))
    typed = pl.DataFrame(columns, height=text.height).with_columns(
        text[ROW], pl.lit(index, dtype=pl.Int64).alias(PART)
    )
    # Cleaning is idempotent, so the partly cleaned text can stand in for the text as
    # read: the raw copies of the cleaned columns are freed (a 1M-row file's worth).
    raw.replace_text(text)
    return Part(index, raw, typed, text, frozenset(clean))


def _fast_pass(
    kind: Kind, columns: list[ct.Column], text: pl.DataFrame
) -> tuple[pl.DataFrame, dict[str, bool]]:
    """The fast-path values of ``columns`` (+ ROW) and, per column, whether some cell
    needs the slow path (flags; parsed columns tell it by their nulls instead)."""
    fast = {c.name: _fast(kind, c) for c in columns}
    values = text.select([fast[c.name][0].alias(c.name) for c in columns] + [pl.col(ROW)])
    checks = [need.alias(name) for name, (_, need) in fast.items() if need is not None]
    flagged = text.select(checks).row(0, named=True) if checks else {}
    return values, {c.name: bool(flagged.get(c.name)) for c in columns}
