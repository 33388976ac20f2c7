"""Loading uploads: validate, write all-or-nothing, keep the history, undo.

This is the Python API the CLI (``python -m etl load/history/undo``) and the upload page
call. Typical use::

    result = validate_uploads(con, [("2026-10活动.xlsx", data), ...])   # preview
    if result.ok:
        records = commit_uploads(con, result, user="张三")             # one transaction
    upload_history(con)                                                 # audit table
    undo_upload(con, upload_id=12, user="张三")                         # exact undo

or :func:`load_uploads` / :func:`load_paths` for validate-and-commit in one call.

Semantics (DESIGN §3.2, §7):

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

Reading is :mod:`etl.reader`, typing and rules :mod:`etl.validate`, matching stored
rows and writing :mod:`etl.upsert`, undo :mod:`etl.undo`; this module is the API.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow  # noqa: F401  (DuckDB reads registered frames through it: import once, up front)

from etl import rollups
from etl.isolation import run_isolated
from etl.limits import Limits, default_limits
from etl.prescan import check_size
from etl.read_stage import FileReading, read_file
from etl.reader import ROW, RawTable, ReadError
from etl.schema import bump_data_version, ensure_upload_schema
from etl.undo import UndoRefused, refuse_if_replaced_later, undo_rows
from etl.upsert import (
    LOAD_ORDER,
    KeyBlobs,
    KindPlan,
    Written,
    plan_writes,
    write_plans,
)
from etl.validate import (
    Part,
    build_context,
    check_part,
    cross_part_duplicates,
    empty_report,
)
from store import audit
from store.clock import now_local, today_local
from store.contracts import KINDS
from store.database import connect, run_sql, transaction

Progress = Callable[[int, int, str], None]

PREVIEW_ROWS = 20

# One writer at a time in this process (DuckDB's file lock keeps other processes out):
# validation results are checked against the data version under this lock.
_WRITE_LOCK = threading.RLock()


class UploadRejected(Exception):
    """The upload has errors; nothing was written. ``result`` holds the report."""

    def __init__(self, result: ValidationResult):
        super().__init__(f"上传被拒绝：共 {result.errors.height} 个错误，数据库未做任何修改")
        self.result = result


class DatabaseBusy(Exception):
    """Another process holds the database file."""


@dataclass
class FileSummary:
    """One table of an upload: what was recognised, and (after commit) what was written."""

    file_name: str
    sheet: str | None
    sha256: str
    kind: str | None
    kind_label: str | None
    rows: int
    header_row: int | None = None
    encoding: str | None = None
    duplicate_of: int | None = None  # upload id of an identical, already loaded file
    same_as: str | None = None  # an identical file earlier in the same upload
    preview: pl.DataFrame = field(default_factory=pl.DataFrame)
    part: int | None = None  # index of the typed table in the upload
    upload_id: int | None = None
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def label(self) -> str:
        return f"{self.file_name} / {self.sheet}" if self.sheet else self.file_name

    @property
    def superseded(self) -> int:
        """Report rows dropped for a later state of the same report in this upload."""
        return max(0, self.rows - self.inserted - self.updated - self.unchanged)

    @property
    def skipped(self) -> bool:
        """An identical file was already loaded (or is earlier in this upload): no-op."""
        return self.duplicate_of is not None or self.same_as is not None


@dataclass
class ValidationResult:
    """The outcome of :func:`validate_uploads`.

    ``errors`` and ``warnings`` are frames with the columns 文件, 行号, 列, 值, 原因
    (行号 is the Excel row number; null for problems of the whole file).
    """

    files: list[FileSummary]
    errors: pl.DataFrame
    warnings: pl.DataFrame
    data_version: int
    today: date
    sources: list[tuple[str, bytes]] = field(repr=False, default_factory=list)
    plans: list[KindPlan] = field(repr=False, default_factory=list)
    limits: Limits | None = field(repr=False, default=None)

    @property
    def ok(self) -> bool:
        """True when the upload can be committed (no errors)."""
        return self.errors.height == 0

    @property
    def noop(self) -> bool:
        """True when every file was already loaded (nothing to write)."""
        return all(f.skipped for f in self.files)


@dataclass
class UploadRecord:
    """One row of the ``upload`` table."""

    upload_id: int
    batch_id: int
    file_name: str
    sheet: str | None
    sha256: str
    kind: str
    rows_in_file: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    user_name: str
    uploaded_at: datetime

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class LoadResult:
    """What :func:`load_uploads` did: the validation report and the records written."""

    validation: ValidationResult
    records: list[UploadRecord]
    dry_run: bool = False

    @property
    def batch_id(self) -> int | None:
        return self.records[0].batch_id if self.records else None


@dataclass
class UndoResult:
    """What :func:`undo_upload` did."""

    batch_id: int
    upload_ids: list[int]
    files: list[str]
    removed: dict[str, int]
    restored: dict[str, int]


# ------------------------------------------------------------------ connect


def connect_for_load(path: str | Path, wait_seconds: float = 5.0) -> duckdb.DuckDBPyConnection:
    """Open the database read-write, waiting up to ``wait_seconds`` for another process.

    Raises :class:`DatabaseBusy` (message in Chinese, with the holder's PID) when the
    lock is still held after the wait.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return connect(path)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" not in text.lower():
                raise
            if time.monotonic() >= deadline:
                pid = text.split("PID", 1)[1].strip(" )").split(")")[0] if "PID" in text else "?"
                raise DatabaseBusy(
                    f"数据库 {path} 正被另一个程序占用（进程 {pid}），可能是正在运行的看板。\n"
                    "请先关闭该程序后重试，或在看板的「数据上传」页面上传文件。"
                    "本次没有写入任何数据。"
                ) from exc
            time.sleep(0.2)


def _refresh_rollups(con: duckdb.DuckDBPyConnection, months: list[date] | None) -> None:
    """Bring the rollups in step, inside the caller's transaction.

    ``create_rollups`` first (cheap when current): a database built before a rollup
    layout change then gets the new tables instead of failing the load.
    """
    rollups.create_rollups(con)
    rollups.refresh(con, months)


def _data_version(con: duckdb.DuckDBPyConnection) -> int:
    rows = run_sql(con, "SELECT value FROM meta WHERE key = 'data_version'")
    return int(rows[0][0]) if rows else 0


# ---------------------------------------------------------------- validate


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
    report = progress or _silent
    total = len(files) + 2
    reading = _read_stage(con, files, report, limits or default_limits())
    report(len(files), total, "校验")
    row_errors = _row_errors(con, reading.parts, today)
    plans, plan_warnings = None, None
    if all(e.is_empty() for e in reading.errors + row_errors):
        report(len(files) + 1, total, "与数据库比对")
        plans, plan_warnings = plan_writes(con, reading.parts)
    return _result(reading, files, today, row_errors, plans, plan_warnings)


def _silent(step: int, total: int, label: str) -> None:
    """The progress callback when the caller gives none."""


@dataclass
class _Reading:
    """What reading an upload found: per-file summaries, typed tables, file problems."""

    summaries: list[FileSummary]
    parts: list[Part]
    errors: list[pl.DataFrame]
    warnings: list[pl.DataFrame]
    data_version: int
    limits: Limits


def _read_stage(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[str, bytes]],
    report: Progress,
    limits: Limits,
) -> _Reading:
    """Read, hash and type every file (the data version is taken first)."""
    data_version = _data_version(con)
    # Hashing runs on a second thread while the main one reads (both release the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = [pool.submit(_sha256, data) for _, data in files]
        summaries, parts, errors, warnings = _read_all(files, hashing, con, report, limits)
    return _Reading(summaries, parts, errors, warnings, data_version, limits)


