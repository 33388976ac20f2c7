"""Reading an upload: every file read, hashed and typed, re-uploads recognised.

Each file is read in the isolated reading process (:mod:`etl.isolation` runs
:func:`etl.read_stage.read_file` on it) while its sha256 is computed here; a file
identical to one already loaded (or to an earlier file of the same upload) is then
dropped, and reported as a no-op.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import polars as pl

from etl.isolation import run_isolated
from etl.limits import Limits
from etl.prescan import ReadError
from etl.raw_table import ROW, RawTable
from etl.read_stage import FileReading, read_file
from etl.upload_results import FileSummary, Progress
from etl.validation.findings import REPORT_SCHEMA, empty_report
from etl.validation.typed_table import Part
from store.contracts import KINDS
from store.database import data_version

PREVIEW_ROWS = 20


@dataclass
class UploadReading:
    """What reading an upload found: per-file summaries, typed tables, file problems."""

    summaries: list[FileSummary]
    parts: list[Part]
    errors: list[pl.DataFrame]
    warnings: list[pl.DataFrame]
    data_version: int
    limits: Limits


def read_upload_files(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[str, bytes]],
    report: Progress,
    limits: Limits,
) -> UploadReading:
    """Read, hash and type every file (the data version is taken first)."""
    version = data_version(con)
    # Hashing runs on a second thread while the main one reads (both release the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = [pool.submit(_sha256, data) for _, data in files]
        summaries, parts, errors, warnings = _read_all(files, hashing, con, report, limits)
    return UploadReading(summaries, parts, errors, warnings, version, limits)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_all(
    files: Sequence[tuple[str, bytes]],
    hashing: list[Future],
    con: duckdb.DuckDBPyConnection,
    report: Progress,
    limits: Limits,
) -> tuple[list[FileSummary], list[Part], list[pl.DataFrame], list[pl.DataFrame]]:
    """Read and type every file that is not an identical copy of a loaded one.

    Each file is read in an isolated child process (:mod:`etl.isolation`) while its
    hash is computed here; one that turns out to be a copy of a loaded (or earlier)
    file is then dropped: re-uploads are rare, uploads are not.
    """
    total = len(files) + 2
    summaries: list[FileSummary] = []
    parts: list[Part] = []
    errors = [empty_report()]
    warnings = [empty_report()]
    seen: dict[str, str] = {}  # sha256 → first file name in this upload
    for i, ((name, data), future) in enumerate(zip(files, hashing, strict=True)):
        report(i, total, f"读取 {name}")
        try:
            reading = run_isolated(
                read_file,
                name,
                data,
                len(parts),
                limits.read,
                limits=limits.isolation,
            )
        except ReadError as exc:  # UnsafeInput: the child ran out of memory or time
            reading = FileReading(error=str(exc))
        sha = future.result()
        loaded = _loaded_hashes(con, [sha])
        if sha in loaded or sha in seen:
            upload_id, kind = loaded.get(sha, (None, None))
            summaries.append(
                FileSummary(
                    name,
                    None,
                    sha,
                    kind,
                    KINDS[kind].label if kind in KINDS else None,
                    0,
                    duplicate_of=upload_id,
                    same_as=seen.get(sha),
                )
            )
            continue
        seen[sha] = name
        if reading.error is not None:
            errors.append(_file_error(name, reading.error))
            summaries.append(FileSummary(name, None, sha, None, None, 0))
            continue
        for table in reading.tables:
            summary = _summary(table.raw, sha)
            errors.append(table.errors)
            warnings.append(table.warnings)
            summary.rows = table.rows
            if table.part is not None:
                parts.append(table.part)
                summary.part = table.part.index
                summary.preview = _preview(table.part)
            summaries.append(summary)
    return summaries, parts, errors, warnings


def _loaded_hashes(con: duckdb.DuckDBPyConnection, hashes: list[str]) -> dict[str, tuple]:
    if not hashes:
        return {}
    rows = con.execute(
        "SELECT sha256, min(upload_id), any_value(kind) FROM upload "
        "WHERE status = 'loaded' AND sha256 IN (SELECT unnest(?)) GROUP BY sha256",
        [hashes],
    ).fetchall()
    return {sha: (upload_id, kind) for sha, upload_id, kind in rows}


def _file_error(name: str, reason: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"文件": [name], "行号": [None], "列": [""], "值": [""], "原因": [reason]},
        schema=REPORT_SCHEMA,
    )


def _summary(table: RawTable, sha: str) -> FileSummary:
    kind = table.kind
    return FileSummary(
        table.file_name,
        table.sheet,
        sha,
        kind.name if kind else None,
        kind.label if kind else None,
        0,  # rows: set once the table is typed (empty rows dropped)
        header_row=table.header_row,
        encoding=table.encoding,
    )


def _preview(part: Part) -> pl.DataFrame:
    """The first rows as they will be stored, under the canonical Chinese headers."""
    kind = part.kind
    head = part.typed.head(PREVIEW_ROWS)
    return head.select(
        pl.col(ROW).alias("行号"), *[pl.col(c.name).alias(c.header) for c in kind.columns]
    )
