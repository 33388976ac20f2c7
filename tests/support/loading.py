"""Helpers for the ETL tests: databases and their hashes, quirky file variants, the CLI
and a load that can be killed.

The quirky variants are produced from real bytes of the generated sample (the
generator writes canonical files only), the way Excel or WPS would save them.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import xlsxwriter

from etl.generate import MONTHLY_FILES
from etl.init_db import init_database
from etl.load import load_uploads, undo_upload
from store.contracts import KINDS
from store.database import connect
from store.paths import REPO_ROOT

DATA_TABLES = tuple(KINDS)  # the data tables of docs/data.md (registry and uploads)
FULL_WIDTH = str.maketrans(
    "0123456789-:/.", "０１２３４５６７８９－：／．"
)  # what Chinese input methods type


def registry_database(tmp_path_factory) -> Path:
    """A database with the registry only (no months): build one per module, copy per test."""
    path = tmp_path_factory.mktemp("registry") / "r.duckdb"
    init_database(path, sample=False)
    return path


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
    """Hashes of the data tables only (no bookkeeping, no rollups)."""
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


def xlsx_bytes(sheets: dict[str, list[list[object]]], created: datetime | None = None) -> bytes:
    """An .xlsx workbook written by xlsxwriter; cells may be str, int, float, dates.

    ``created`` fixes the creation time the workbook records (default: now), for bytes
    that must not depend on the clock.
    """
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    if created is not None:
        book.set_properties({"created": created})
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


def load(db: Path, files, user="tester", **options):
    """:func:`etl.load.load_uploads` on a database file (opened and closed around it)."""
    con = connect(db)
    try:
        return load_uploads(con, files, user, **options)
    finally:
        con.close()


def undo(db: Path, upload_id: int, user="tester"):
    """:func:`etl.load.undo_upload` on a database file."""
    con = connect(db)
    try:
        return undo_upload(con, upload_id, user)
    finally:
        con.close()


def last_batch(db: Path) -> int:
    """The newest batch of loaded data that can be undone."""
    con = connect(db)
    try:
        # The newest data batch (init also records the shipped map boundaries, which
        # are not loader data and cannot be undone here).
        return con.execute(
            "SELECT max(batch_id) FROM upload WHERE status = 'loaded' AND kind <> 'boundary'"
        ).fetchall()[0][0]
    finally:
        con.close()


def query(db: Path, sql: str, params=None) -> list[tuple]:
    """The rows of one query on a database file."""
    con = connect(db)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def month_files(sample_dir: Path, month: str) -> list[Path]:
    """The generated files of one month, in the generator's order."""
    paths = (sample_dir / month / f"{kind}.csv" for kind in MONTHLY_FILES)
    return [p for p in paths if p.exists()]


def sources(paths: list[Path]) -> list[tuple[str, bytes]]:
    """(name, bytes) pairs as the upload API takes them; names keep the month folder."""
    return [(f"{p.parent.name}/{p.name}", p.read_bytes()) for p in paths]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m etl ARGS`` in a child process, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "etl", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
    )


# A load in a child process that prints a mark (name, monotonic clock, shared by all
# processes) at each phase: start, open (the write transaction has begun), commit
# (COMMIT is next), done (committed).
KILLABLE_LOAD = """
import sys, time
print("start", time.monotonic(), flush=True)
from store.database import connect
from etl.load import load_paths
def progress(step, total, label):
    if label.startswith("写入") and step == 0:
        print("open", time.monotonic(), flush=True)  # the write transaction has begun
    if label == "提交":
        print("commit", time.monotonic(), flush=True)  # COMMIT is next
    if label == "完成":
        print("done", time.monotonic(), flush=True)  # committed
con = connect(sys.argv[1])
load_paths(con, sys.argv[2:], "kill-test", progress=progress)
con.close()
"""


def start_killable_load(db: Path, files: list[str]) -> subprocess.Popen:
    """Start loading ``files`` into ``db`` in a child process (its marks on stdout)."""
    return subprocess.Popen(
        [sys.executable, "-c", KILLABLE_LOAD, str(db), *files],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def marks_of(output: str) -> dict[str, float]:
    """The phase marks a killable load printed: name → monotonic clock."""
    pairs = (line.split() for line in output.splitlines())
    return {name: float(value) for name, value in pairs}


def wait_for_mark(process: subprocess.Popen, name: str) -> float:
    """Read a killable load's marks until ``name``; its clock (AssertionError at EOF)."""
    for line in process.stdout:
        mark, value = line.split()
        if mark == name:
            return float(value)
    raise AssertionError(f"the load ended without the mark {name!r}")