def _row_errors(
    con: duckdb.DuckDBPyConnection, parts: list[Part], today: date
) -> list[pl.DataFrame]:
    """Every row-level error of the typed tables (references looked up through ``con``)."""
    context = build_context(con, parts, today)
    errors = [check_part(part, context) for part in parts]
    errors.append(cross_part_duplicates(parts))
    return errors


def _error_frame(errors: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(errors).sort("文件", "行号", nulls_last=False, maintain_order=True)


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
        schema=empty_report().schema,
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


# ------------------------------------------------------------------ commit


def commit_uploads(
    con: duckdb.DuckDBPyConnection,
    result: ValidationResult,
    user: str,
    *,
    dry_run: bool = False,
    refresh_rollups: bool = True,
    progress: Progress | None = None,
) -> list[UploadRecord]:
    """Write a validated upload in one transaction; returns one record per table written.

    If the database changed since ``result`` was computed, the upload is validated again
    first. Raises :class:`UploadRejected` when it has errors. With ``dry_run`` the
    transaction is rolled back (the records show what would have been written).
    ``refresh_rollups=False`` is for ``init``, which refreshes every month once at the end.
    """
    with _WRITE_LOCK:
        ensure_upload_schema(con)
        if result.ok and _data_version(con) != result.data_version:
            fresh = validate_uploads(con, result.sources, today=result.today, limits=result.limits)
            result.files, result.errors, result.warnings = fresh.files, fresh.errors, fresh.warnings
            result.plans, result.data_version = fresh.plans, fresh.data_version
        if not result.ok:
            raise UploadRejected(result)
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
    report = progress or _silent
    total = len(result.plans) + 2
    with transaction(con, commit=not dry_run):
        report(0, total, _writing_label([p.kind.name for p in result.plans]))
        written = write_plans(con, result.plans, result.today)
        records = _finish(con, result, written, user, dry_run, refresh_rollups, report)
    report(total, total, "完成")
    return records


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
    records = _record_uploads(con, result, written.counts, written.batch_id, user)
    if refresh_rollups and not dry_run:
        report(len(result.plans), total, "更新汇总")
        months = written.months
        _refresh_rollups(con, None if months is None else sorted(months))
    bump_data_version(con)
    report(len(result.plans) + 1, total, "提交")
    return records


def _record_uploads(
    con: duckdb.DuckDBPyConnection,
    result: ValidationResult,
    counts: dict[int, tuple[int, int, int]],
    batch_id: int,
    user: str,
) -> list[UploadRecord]:
    records = []
    uploaded_at = now_local()
    for summary in result.files:
        if summary.part is None or summary.skipped:
            continue
        inserted, updated, unchanged = counts.get(summary.part, (0, 0, 0))
        record = UploadRecord(
            upload_id=batch_id + len(records),
            batch_id=batch_id,
            file_name=summary.file_name,
            sheet=summary.sheet,
            sha256=summary.sha256,
            kind=summary.kind or "",
            rows_in_file=summary.rows,
            rows_inserted=inserted,
            rows_updated=updated,
            rows_unchanged=unchanged,
            user_name=user,
            uploaded_at=uploaded_at,
        )
        summary.upload_id = record.upload_id
        summary.inserted, summary.updated, summary.unchanged = inserted, updated, unchanged
        run_sql(
            con,
            "INSERT INTO upload (upload_id, batch_id, file_name, sheet, sha256, kind, "
            "rows_in_file, rows_inserted, rows_updated, rows_unchanged, user_name, uploaded_at, "
            "status) VALUES ($upload_id, $batch_id, $file_name, $sheet, $sha256, $kind, "
            "$rows_in_file, $rows_inserted, $rows_updated, $rows_unchanged, $user_name, "
            "$uploaded_at, 'loaded')",
            record.as_dict(),
        )
        records.append(record)
    if records:
        audit.record(
            con,
            user,
            "upload",
            f"批次 {batch_id}："
            + "、".join(f"{r.file_name}（+{r.rows_inserted} ~{r.rows_updated}）" for r in records),
        )
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
) -> LoadResult:
    """Validate and commit in one call (under the write lock).

    Raises :class:`UploadRejected` (with the report) when any file has an error; nothing
    is written then. The outcome is that of :func:`validate_uploads` followed by
    :func:`commit_uploads`, but faster: once the files are read and typed, the rows are
    written inside the (still uncommitted) transaction while the row rules run, and the
    transaction is rolled back if any rule fails.
    """
    with _WRITE_LOCK:
        ensure_upload_schema(con)
        today = today or today_local()
        report = progress or _silent
        reading = _read_stage(con, files, report, limits or default_limits())
        if not reading.parts or any(e.height for e in reading.errors):
            # File-level errors or nothing new: no rows to write ahead of the rules.
            result = _result(reading, files, today, _row_errors(con, reading.parts, today))
            if not result.ok:
                raise UploadRejected(result)
            return LoadResult(result, [], dry_run)
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
            result = _result(reading, files, today, row_errors, plans, more)
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
    reading: _Reading,
    files: Sequence[tuple[str, bytes]],
    today: date,
    row_errors: list[pl.DataFrame],
    plans: list[KindPlan] | None = None,
    plan_warnings: list[pl.DataFrame] | None = None,
) -> ValidationResult:
    """The validation report; plans and their warnings only count when it has no errors."""
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


