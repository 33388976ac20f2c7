"""Loading uploads: validate, write all-or-nothing, keep the history, undo.

This is the Python API the CLI (``python -m etl load/history/undo``) and the upload page
call. Typical use::

    result = validate_uploads(con, [("2026-10活动.xlsx", data), ...])   # preview
    if result.ok:
        records = commit_uploads(con, result, user="张三")             # one transaction
    upload_history(con)                                                 # audit table
    undo_upload(con, upload_id=12, user="张三")                         # exact undo

or :func:`load_uploads` / :func:`load_paths` for validate-and-commit in one call.

Semantics (docs/loading.md):

* **One upload = one transaction = one batch**, however many files (tables) it holds;
  files may refer to each other (a month's activities and their sign-ins). Any error in
  any file rejects the whole upload and nothing is written.
* **Re-loading an identical file** (same sha256 as a loaded, not undone upload) is a
  no-op, reported as such (``FileSummary.duplicate_of``).
* **Corrected re-uploads update by natural key** (:mod:`store.contracts`): activity by
  activity id, attendance by (activity, person), report by report id, evaluation by
  (period, unit, index, rater), person by person id, deduction by (date, unit, item).
  The later upload wins. Rows identical to the stored ones are left alone and reported
  as a warning. For reports the "latest state wins": a later upload replaces the stored
  state (with a warning when it moves a report back to an earlier step); within one
  upload, the row with the latest lifecycle timestamp wins.
* **Undo** restores exactly the state before the batch: the rows it inserted are
  deleted and the rows it replaced are put back. Undo is refused, with a message naming
  the later upload, when a later (not undone) upload replaced rows of this batch, or
  when rows loaded by another upload still refer to ids this batch added (e.g. sign-ins
  of an activity). Undoing newest-first always works.
* Rollups (:func:`etl.rollups.refresh`) and the data version are refreshed inside the
  same transaction, so readers never see facts without their rollups.
* A load killed at any point (even SIGKILL) leaves the database as it was: DuckDB
  discards the uncommitted transaction when the file is next opened.
* :func:`load_uploads` writes the rows (inside the uncommitted transaction) while the
  row rules run, and rolls back if one fails: same outcome as validate-then-commit,
  faster. :func:`validate_uploads` never writes.

Reading an upload is :mod:`etl.upload_reading` (each file: :mod:`etl.read_stage`,
:mod:`etl.reader`), typing and rules :mod:`etl.validation`, matching stored rows and
writing :mod:`etl.upsert`, the history :mod:`etl.history`, undo :mod:`etl.undo`, the
write lock :mod:`etl.write_access`, the result types :mod:`etl.upload_results`; this
module is the API, and the names in ``__all__`` are importable from here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow  # noqa: F401  (DuckDB reads registered frames through it: import once, up front)

from etl import write_access
from etl.batch_keys import KeyBlobs
from etl.history import record_uploads, upload_history
from etl.limits import Limits, default_limits
from etl.prescan import check_size
from etl.schema import bump_data_version, ensure_upload_schema
from etl.undo import UndoRefused, UndoResult, undo_upload
from etl.upload_reading import UploadReading, read_upload_files
from etl.upload_results import (
    FileSummary,
    LoadResult,
    OutsideRowsRefused,
    Progress,
    UploadRecord,
    UploadRejected,
    ValidationResult,
    no_progress,
)
from etl.upsert import LOAD_ORDER, KindPlan, Written, plan_writes, write_plans
from etl.validation.duplicates import cross_part_duplicates
from etl.validation.findings import REPORT_SCHEMA
from etl.validation.references import build_context
from etl.validation.registry_rules import REGISTRY, registry_errors, registry_warnings
from etl.validation.rules import check_part
from etl.validation.scope import outside_rows
from etl.validation.typed_table import Part
from etl.write_access import DatabaseBusy, connect_for_load
from store.clock import today_local
from store.contracts import KINDS
from store.database import data_version, transaction

ERROR_SCHEMA = REPORT_SCHEMA  # 文件, 行号, 列, 值, 原因

__all__ = [
    "DatabaseBusy",
    "FileSummary",
    "LoadResult",
    "OutsideRowsRefused",
    "UndoRefused",
    "UndoResult",
    "UploadRecord",
    "UploadRejected",
    "ValidationResult",
    "commit_uploads",
    "connect_for_load",
    "load_paths",
    "load_uploads",
    "today_local",
    "undo_upload",
    "upload_history",
    "validate_uploads",
]


def validate_uploads(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[str, bytes]],
    *,
    today: date | None = None,
    progress: Progress | None = None,
    limits: Limits | None = None,
) -> ValidationResult:
    """Read and validate an upload (file name, bytes) without writing anything.

    References are checked against the database plus the other files of the upload;
    "no future dates" compares with ``today`` (default: today in Asia/Shanghai).
    Files are measured and read within ``limits`` (default: the configured ones).
    """
    ensure_upload_schema(con)
    today = today or today_local()
    report = progress or no_progress
    total = len(files) + 2
    reading = read_upload_files(con, files, report, limits or default_limits())
    report(len(files), total, "校验")
    row_errors = _row_errors(con, reading.parts, today)
    plans, plan_warnings, outside = None, None, None
    if all(e.is_empty() for e in reading.errors + row_errors):
        report(len(files) + 1, total, "与数据库比对")
        plans, plan_warnings = plan_writes(con, reading.parts)
        plan_warnings.append(_registry_notes(con, reading.parts))
        outside = outside_rows(con, reading.parts)
    return _result(reading, files, today, row_errors, plans, plan_warnings, outside)


def _registry_notes(con: duckdb.DuckDBPyConnection, parts: list[Part]) -> pl.DataFrame:
    """What a registry upload keeps and renames (read before anything is written)."""
    if not any(p.kind.name in REGISTRY for p in parts):
        return pl.DataFrame(schema=ERROR_SCHEMA)
    return registry_warnings(con, parts)


def _row_errors(
    con: duckdb.DuckDBPyConnection, parts: list[Part], today: date
) -> list[pl.DataFrame]:
    """Every row-level error of the typed tables (references looked up through ``con``)."""
    context = build_context(con, parts, today)
    errors = [check_part(part, context) for part in parts]
    errors.append(cross_part_duplicates(parts))
    if any(p.kind.name in REGISTRY for p in parts):
        errors.append(registry_errors(con, parts))
    return errors


def _error_frame(errors: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(errors).sort("文件", "行号", nulls_last=False, maintain_order=True)


def commit_uploads(
    con: duckdb.DuckDBPyConnection,
    result: ValidationResult,
    user: str,
    *,
    dry_run: bool = False,
    refresh_rollups: bool = True,
    progress: Progress | None = None,
    accept_outside: bool = False,
) -> list[UploadRecord]:
    """Write a validated upload in one transaction; returns one record per table written.

    If the database changed since ``result`` was computed, the upload is validated again
    first. Raises :class:`UploadRejected` when it has errors, and
    :class:`OutsideRowsRefused` when it has rows outside the village or month their file
    is for (``result.outside``) and ``accept_outside`` is false — acceptance covers the
    rows that were shown: a new one found on validating again is refused too. With
    ``dry_run`` the transaction is rolled back (the records show what would have been
    written). ``refresh_rollups=False`` is for ``init``, which refreshes every month once
    at the end.
    """
    with write_access.WRITE_LOCK:
        ensure_upload_schema(con)
        shown = _flagged(result.outside)
        if result.ok and data_version(con) != result.data_version:
            fresh = validate_uploads(con, result.sources, today=result.today, limits=result.limits)
            result.files, result.errors, result.warnings = fresh.files, fresh.errors, fresh.warnings
            result.plans, result.data_version = fresh.plans, fresh.data_version
            result.outside = fresh.outside
        if not result.ok:
            raise UploadRejected(result)
        if result.outside.height and not (accept_outside and _flagged(result.outside) <= shown):
            raise OutsideRowsRefused(result)
        if not result.plans:
            return []
        return _write(con, result, user, dry_run, refresh_rollups, progress)


def _write(
    con: duckdb.DuckDBPyConnection,
    result: ValidationResult,
    user: str,
    dry_run: bool,
    refresh_rollups: bool,
    progress: Progress | None,
) -> list[UploadRecord]:
    report = progress or no_progress
    total = len(result.plans) + 2
    with transaction(con, commit=not dry_run):
        report(0, total, _writing_label([p.kind.name for p in result.plans]))
        written = write_plans(con, result.plans, result.today)
        records = _finish(con, result, written, user, dry_run, refresh_rollups, report)
    report(total, total, "完成")
    return records


def _flagged(outside: pl.DataFrame) -> set[tuple]:
    """The (file, row) pairs flagged as outside the declared village or month."""
    return set(outside.select("文件", "行号").iter_rows())


def _writing_label(kinds: list[str]) -> str:
    return "写入 " + "、".join(KINDS[k].label for k in kinds)


def _finish(
    con: duckdb.DuckDBPyConnection,
    result: ValidationResult,
    written: Written,
    user: str,
    dry_run: bool,
    refresh_rollups: bool,
    report: Progress,
) -> list[UploadRecord]:
    """Inside the open transaction, after the rows: records, rollups, version (the
    caller's transaction then commits)."""
    total = len(result.plans) + 2
    records = record_uploads(con, result, written.counts, written.batch_id, user)
    if refresh_rollups and not dry_run:
        report(len(result.plans), total, "更新汇总")
        write_access.refresh_rollups(con, written.months)
    bump_data_version(con)
    report(len(result.plans) + 1, total, "提交")
    return records


def load_uploads(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[str, bytes]],
    user: str,
    *,
    dry_run: bool = False,
    refresh_rollups: bool = True,
    today: date | None = None,
    progress: Progress | None = None,
    limits: Limits | None = None,
    accept_outside: bool = True,
) -> LoadResult:
    """Validate and commit in one call (under the write lock).

    Raises :class:`UploadRejected` (with the report) when any file has an error, and
    :class:`OutsideRowsRefused` when rows lie outside the village or month their file is
    for (``result.validation.outside``) and ``accept_outside`` is false; nothing is
    written then. Programs loading their own files (``init``, scripts) keep the default;
    the command line passes false only with ``--refuse-outside``, and the page
    validates and commits (:func:`commit_uploads` refuses unless accepted). The outcome is that of
    :func:`validate_uploads` followed by :func:`commit_uploads`, but faster: once the
    files are read and typed, the rows are written inside the (still uncommitted)
    transaction while the row rules run, and the transaction is rolled back if any rule
    fails.
    """
    with write_access.WRITE_LOCK:
        ensure_upload_schema(con)
        today = today or today_local()
        report = progress or no_progress
        reading = read_upload_files(con, files, report, limits or default_limits())
        if not reading.parts or any(e.height for e in reading.errors):
            # File-level errors or nothing new: no rows to write ahead of the rules.
            result = _result(reading, files, today, _row_errors(con, reading.parts, today))
            if not result.ok:
                raise UploadRejected(result)
            return LoadResult(result, [], dry_run)
        outside = outside_rows(con, reading.parts)
        if outside.height and not accept_outside:
            # Refused before anything is written; errors, if any, come first.
            result = _result(reading, files, today, _row_errors(con, reading.parts, today))
            if not result.ok:
                raise UploadRejected(result)
            result.outside = outside
            raise OutsideRowsRefused(result)
        notes = _registry_notes(con, reading.parts)  # before the rows change
        kinds = [k for k in LOAD_ORDER if any(p.kind.name == k for p in reading.parts)]
        with transaction(con, commit=not dry_run):
            report(0, len(kinds) + 2, f"{_writing_label(kinds)}（同时校验）")
            outcome, row_errors = _write_while_checking(con, reading.parts, today)
            if isinstance(outcome, BaseException):
                result = _result(reading, files, today, row_errors)
                if not result.ok:  # the rows that broke the rules broke the write too
                    raise UploadRejected(result)
                raise outcome  # a failure no rule explains: a bug, not bad data
            plans, more, written = outcome
            result = _result(reading, files, today, row_errors, plans, [*more, notes], outside)
            if not result.ok:
                raise UploadRejected(result)
            records = _finish(con, result, written, user, dry_run, refresh_rollups, report)
        report(len(kinds) + 2, len(kinds) + 2, "完成")
    return LoadResult(result, records, dry_run)


