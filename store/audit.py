"""The audit log: who signed in, uploaded, undid or exported what, and when.

Every layer writes to it (sign-in, uploads, exports, user changes), so it lives on
the ground floor. Each entry is its own small statement, or part of the caller's
transaction (uploads and undos are audited inside theirs); a failure to audit is
raised, never swallowed.
"""

from __future__ import annotations

import duckdb
import polars as pl

from store.clock import now_local

AUDIT_DDL = """
CREATE TABLE IF NOT EXISTS audit_log (
    logged_at TIMESTAMP NOT NULL,
    user_name VARCHAR NOT NULL,
    action    VARCHAR NOT NULL,
    detail    VARCHAR
)
"""

ACTIONS = {
    "sign_in": "登录",
    "sign_in_failed": "登录失败",
    "sign_out": "退出",
    "upload": "上传",
    "undo": "撤销上传",
    "zero_report": "零报告",
    "export": "导出",
    "boundary": "更新边界",
    "user_change": "用户变更",
}


def record(con: duckdb.DuckDBPyConnection, user: str, action: str, detail: str = "") -> None:
    """Append one entry (local time)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    con.execute(AUDIT_DDL)
    con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?)", [now_local(), user, action, detail])


def entries(con: duckdb.DuckDBPyConnection, limit: int = 500) -> pl.DataFrame:
    """The newest entries first, with Chinese column names and action labels."""
    con.execute(AUDIT_DDL)
    frame = con.sql(
        "SELECT logged_at, user_name, action, detail FROM audit_log "
        "ORDER BY logged_at DESC LIMIT ?",
        params=[limit],
    ).pl()
    return frame.select(
        pl.col("logged_at").alias("时间"),
        pl.col("user_name").alias("用户"),
        pl.col("action").replace_strict(ACTIONS, default=pl.col("action")).alias("操作"),
        pl.col("detail").alias("内容"),
    )
