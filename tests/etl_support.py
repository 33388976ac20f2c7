"""Helpers for the ETL tests: database copies, content hashes, quirky file variants.

The quirky variants are produced from real bytes of the generated sample (the
generator writes canonical files only), the way Excel or WPS would save them.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import xlsxwriter

from store.contracts import KINDS
from store.database import connect

DATA_TABLES = tuple(KINDS)  # the §7.2 tables (registry and uploads)
FULL_WIDTH = str.maketrans(
    "0123456789-:/.", "０１２３４５６７８９－：／．"
)  # what Chinese input methods type


def copy_db(source: Path, target: Path) -> Path:
    """A private copy of a database file (tests mutate copies, never the session db)."""
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return target


def all_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def table_hash(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Order-independent content hash of a table (md5 of its sorted row hashes)."""
    row = con.execute(
        f"SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
        f"FROM (SELECT md5(CAST(t AS VARCHAR)) AS h FROM {table} t)"
    ).fetchall()[0]
    return f"{row[0]}:{row[1]}"


def content_hashes(db: Path | duckdb.DuckDBPyConnection, tables=None) -> dict[str, str]:
    """Hash of every table (default: all base tables, bookkeeping and meta included)."""
    con = connect(db) if isinstance(db, Path) else db
    try:
        names = tables if tables is not None else all_tables(con)
        return {t: table_hash(con, t) for t in names}
    finally:
        if isinstance(db, Path):
            con.close()


def data_hashes(db) -> dict[str, str]:
    """Hashes of the §7.2 data tables only."""
    return content_hashes(db, DATA_TABLES)


def rollup_hashes(db) -> dict[str, str]:
    """Hashes of the rollup tables (derived data the loads must keep in step)."""
    con = connect(db) if isinstance(db, Path) else db
    try:
        names = [t for t in all_tables(con) if t.startswith("ru_")]
        return {t: table_hash(con, t) for t in names}
    finally:
        if isinstance(db, Path):
            con.close()


def read_text(path: Path) -> pl.DataFrame:
    """A generated CSV as text cells (canonical Chinese headers)."""
    return pl.read_csv(path, infer_schema=False)


def to_csv_bytes(frame: pl.DataFrame, encoding: str = "utf-8", title: str | None = None) -> bytes:
    """CSV bytes as Excel saves them: optional title row, CRLF, chosen encoding."""
    text = frame.write_csv(line_terminator="\r\n", null_value="")
    if title is not None:
        text = title + "," * (frame.width - 1) + "\r\n" + text
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode(encoding)


def map_column(frame: pl.DataFrame, header: str, fn: Callable[[str], str]) -> pl.DataFrame:
    """Rewrite one text column cell by cell (test data only; small frames)."""
    return frame.with_columns(
        pl.col(header).map_elements(fn, return_dtype=pl.String, skip_nulls=True)
    )


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    """An .xlsx workbook written by xlsxwriter; cells may be str, int, float, dates."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    date_format = book.add_format({"num_format": "yyyy/m/d"})
    time_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if hasattr(value, "hour"):
                    sheet.write_datetime(r, c, value, time_format)
                elif hasattr(value, "year"):
                    sheet.write_datetime(r, c, value, date_format)
                else:
                    sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def month_files(sample_dir: Path, month: str) -> list[Path]:
    """The generated files of one month, in the generator's order."""
    order = ("activity", "attendance", "report", "evaluation", "deduction")
    return [
        sample_dir / month / f"{k}.csv" for k in order if (sample_dir / month / f"{k}.csv").exists()
    ]


def sources(paths: list[Path]) -> list[tuple[str, bytes]]:
    """(name, bytes) pairs as the upload API takes them; names keep the month folder."""
    return [(f"{p.parent.name}/{p.name}", p.read_bytes()) for p in paths]