def _write_while_checking(
    con: duckdb.DuckDBPyConnection, parts: list[Part], today: date
) -> tuple[tuple[list[KindPlan], list[pl.DataFrame], Written] | BaseException, list[pl.DataFrame]]:
    """Match and write the rows on ``con`` (its transaction open) while the rules run.

    DuckDB's insert and Polars' rules each leave a core idle part of the time, so
    running them side by side saves most of the shorter one. The rules look ids up
    through a cursor of their own (a connection is not thread-safe); they see the
    committed database, as when validating alone. Rows that break a rule may make
    the write fail (a NOT NULL column, say): that error is returned, not raised, so
    that the caller can tell it from a failure no rule explains.
    """

    blobs = KeyBlobs()

    def plan_and_write() -> tuple[list[KindPlan], list[pl.DataFrame], Written]:
        plans, warnings = plan_writes(con, parts)
        return plans, warnings, write_plans(con, plans, today, blobs)

    # The cursor is made before the writer starts; leaving the pool waits for the
    # writer, so the connection is free again after the block.
    with (
        contextlib.closing(con.cursor()) as checker,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        writing = pool.submit(plan_and_write)
        row_errors = _row_errors(checker, parts, today)
        if not any(e.height for e in row_errors):
            # Idle until the writer is done otherwise: serialise the undo keys of each
            # table that is the only one of its kind (the writer takes them when it
            # writes every row of it, i.e. none equals a stored row).
            for part in parts:
                if sum(p.kind.name == part.kind.name for p in parts) == 1:
                    blobs.get(part.index, part.typed.select(part.kind.key))
    failure = writing.exception()
    return (writing.result() if failure is None else failure), row_errors


def _result(
    reading: UploadReading,
    files: Sequence[tuple[str, bytes]],
    today: date,
    row_errors: list[pl.DataFrame],
    plans: list[KindPlan] | None = None,
    plan_warnings: list[pl.DataFrame] | None = None,
    outside: pl.DataFrame | None = None,
) -> ValidationResult:
    """The validation report; plans, their warnings and the rows flagged as outside the
    declared village or month only count when it has no errors."""
    errors = _error_frame(reading.errors + row_errors)
    ok = errors.is_empty()
    warnings = reading.warnings + ((plan_warnings or []) if ok else [])
    return ValidationResult(
        reading.summaries,
        errors,
        pl.concat(warnings),
        reading.data_version,
        today,
        sources=list(files),
        plans=(plans or []) if ok else [],
        limits=reading.limits,
        outside=outside if ok and outside is not None else pl.DataFrame(schema=ERROR_SCHEMA),
    )


def load_paths(
    con: duckdb.DuckDBPyConnection, paths: Iterable[str | Path], user: str, **options
) -> LoadResult:
    """:func:`load_uploads` for files on disk (names in reports are the file names).

    Each file's size is checked before it is read (:class:`LimitExceeded`).
    """
    paths = [Path(p) for p in paths]
    limits = options.get("limits") or default_limits()
    for path in paths:
        check_size(path.stat().st_size, limits.read)
    files = [(path.name, path.read_bytes()) for path in paths]
    return load_uploads(con, files, user, **options)
