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
* **Corrected re-uploads update by natural key** (:mod:`etl.contracts`): activity by
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
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
import pyarrow  # noqa: F401  (DuckDB reads registered frames through it: import once, up front)

from etl import rollups
from etl.contracts import KINDS, Kind
from etl.db import connect
from etl.reader import ROW, RawTable, ReadError, read_upload
from etl.schema import bump_data_version, ensure_upload_schema, prior_table
from etl.validate import (
    PART,
    POLARS_TYPES,
    REFERENCES,
    Part,
    build_context,
    check_part,
    cross_part_duplicates,
    empty_report,
    extra_column_warnings,
    problems_report,
    type_table,
)

Progress = Callable[[int, int, str], None]

# Asia/Shanghai has had no daylight saving since 1991: a fixed offset is exact and needs
# no time-zone database.
SHANGHAI = timezone(timedelta(hours=8))
LOAD_ORDER = (
    "village",
    "subgrid",
    "service_point",
    "person",
    "activity",
    "attendance",
    "report",
    "evaluation",
    "deduction",
)
ROSTER_KINDS = {"village", "subgrid", "service_point", "person"}
REPORT_STEPS = ("reported_at", "accepted_at", "verified_at", "escalated_at", "resolved_at")
PREVIEW_ROWS = 20

# One writer at a time in this process (DuckDB's file lock keeps other processes out):
# validation results are checked against the data version under this lock.
_WRITE_LOCK = threading.RLock()


def now_local() -> datetime:
    """Wall-clock time in Asia/Shanghai, naive (as stored in the database)."""
    return datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


def today_local() -> date:
    """Today's date in Asia/Shanghai (the "no future dates" reference)."""
    return now_local().date()


class UploadRejected(Exception):
    """The upload has errors; nothing was written. ``result`` holds the report."""

    def __init__(self, result: ValidationResult):
        super().__init__(f"上传被拒绝：共 {result.errors.height} 个错误，数据库未做任何修改")
        self.result = result


class UndoRefused(Exception):
    """An undo that cannot be done safely; the message says why and what to do."""


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
class KindPlan:
    """The rows of one kind an upload will write, and how they meet the stored rows."""

    kind: Kind
    frame: pl.DataFrame  # typed rows (+ _part, _row), reports deduplicated
    matched: pl.DataFrame  # _part, _row, same: rows whose key is already stored


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


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> list[tuple]:
    """Execute and fetch everything: DuckDB 2 refuses new work on a connection while a
    result is still pending, even an INSERT's row count."""
    return con.execute(sql, params or []).fetchall()


def _refresh_rollups(con: duckdb.DuckDBPyConnection, months: list[date] | None) -> None:
    """Bring the rollups in step, inside the caller's transaction.

    ``create_rollups`` first (cheap when current): a database built before a rollup
    layout change then gets the new tables instead of failing the load.
    """
    rollups.create_rollups(con)
    rollups.refresh(con, months)


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back after a failure without hiding it (the transaction may be gone already)."""
    with contextlib.suppress(duckdb.Error):
        _run(con, "ROLLBACK")


def _data_version(con: duckdb.DuckDBPyConnection) -> int:
    rows = _run(con, "SELECT value FROM meta WHERE key = 'data_version'")
    return int(rows[0][0]) if rows else 0


# ---------------------------------------------------------------- validate


def validate_uploads(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[str, bytes]],
    *,
    today: date | None = None,
    progress: Progress | None = None,
) -> ValidationResult:
    """Read and validate an upload (file name, bytes) without writing anything.

    References are checked against the database plus the other files of the upload;
    "no future dates" compares with ``today`` (default: today in Asia/Shanghai).
    """
    ensure_upload_schema(con)
    today = today or today_local()
    report = progress or (lambda step, total, label: None)
    total = len(files) + 2
    data_version = _data_version(con)
    # Hashing runs on a second thread while the main one reads (both release the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = [pool.submit(_sha256, data) for _, data in files]
        summaries, parts, errors, warnings = _read_all(files, hashing, con, report)
    report(len(files), total, "校验")
    context = build_context(con, parts, today)
    for part in parts:
        errors.append(check_part(part, context))
    errors.append(cross_part_duplicates(parts))
    error_frame = pl.concat(errors).sort("文件", "行号", nulls_last=False, maintain_order=True)
    plans: list[KindPlan] = []
    if error_frame.is_empty():
        report(len(files) + 1, total, "与数据库比对")
        plans, more = _plans(con, parts)
        warnings += more
    warning_frame = pl.concat(warnings)
    return ValidationResult(
        summaries,
        error_frame,
        warning_frame,
        data_version,
        today,
        sources=list(files),
        plans=plans,
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_all(
    files: Sequence[tuple[str, bytes]],
    hashing: list[Future],
    con: duckdb.DuckDBPyConnection,
    report: Progress,
) -> tuple[list[FileSummary], list[Part], list[pl.DataFrame], list[pl.DataFrame]]:
    """Read and type every file that is not an identical copy of a loaded one.

    Files are read while their hash is computed; one that turns out to be a copy of a
    loaded (or earlier) file is then dropped: re-uploads are rare, uploads are not.
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
            tables: list[RawTable] | ReadError = read_upload(name, data)
        except ReadError as exc:
            tables = exc
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
        if isinstance(tables, ReadError):
            errors.append(_file_error(name, str(tables)))
            summaries.append(FileSummary(name, None, sha, None, None, 0))
            continue
        for table in tables:
            summary = _summary(table, sha)
            errors.append(problems_report(table))
            warnings.append(extra_column_warnings(table))
            if table.kind is not None and not table.missing_columns:
                part = type_table(table, len(parts))
                parts.append(part)
                summary.part = part.index
                summary.preview = _preview(part)
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
        table.frame.height,
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


