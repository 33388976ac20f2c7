"""零报告: the office declares that a village had nothing of a kind to report in a month.

A declared unit (village, month, kind; :mod:`store.reporting_units`) counts as
reported (报送情况 shows 零报告) although it has no rows. A declaration is refused when
the unit has rows (they are the report), when it is already declared, for a month
after the current one, or for an unknown village or kind; withdrawing one (``undo``)
is refused when it is not declared. Each call is all-or-nothing over its kinds, runs
under the write lock in one transaction with its audit entry, and bumps the data
version so that every page recomputes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from etl.schema import bump_data_version, ensure_upload_schema
from etl.write_access import WRITE_LOCK
from store import audit
from store.clock import now_local, today_local
from store.contracts import KINDS
from store.database import run_sql, transaction
from store.months import add_months, month_key_expr, month_label
from store.reporting_units import UNIT_KIND_LABELS, UNIT_KINDS, ZERO_REPORT_TABLE, units_select


class ZeroReportRefused(Exception):
    """A declaration or withdrawal that cannot be made; the message says why (Chinese)."""


@dataclass(frozen=True)
class ZeroReportChange:
    """What a declaration or withdrawal did: the unit's village and month, its kinds."""

    village_id: str
    village_name: str
    month: date
    kinds: tuple[str, ...]

    def describe(self) -> str:
        """'沙积村 2026年11月 活动、出勤' (for messages and the audit log)."""
        kinds = "、".join(UNIT_KIND_LABELS[k] for k in self.kinds)
        return f"{self.village_name} {month_label(self.month)} {kinds}"


def _checked(
    con: duckdb.DuckDBPyConnection, village_id: str, month: date, kinds: Sequence[str]
) -> ZeroReportChange:
    """The unit asked for, or :class:`ZeroReportRefused` naming what is wrong."""
    unknown = [k for k in kinds if k not in UNIT_KINDS]
    if unknown or not kinds:
        names = "、".join(f"{k}（{UNIT_KIND_LABELS[k]}）" for k in UNIT_KINDS)
        shown = "、".join(map(str, unknown)) or "（未选择）"
        raise ZeroReportRefused(f"数据类别 {shown} 无效，应为 {names} 之一")
    found = run_sql(con, "SELECT name FROM village WHERE village_id = ?", [village_id])
    if not found:
        raise ZeroReportRefused(f"没有编号为 {village_id} 的村居")
    month = date(month.year, month.month, 1)
    if month > today_local().replace(day=1):
        raise ZeroReportRefused(f"{month_label(month)}尚未到来，不能声明零报告")
    ordered = tuple(k for k in UNIT_KINDS if k in kinds)
    return ZeroReportChange(village_id, found[0][0], month, ordered)


def _rows_of(con: duckdb.DuckDBPyConnection, unit: ZeroReportChange, kind: str) -> int:
    """How many stored rows of ``kind`` belong to the unit."""
    sql = units_select(kind, KINDS[kind].table, in_months=True)
    found = run_sql(
        con,
        f"SELECT coalesce(sum(n_rows), 0) FROM ({sql}) WHERE village_id = $village",
        {
            "village": unit.village_id,
            "first_month": unit.month,
            "after_month": add_months(unit.month, 1),
        },
    )
    return int(found[0][0])


def _declared(con: duckdb.DuckDBPyConnection, unit: ZeroReportChange) -> set[str]:
    rows = run_sql(
        con,
        f"SELECT kind FROM {ZERO_REPORT_TABLE} WHERE village_id = ? AND month = ?",
        [unit.village_id, unit.month],
    )
    return {r[0] for r in rows}