# ----------------------------------------------------------------- history


STATUS_LABELS = {"loaded": "已载入", "undone": "已撤销"}
# Uploads recorded in ``upload`` by other writers (etl.boundaries), which undo refuses.
FOREIGN_LABELS = {"boundary": "地图边界文件"}


def upload_history(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> pl.DataFrame:
    """The upload audit, newest first, with Chinese column names for display.

    Columns: 上传编号, 批次, 文件, 工作表, 类型, 行数, 新增, 更新, 未变, 用户, 上传时间,
    状态 (已载入/已撤销), 撤销时间, 撤销人.
    """
    ensure_upload_schema(con)
    sql = (
        "SELECT upload_id, coalesce(batch_id, upload_id) AS batch_id, file_name, sheet, kind, "
        "rows_in_file, rows_inserted, rows_updated, coalesce(rows_unchanged, 0) AS unchanged, "
        "user_name, uploaded_at, status, undone_at, undone_by FROM upload "
        "ORDER BY upload_id DESC"
    )
    params = []
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    frame = con.sql(sql, params=params).pl()
    labels = {k.name: k.label for k in KINDS.values()}
    return frame.select(
        pl.col("upload_id").alias("上传编号"),
        pl.col("batch_id").alias("批次"),
        pl.col("file_name").alias("文件"),
        pl.col("sheet").alias("工作表"),
        pl.col("kind").replace_strict(labels, default=pl.col("kind")).alias("类型"),
        pl.col("rows_in_file").alias("行数"),
        pl.col("rows_inserted").alias("新增"),
        pl.col("rows_updated").alias("更新"),
        pl.col("unchanged").alias("未变"),
        pl.col("user_name").alias("用户"),
        pl.col("uploaded_at").alias("上传时间"),
        pl.col("status").replace_strict(STATUS_LABELS, default=pl.col("status")).alias("状态"),
        pl.col("undone_at").alias("撤销时间"),
        pl.col("undone_by").alias("撤销人"),
    )


# -------------------------------------------------------------------- undo


def undo_upload(con: duckdb.DuckDBPyConnection, upload_id: int, user: str) -> UndoResult:
    """Undo the batch that ``upload_id`` belongs to, restoring exactly the prior state.

    All tables of the batch are undone together (they were loaded together). Raises
    :class:`UndoRefused` (Chinese message) when the upload does not exist, is already
    undone, was replaced in part by a later upload, or added ids that other uploads'
    rows still refer to; nothing is changed then.
    """
    with _WRITE_LOCK:
        ensure_upload_schema(con)
        rows = run_sql(con, "SELECT batch_id, status FROM upload WHERE upload_id = ?", [upload_id])
        row = rows[0] if rows else None
        if row is None:
            raise UndoRefused(f"没有编号为 {upload_id} 的上传记录")
        batch_id, status = row
        if batch_id is None:
            raise UndoRefused(f"第 {upload_id} 次上传早于撤销功能，没有撤销所需的记录，无法撤销")
        if status == "undone":
            raise UndoRefused(f"第 {upload_id} 次上传已经撤销过了")
        files = con.execute(
            "SELECT upload_id, file_name, kind FROM upload WHERE batch_id = ? ORDER BY upload_id",
            [batch_id],
        ).fetchall()
        foreign = sorted({f[2] for f in files if f[2] not in KINDS})
        if foreign:
            # e.g. a boundary (GeoJSON) upload: it replaces its table whole and keeps no
            # prior rows, so this loader cannot restore what was there before.
            what = "、".join(FOREIGN_LABELS.get(k, k) for k in foreign)
            raise UndoRefused(
                f"第 {upload_id} 次上传是{what}，不是台账数据，无法撤销；"
                "如需恢复，请重新上传之前的文件"
            )
        kinds = [KINDS[k] for k in LOAD_ORDER if any(f[2] == k for f in files)]
        refuse_if_replaced_later(con, batch_id, kinds)
        with transaction(con):
            removed, restored, months = undo_rows(con, batch_id, kinds, today_local())
            run_sql(
                con,
                "UPDATE upload SET status = 'undone', undone_at = ?, undone_by = ? "
                "WHERE batch_id = ?",
                [now_local(), user, batch_id],
            )
            _refresh_rollups(con, None if months is None else sorted(months))
            bump_data_version(con)
            audit.record(con, user, "undo", f"批次 {batch_id}：{'、'.join(f[1] for f in files)}")
    return UndoResult(batch_id, [f[0] for f in files], [f[1] for f in files], removed, restored)
