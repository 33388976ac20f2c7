"""Compatibility shim: the canonical-file reader, and the old ``load_files`` entry point.

``read_canonical_csv`` reads files exactly in the formats the generator writes (UTF-8
CSV, canonical Chinese headers or English column names, ISO dates); the generator and
tests use it to read what they wrote. Loading goes through the validating loader in
:mod:`etl.load`: ``load_files`` is kept for old callers and delegates to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb
import polars as pl

from etl.load import load_paths
from etl.validate import POLARS_TYPES
from store.contracts import BOOL_FALSE, BOOL_TRUE, KINDS, UPLOAD_KINDS, Kind

DATE_FORMAT = "%Y-%m-%d"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def header_lookup(kind: Kind) -> dict[str, str]:
    """Map every accepted header (Chinese or English alias) to the column name."""
    lookup = {}
    for c in kind.columns:
        lookup[c.header] = c.name
        lookup[c.name] = c.name
    return lookup


def detect_kind(headers: Iterable[str], kinds: Iterable[Kind] = UPLOAD_KINDS) -> Kind | None:
    """The kind whose required columns all appear among ``headers`` (best match wins)."""
    present = {h.strip() for h in headers}
    best, best_score = None, 0
    for kind in kinds:
        lookup = header_lookup(kind)
        names = {lookup[h] for h in present if h in lookup}
        required = {c.name for c in kind.columns if c.required}
        if required <= names and len(names) > best_score:
            best, best_score = kind, len(names)
    return best


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
        kind = detect_kind(raw.columns, KINDS.values())
        if kind is None:
            raise ValueError(f"{path.name}: 无法从表头识别文件类型")
    lookup = header_lookup(kind)
    raw = raw.rename({h: lookup[h] for h in raw.columns if h in lookup})
    return kind, cast_columns(raw, kind)


def load_files(
    con: duckdb.DuckDBPyConnection, paths: Iterable[Path], user: str = "system"
) -> list[dict]:
    """Validate and load files in one transaction (see :func:`etl.load.load_paths`).

    Returns one record (a dict, as the ``upload`` table row) per table loaded; raises
    :class:`etl.load.UploadRejected` when a file has errors.
    """
    return [r.as_dict() for r in load_paths(con, paths, user).records]