def declare_zero_report(
    con: duckdb.DuckDBPyConnection,
    village_id: str,
    month: date,
    kinds: Sequence[str],
    user: str,
    note: str | None = None,
) -> ZeroReportChange:
    """Declare 零报告 for ``kinds`` of a village's month, all or none.

    Raises :class:`ZeroReportRefused` (nothing written) when a kind of the unit has
    rows or is already declared, or the village, month or a kind is invalid.
    """
    with WRITE_LOCK:
        ensure_upload_schema(con)
        unit = _checked(con, village_id, month, kinds)
        with transaction(con):
            with_rows = {k: n for k in unit.kinds if (n := _rows_of(con, unit, k))}
            if with_rows:
                rows = "、".join(f"{UNIT_KIND_LABELS[k]} {n} 行" for k, n in with_rows.items())
                raise ZeroReportRefused(
                    f"{unit.village_name} {month_label(unit.month)} 已有数据（{rows}），"
                    "不能声明零报告；未作任何修改"
                )
            again = [k for k in unit.kinds if k in _declared(con, unit)]
            if again:
                kinds_text = "、".join(UNIT_KIND_LABELS[k] for k in again)
                raise ZeroReportRefused(
                    f"{unit.village_name} {month_label(unit.month)} 的{kinds_text}"
                    "已声明过零报告；未作任何修改"
                )
            declared_at = now_local()
            for kind in unit.kinds:
                run_sql(
                    con,
                    f"INSERT INTO {ZERO_REPORT_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
                    [unit.village_id, unit.month, kind, user, declared_at, note or None],
                )
            bump_data_version(con)
            audit.record(con, user, "zero_report", f"声明零报告：{unit.describe()}")
    return unit


def withdraw_zero_report(
    con: duckdb.DuckDBPyConnection, village_id: str, month: date, kinds: Sequence[str], user: str
) -> ZeroReportChange:
    """Withdraw the 零报告 of ``kinds`` of a village's month, all or none
    (:class:`ZeroReportRefused` when one of them is not declared)."""
    with WRITE_LOCK:
        ensure_upload_schema(con)
        unit = _checked(con, village_id, month, kinds)
        with transaction(con):
            missing = [k for k in unit.kinds if k not in _declared(con, unit)]
            if missing:
                kinds_text = "、".join(UNIT_KIND_LABELS[k] for k in missing)
                raise ZeroReportRefused(
                    f"{unit.village_name} {month_label(unit.month)} 的{kinds_text}"
                    "没有零报告声明，无需撤销；未作任何修改"
                )
            run_sql(
                con,
                f"DELETE FROM {ZERO_REPORT_TABLE} WHERE village_id = ? AND month = ? "
                "AND kind IN (SELECT unnest(?))",
                [unit.village_id, unit.month, list(unit.kinds)],
            )
            bump_data_version(con)
            audit.record(con, user, "zero_report", f"撤销零报告：{unit.describe()}")
    return unit


# The declarations' columns: ``zero_report`` column → the Chinese name shown.
DECLARATION_COLUMNS = {
    "village_name": "村居",
    "month_text": "月份",
    "kind_label": "数据类别",
    "declared_by": "声明人",
    "declared_at": "声明时间",
    "note": "说明",
}


def zero_report_list(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every declaration, newest month first, with Chinese column names for display
    (村居, 月份, 数据类别, 声明人, 声明时间, 说明) plus ``village_id``, ``month`` and
    ``kind`` for the page's withdraw form."""
    ensure_upload_schema(con)
    frame = con.sql(
        f"SELECT z.village_id, z.month, z.kind, v.name AS village_name, z.declared_by, "
        f"z.declared_at, z.note FROM {ZERO_REPORT_TABLE} z "
        "JOIN village v USING (village_id) ORDER BY z.month DESC, z.village_id, z.kind"
    ).pl()
    frame = frame.with_columns(
        month_text=month_key_expr("month"),
        kind_label=pl.col("kind").replace_strict(UNIT_KIND_LABELS, return_dtype=pl.String),
    )
    shown = [pl.col(c).alias(label) for c, label in DECLARATION_COLUMNS.items()]
    return frame.select("village_id", "month", "kind", *shown)
