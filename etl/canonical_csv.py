"""The canonical CSV files: how the generator writes them and how they are read back.

Canonical means exactly one form per value (docs/data.md): UTF-8, the canonical
Chinese headers (the registry files use the English column names), dates
``YYYY-MM-DD``, timestamps ``YYYY-MM-DD HH:MM:SS``, 是/否 for flags, an empty field for
no value. The generator writes its files with :func:`write_canonical_csv` and reads the
registry with :func:`read_canonical_csv`; tests read generated files with it too.

This reader is strict on purpose: a value not in its canonical form raises instead
of being tolerated. Office files go through the tolerant, validating loader
(:mod:`etl.load`) instead.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl.headers import header_aliases, match_header
from etl.normalize import DATE_FORMAT, TIMESTAMP_FORMAT, normalize_header
from etl.validation.typed_table import POLARS_TYPES
from store.contracts import BOOL_FALSE, BOOL_TRUE, REGISTRY_KINDS, Kind


def cast_columns(frame: pl.DataFrame, kind: Kind) -> pl.DataFrame:
    """Cast text columns (already renamed to column names) to the kind's types."""
    exprs = []
    for c in kind.columns:
        if c.name not in frame.columns:
            exprs.append(pl.lit(None, dtype=POLARS_TYPES[c.dtype]).alias(c.name))
            continue
        text = pl.col(c.name).cast(pl.String).str.strip_chars()
        text = pl.when(text == "").then(None).otherwise(text)
        if c.dtype == "text":
            expr = text
        elif c.dtype == "date":
            expr = text.str.to_date(DATE_FORMAT)
        elif c.dtype == "timestamp":
            expr = text.str.to_datetime(TIMESTAMP_FORMAT, time_unit="us")
        elif c.dtype == "int":
            expr = text.cast(pl.Int64)
        elif c.dtype == "float":
            expr = text.cast(pl.Float64)
        elif c.dtype == "bool":
            expr = (
                pl.when(text == BOOL_TRUE)
                .then(True)
                .when(text == BOOL_FALSE)
                .then(False)
                .otherwise(None)
            )
        else:  # pragma: no cover - contracts only use the types above
            raise ValueError(c.dtype)
        exprs.append(expr.alias(c.name))
    return frame.select(exprs)


def read_canonical_csv(path: Path, kind: Kind | None = None) -> tuple[Kind, pl.DataFrame]:
    """Read a canonical UTF-8 CSV, detect its kind from the header, return typed rows."""
    raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
    if kind is None:
        match = match_header(raw.columns)
        if match is None or match.missing:
            raise ValueError(f"{path.name}: 无法从表头识别文件类型")
        kind = match.kind
    lookup = header_aliases([kind])[kind]
    names = {h: lookup.get(normalize_header(h)) for h in raw.columns}
    raw = raw.rename({h: name for h, name in names.items() if name is not None})
    return kind, cast_columns(raw, kind)


def write_canonical_csv(frame: pl.DataFrame, kind: Kind, path: Path, english: bool = False) -> None:
    """Write a frame (typed columns named as in the contracts) in the canonical format.

    Headers are the Chinese ones, or the column names with ``english``; coordinates of
    the registry kinds are rounded to 6 decimals (about 0.1 m).
    """
    exprs = []
    for c in kind.columns:
        col = pl.col(c.name) if c.name in frame.columns else pl.lit(None, dtype=pl.String)
        if c.dtype == "bool":
            col = pl.when(col).then(pl.lit(BOOL_TRUE)).otherwise(pl.lit(BOOL_FALSE))
        elif c.dtype == "date":
            col = col.dt.strftime(DATE_FORMAT)
        elif c.dtype == "timestamp":
            col = col.dt.strftime(TIMESTAMP_FORMAT)
        elif c.dtype == "float" and kind in REGISTRY_KINDS:
            col = col.round(6)
        exprs.append(col.alias(c.name if english else c.header))
    frame.select(exprs).write_csv(path, null_value="", line_terminator="\n")