def _plans(con: duckdb.DuckDBPyConnection, parts: list[Part]) -> tuple[list[KindPlan], list]:
    """Per kind: the rows to write and their match with stored rows; plus warnings."""
    plans, warnings = [], []
    labels = {p.index: p.label for p in parts}
    for name in LOAD_ORDER:
        group = [p for p in parts if p.kind.name == name]
        if not group:
            continue
        kind = KINDS[name]
        frame = pl.concat([p.typed for p in group]) if len(group) > 1 else group[0].typed
        if name == "report" and len(group) > 1:
            frame = _latest_reports(frame)
        matched, regressions = _compare_with_database(con, kind, frame)
        plans.append(KindPlan(kind, frame, matched))
        warnings.append(_identical_warnings(matched, labels))
        if regressions is not None:
            warnings.append(regressions.with_columns(pl.col("文件").replace_strict(labels)))
    return plans, warnings


def _latest_reports(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per report id: the one with the latest lifecycle step (ties: later file)."""
    latest = pl.max_horizontal(*REPORT_STEPS).alias("_latest")
    return (
        frame.with_columns(latest)
        .sort("report_id", "_latest", PART, ROW, nulls_last=False)
        .unique("report_id", keep="last", maintain_order=True)
        .drop("_latest")
    )


def _key_match(kind: Kind, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in kind.key)


def _compare_with_database(
    con: duckdb.DuckDBPyConnection, kind: Kind, frame: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(_part, _row, same) of incoming rows whose key is stored; report regressions."""
    empty = pl.DataFrame(schema={PART: pl.Int64, ROW: pl.Int64, "same": pl.Boolean})
    if frame.is_empty() or not con.execute(f"SELECT EXISTS (FROM {kind.table})").fetchall()[0][0]:
        return empty, None
    values = [c for c in kind.names if c not in kind.key]
    same = " AND ".join(f"t.{c} IS NOT DISTINCT FROM i.{c}" for c in values) or "TRUE"
    extra = ""
    if kind.name == "report":
        extra = (
            ", t.status AS db_status, greatest("
            + ", ".join(f"t.{c}" for c in REPORT_STEPS)
            + ") AS db_latest, greatest("
            + ", ".join(f"i.{c}" for c in REPORT_STEPS)
            + ") AS new_latest, i.status AS new_status"
        )
    con.register("_incoming", frame)
    try:
        matched = con.sql(
            f"SELECT i.{PART}, i.{ROW}, ({same}) AS same{extra} "
            f"FROM _incoming i JOIN {kind.table} t ON {_key_match(kind, 't', 'i')}"
        ).pl()
    finally:
        con.unregister("_incoming")
    regressions = None
    if kind.name == "report" and matched.height:
        back = matched.filter(~pl.col("same") & (pl.col("db_latest") > pl.col("new_latest")))
        if back.height:
            regressions = back.select(
                pl.col(PART).alias("文件"),
                pl.col(ROW).alias("行号"),
                pl.lit(kind.column("status").header).alias("列"),
                pl.col("new_status").alias("值"),
                pl.format(
                    "数据库中该事项已有更晚的进展（{}，{}），将按本次上传改回",
                    pl.col("db_status"),
                    pl.col("db_latest").dt.strftime("%Y-%m-%d %H:%M"),
                ).alias("原因"),
            )
    return matched.select(PART, ROW, "same"), regressions


def _identical_warnings(matched: pl.DataFrame, labels: dict[int, str]) -> pl.DataFrame:
    """One warning per table: how many rows equal the stored ones (they stay as they are)."""
    same = matched.filter(pl.col("same"))
    if same.is_empty():
        return empty_report()
    per_part = same.group_by(PART).agg(
        pl.len().alias("n"), pl.col(ROW).sort().head(5).alias("rows")
    )
    return per_part.sort(PART).select(
        pl.col(PART).replace_strict(labels, return_dtype=pl.String).alias("文件"),
        pl.col("rows").list.first().alias("行号"),
        pl.lit("").alias("列"),
        pl.format("{} 行", pl.col("n")).alias("值"),
        pl.format(
            "与数据库中已有的数据完全相同，保持不变、不重复计入（如第 {} 行）",
            pl.col("rows").cast(pl.List(pl.String)).list.join("、"),
        ).alias("原因"),
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
            fresh = validate_uploads(con, result.sources, today=result.today)
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
    report = progress or (lambda step, total, label: None)
    total = len(result.plans) + 2
    _run(con, "BEGIN TRANSACTION")
    try:
        batch_id = _run(con, "SELECT coalesce(max(upload_id), 0) + 1 FROM upload")[0][0]
        months: set[date] = set()
        roster = False
        counts: dict[int, tuple[int, int, int]] = {}
        for step, plan in enumerate(result.plans):
            report(step, total, f"写入 {plan.kind.label}")
            plan_counts, plan_months = _write_plan(con, plan, batch_id, result.today)
            counts.update(plan_counts)
            if plan_months is None:
                roster = True
            else:
                months |= plan_months
        records = _record_uploads(con, result, counts, batch_id, user)
        if refresh_rollups and not dry_run:
            report(len(result.plans), total, "更新汇总")
            _refresh_rollups(con, None if roster else sorted(months))
        bump_data_version(con)
        report(len(result.plans) + 1, total, "提交")
        _run(con, "ROLLBACK" if dry_run else "COMMIT")
    except BaseException:
        _rollback(con)
        raise
    report(total, total, "完成")
    return records


def _write_plan(
    con: duckdb.DuckDBPyConnection, plan: KindPlan, batch_id: int, today: date
) -> tuple[dict[int, tuple[int, int, int]], set[date] | None]:
    """Write one kind: save replaced rows, delete them, insert, record keys.

    Returns per table (part) index (inserted, updated, unchanged), and the months whose
    facts changed (None when the roster changed).
    """
    kind, frame, matched = plan.kind, plan.frame, plan.matched
    ids = [PART, ROW]
    same = matched.filter(pl.col("same")).select(ids)
    changed = matched.filter(~pl.col("same")).select(ids)
    write = frame.join(same, on=ids, how="anti") if same.height else frame
    cols = ", ".join(kind.names)
    months: set[date] | None = set()
    con.register("_write", write.select(kind.names))  # only what DuckDB reads
    try:
        if changed.height:
            replaced = write.join(changed, on=ids, how="semi").select(kind.key)
            con.register("_replaced", replaced)
            try:
                match = _key_match(kind, "t", "r")
                _run(
                    con,
                    f"INSERT INTO {prior_table(kind)} (batch_id, {cols}) "
                    f"SELECT ?, {', '.join('t.' + c for c in kind.names)} FROM {kind.table} t "
                    f"WHERE EXISTS (SELECT 1 FROM _replaced r WHERE {match})",
                    [batch_id],
                )
                _run(con, f"DELETE FROM {kind.table} t USING _replaced r WHERE {match}")
            finally:
                con.unregister("_replaced")
            months = _months(
                con,
                kind,
                f"(SELECT * FROM {prior_table(kind)} WHERE batch_id = $batch)",
                today,
                batch_id,
            )
        # The keys are serialised on a second thread while DuckDB inserts the rows.
        with ThreadPoolExecutor(max_workers=1) as pool:
            blob = pool.submit(_keys_blob, write.select(kind.key))
            _run(con, f"INSERT INTO {kind.table} ({cols}) SELECT {cols} FROM _write")
            if write.height:
                _run(
                    con,
                    "INSERT INTO upload_keys VALUES (?, ?, ?, ?)",
                    [batch_id, kind.name, write.height, blob.result()],
                )
        new_months = _months(con, kind, "_write", today)
    finally:
        con.unregister("_write")
    months = None if months is None or new_months is None else months | new_months

    def per_part(f: pl.DataFrame) -> dict[int, int]:
        return dict(f.group_by(PART).len().iter_rows()) if f.height else {}

    written, updated, unchanged = per_part(write), per_part(changed), per_part(same)
    parts = set(frame[PART].unique().to_list()) | set(unchanged)
    counts = {
        p: (written.get(p, 0) - updated.get(p, 0), updated.get(p, 0), unchanged.get(p, 0))
        for p in parts
    }
    return counts, months


def _keys_blob(keys: pl.DataFrame) -> bytes:
    """Natural keys as compact Parquet (dictionary-encoded, LZ4): ~2 MB per 1M sign-ins."""
    buffer = io.BytesIO()
    keys.write_parquet(buffer, compression="lz4", statistics=False)
    return buffer.getvalue()


def _batch_keys(con: duckdb.DuckDBPyConnection, batch_id: int, kind: Kind) -> pl.DataFrame:
    """The keys of ``kind`` that batch ``batch_id`` wrote."""
    rows = _run(
        con, "SELECT keys FROM upload_keys WHERE batch_id = ? AND kind = ?", [batch_id, kind.name]
    )
    frames = [pl.read_parquet(io.BytesIO(r[0])) for r in rows]
    if frames:
        return pl.concat(frames)
    return pl.DataFrame(schema={k: pl.String for k in kind.key}).with_columns(
        [pl.col(k).cast(POLARS_TYPES[kind.column(k).dtype]) for k in kind.key]
    )


def _months(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    relation: str,
    today: date,
    batch_id: int | None = None,
) -> set[date] | None:
    """First days of the months whose facts rows of ``relation`` touch (None: roster).

    Reports touch every month from the one they were reported in to the one they were
    closed in (or today, while open): the open backlog at each of those month ends moves.
    """
    month = "CAST(date_trunc('month', {}) AS DATE)"
    if kind.name in ROSTER_KINDS:
        return None
    if kind.name == "activity":
        sql = f"SELECT DISTINCT {month.format('activity_date')} FROM {relation}"
    elif kind.name == "attendance":
        sql = (
            f"SELECT DISTINCT {month.format('a.activity_date')} FROM activity a "
            f"WHERE a.activity_id IN (SELECT activity_id FROM {relation})"
        )
    elif kind.name == "deduction":
        sql = f"SELECT DISTINCT {month.format('deduction_date')} FROM {relation}"
    elif kind.name == "report":
        end = (
            "coalesce(resolved_at, CASE WHEN status = '不予受理' THEN accepted_at END, "
            "CAST($today AS TIMESTAMP))"
        )
        sql = (
            "SELECT DISTINCT CAST(unnest(generate_series(s, greatest(s, e), INTERVAL 1 MONTH)) "
            "AS DATE) FROM (SELECT DISTINCT date_trunc('month', reported_at) AS s, "
            f"date_trunc('month', {end}) AS e FROM {relation})"
        )
    elif kind.name == "evaluation":
        sql = (
            "SELECT DISTINCT CAST(unnest(generate_series(s, s + INTERVAL 5 MONTH, "
            "INTERVAL 1 MONTH)) AS DATE) FROM (SELECT DISTINCT CAST(make_date("
            "CAST(substr(period, 1, 4) AS INTEGER), "
            "CASE WHEN period LIKE '%H1' THEN 1 ELSE 7 END, 1) AS TIMESTAMP) AS s "
            f"FROM {relation})"
        )
    else:  # pragma: no cover - every kind is listed above
        raise ValueError(kind.name)
    params = {
        name: value for name, value in (("today", today), ("batch", batch_id)) if f"${name}" in sql
    }
    return {row[0] for row in _run(con, sql, params) if row[0] is not None}


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
        _run(
            con,
            "INSERT INTO upload (upload_id, batch_id, file_name, sheet, sha256, kind, "
            "rows_in_file, rows_inserted, rows_updated, rows_unchanged, user_name, uploaded_at, "
            "status) VALUES ($upload_id, $batch_id, $file_name, $sheet, $sha256, $kind, "
            "$rows_in_file, $rows_inserted, $rows_updated, $rows_unchanged, $user_name, "
            "$uploaded_at, 'loaded')",
            record.as_dict(),
        )
        records.append(record)
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
) -> LoadResult:
    """Validate and commit in one call (under the write lock).

    Raises :class:`UploadRejected` (with the report) when any file has an error.
    """
    with _WRITE_LOCK:
        result = validate_uploads(con, files, today=today, progress=progress)
        if not result.ok:
            raise UploadRejected(result)
        records = commit_uploads(
            con,
            result,
            user,
            dry_run=dry_run,
            refresh_rollups=refresh_rollups,
            progress=progress,
        )
    return LoadResult(result, records, dry_run)


def load_paths(
    con: duckdb.DuckDBPyConnection, paths: Iterable[str | Path], user: str, **options
) -> LoadResult:
    """:func:`load_uploads` for files on disk (names in reports are the file names)."""
    files = [(Path(p).name, Path(p).read_bytes()) for p in paths]
    return load_uploads(con, files, user, **options)


# ----------------------------------------------------------------- history


STATUS_LABELS = {"loaded": "已载入", "undone": "已撤销"}


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
        rows = _run(con, "SELECT batch_id, status FROM upload WHERE upload_id = ?", [upload_id])
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
        kinds = [KINDS[k] for k in LOAD_ORDER if any(f[2] == k for f in files)]
        _refuse_if_replaced_later(con, batch_id, kinds)
        _run(con, "BEGIN TRANSACTION")
        try:
            removed, restored, months = _undo_rows(con, batch_id, kinds)
            _run(
                con,
                "UPDATE upload SET status = 'undone', undone_at = ?, undone_by = ? "
                "WHERE batch_id = ?",
                [now_local(), user, batch_id],
            )
            _refresh_rollups(con, None if months is None else sorted(months))
            bump_data_version(con)
            _run(con, "COMMIT")
        except BaseException:
            _rollback(con)
            raise
    return UndoResult(batch_id, [f[0] for f in files], [f[1] for f in files], removed, restored)


def _describe_batches(con: duckdb.DuckDBPyConnection, batches: list[int]) -> str:
    rows = con.execute(
        "SELECT batch_id, string_agg(file_name, '、' ORDER BY upload_id), any_value(user_name), "
        "strftime(min(uploaded_at), '%Y-%m-%d %H:%M') FROM upload "
        "WHERE batch_id IN (SELECT unnest(?)) GROUP BY batch_id ORDER BY batch_id",
        [batches],
    ).fetchall()
    return "；".join(f"第 {b} 次（{names}，{who}，{when}）" for b, names, who, when in rows)


def _refuse_if_replaced_later(
    con: duckdb.DuckDBPyConnection, batch_id: int, kinds: list[Kind]
) -> None:
    """Refuse when a later, live batch wrote any key this batch wrote."""
    later: set[int] = set()
    for kind in kinds:
        mine = _batch_keys(con, batch_id, kind)
        if mine.is_empty():
            continue
        others = _run(
            con,
            "SELECT batch_id, keys FROM upload_keys WHERE kind = ? AND batch_id > ?",
            [kind.name, batch_id],
        )
        for other, blob in others:
            theirs = pl.read_parquet(io.BytesIO(blob))
            if not mine.join(theirs, on=list(kind.key), how="semi").is_empty():
                later.add(other)
    if later:
        newest = max(later)
        raise UndoRefused(
            f"无法撤销第 {batch_id} 次上传：之后的上传修改了其中的数据——"
            f"{_describe_batches(con, sorted(later))}。"
            f"请按从新到旧的顺序撤销，先撤销第 {newest} 次上传。"
        )


def _undo_rows(
    con: duckdb.DuckDBPyConnection, batch_id: int, kinds: list[Kind]
) -> tuple[dict[str, int], dict[str, int], set[date] | None]:
    """Inside the transaction: delete the batch's rows, restore the replaced ones."""
    today = today_local()
    removed: dict[str, int] = {}
    restored: dict[str, int] = {}
    months: set[date] | None = set()
    added: dict[str, pl.Series] = {}
    parents = {t for r in REFERENCES for t in r.targets}
    for kind in reversed(kinds):  # children first: their months need the parents' dates
        prior = prior_table(kind)
        mine = _batch_keys(con, batch_id, kind)
        con.register("_keys", mine)
        try:
            match = _key_match(kind, "t", "k")
            if kind.name in parents:
                key = kind.key[0]
                replaced = con.sql(
                    f"SELECT {key} FROM {prior} WHERE batch_id = ?", params=[batch_id]
                ).pl()[key]
                added[kind.name] = mine[key].filter(~mine[key].is_in(replaced.implode()))
            current = f"(SELECT t.* FROM {kind.table} t WHERE EXISTS (FROM _keys k WHERE {match}))"
            old = f"(SELECT * FROM {prior} WHERE batch_id = $batch)"
            for relation in (current, old):
                found = _months(con, kind, relation, today, batch_id)
                months = None if months is None or found is None else months | found
            removed[kind.name] = _run(
                con, f"DELETE FROM {kind.table} t USING _keys k WHERE {match}"
            )[0][0]
        finally:
            con.unregister("_keys")
        cols = ", ".join(kind.names)
        restored[kind.name] = _run(
            con,
            f"INSERT INTO {kind.table} ({cols}) SELECT {cols} FROM {prior} WHERE batch_id = ?",
            [batch_id],
        )[0][0]
        _run(con, f"DELETE FROM {prior} WHERE batch_id = ?", [batch_id])
    _run(con, "DELETE FROM upload_keys WHERE batch_id = ?", [batch_id])
    _refuse_if_still_referenced(con, batch_id, added)
    return removed, restored, months


def _holders(con: duckdb.DuckDBPyConnection, kind: Kind, rows: pl.DataFrame) -> list[int]:
    """The live batches whose keys include any of ``rows`` (key columns of ``kind``)."""
    found = []
    for other, blob in _run(
        con, "SELECT batch_id, keys FROM upload_keys WHERE kind = ? ORDER BY 1", [kind.name]
    ):
        theirs = pl.read_parquet(io.BytesIO(blob))
        if not rows.join(theirs, on=list(kind.key), how="semi").is_empty():
            found.append(other)
    return found


def _refuse_if_still_referenced(
    con: duckdb.DuckDBPyConnection, batch_id: int, added: dict[str, pl.Series]
) -> None:
    """After the deletes: rows of other uploads must not refer to ids the batch added."""
    for ref in REFERENCES:
        gone = [added[t] for t in ref.targets if t in added and added[t].len()]
        if not gone:
            continue
        child = KINDS[ref.kind]
        con.register("_gone", pl.concat(gone).rename("v").to_frame())
        try:
            dangling = con.sql(
                f"SELECT {', '.join(child.key)}, {ref.column} AS _ref FROM {child.table} "
                f"WHERE {ref.column} IN (SELECT v FROM _gone)"
            ).pl()
        finally:
            con.unregister("_gone")
        if dangling.is_empty():
            continue
        holders = _holders(con, child, dangling.select(child.key))
        header = child.column(ref.column).header
        where = (
            f"它们来自{_describe_batches(con, holders)}。请先撤销这些上传"
            if holders
            else "请先更正或删除这些行"
        )
        raise UndoRefused(
            f"无法撤销第 {batch_id} 次上传：{child.label}中还有 {dangling.height} 行的{header}"
            f"引用了本次上传新增的编号（如 {dangling['_ref'].min()}），{where}。"
        )
