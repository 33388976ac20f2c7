"""Minimal loader for canonical files (the sample data and the registry).

It reads files exactly in the formats the generator writes (UTF-8 CSV, canonical
Chinese headers or English column names, ISO dates) and loads them in one
transaction, replacing rows with the same natural key (latest wins). The validating
loader for real office files builds on these pieces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from etl.contracts import BOOL_FALSE, BOOL_TRUE, KINDS, UPLOAD_KINDS, Kind
from etl.schema import bump_data_version

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
            exprs.append(pl.lit(None, dtype=_polars_type(c.dtype)).alias(c.name))
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


def _polars_type(dtype: str) -> pl.DataType:
    return {
        "text": pl.String,
        "date": pl.Date,
        "timestamp": pl.Datetime("us"),
        "int": pl.Int64,
        "float": pl.Float64,
        "bool": pl.Boolean,
    }[dtype]()


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


def upsert(con: duckdb.DuckDBPyConnection, kind: Kind, frame: pl.DataFrame) -> tuple[int, int]:
    """Replace rows sharing the natural key, insert the rest; returns (inserted, updated)."""
    con.register("incoming", frame)
    try:
        on = " AND ".join(f"t.{k} = i.{k}" for k in kind.key)
        updated = con.execute(f"DELETE FROM {kind.table} t USING incoming i WHERE {on}").fetchone()[
            0
        ]
        cols = ", ".join(kind.names)
        con.execute(f"INSERT INTO {kind.table} ({cols}) SELECT {cols} FROM incoming")
    finally:
        con.unregister("incoming")
    return frame.height - updated, updated


def next_upload_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT coalesce(max(upload_id), 0) + 1 FROM upload").fetchone()[0]


def load_files(
    con: duckdb.DuckDBPyConnection, paths: Iterable[Path], user: str = "system"
) -> list[dict]:
    """Load canonical files in one transaction (all or nothing); returns one record each."""
    records = []
    con.execute("BEGIN TRANSACTION")
    try:
        for path in paths:
            path = Path(path)
            kind, frame = read_canonical_csv(path)
            inserted, updated = upsert(con, kind, frame)
            record = {
                "upload_id": next_upload_id(con),
                "file_name": path.name,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "kind": kind.name,
                "rows_in_file": frame.height,
                "rows_inserted": inserted,
                "rows_updated": updated,
                "user_name": user,
                "uploaded_at": datetime.now().replace(microsecond=0),
            }
            con.execute(
                "INSERT INTO upload (upload_id, file_name, sha256, kind, rows_in_file, "
                "rows_inserted, rows_updated, user_name, uploaded_at) "
                "VALUES ($upload_id, $file_name, $sha256, $kind, $rows_in_file, "
                "$rows_inserted, $rows_updated, $user_name, $uploaded_at)",
                record,
            )
            records.append(record)
        bump_data_version(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return records
