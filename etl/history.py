"""The upload history: each loaded table recorded in ``upload``, and listed for display.

One row per table (a CSV, or one sheet of a workbook); the tables loaded together
share a ``batch_id``, the unit of undo (:mod:`etl.undo`).
"""

from __future__ import annotations

import duckdb
import polars as pl

from etl.schema import ensure_upload_schema
from etl.upload_results import UploadRecord, ValidationResult
from store import audit
from store.clock import now_local
from store.contracts import KINDS
from store.database import run_sql

STATUS_LABELS = {"loaded": "已载入", "undone": "已撤销"}
# Uploads recorded in ``upload`` by other writers (etl.boundaries), which undo refuses.
FOREIGN_LABELS = {"boundary": "地图边界文件"}


def record_uploads(
    con: duckdb.DuckDBPyConnection,
    result: ValidationResult,
    counts: dict[int, tuple[int, int, int]],
    batch_id: int,
    user: str,
) -> list[UploadRecord]:
    """Inside the write's transaction: one ``upload`` row per table written (and the
    audit line of the batch); fills in the summaries' upload ids and counts."""
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


# The history's columns: ``upload`` column → the Chinese name shown.
HISTORY_COLUMNS = {
    "upload_id": "上传编号",
    "batch_id": "批次",
    "file_name": "文件",
    "sheet": "工作表",
    "kind": "类型",
    "rows_in_file": "行数",
    "rows_inserted": "新增",
    "rows_updated": "更新",
    "unchanged": "未变",
    "user_name": "用户",
    "uploaded_at": "上传时间",
    "status": "状态",
    "undone_at": "撤销时间",
    "undone_by": "撤销人",
}


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
    kinds = {k.name: k.label for k in KINDS.values()}
    frame = frame.with_columns(
        pl.col("kind").replace_strict(kinds, default=pl.col("kind")),
        pl.col("status").replace_strict(STATUS_LABELS, default=pl.col("status")),
    )
    return frame.select(pl.col(c).alias(label) for c, label in HISTORY_COLUMNS.items())
