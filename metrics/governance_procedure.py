"""乡村治理, the 程序清单's third procedure: 网格员/志愿者提供线索 → 子网格长受理核实 →
反馈总网格长 → 每月网格工作例会集中讨论 → 定时定人定责办结 (docs/metrics.md, 程序清单).

The reports *reported* in the range are followed step by step as they stood at the
range's end (a step dated after it is not reached yet). ``median_days`` of a step is
the median wait from the step before (办结: from 上报); ``overdue`` counts the reports
that took longer than the step's limit (procedures.toml) or have been waiting longer
than it at the range's end. 办结 is judged per 办理层级 (子网格 / 总网格 / 镇), each with
its own limit; a 不予受理 report ends at 受理. 核实 has no limit (``overdue`` empty).
The 例会 step is the meeting recorded on the report (例会编号), dated by its activity.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import polars as pl

from metrics.batch_cache import fetch_once
from metrics.decision_procedure import STAGE_SCHEMA
from metrics.filters import Filter
from metrics.procedure_config import ProcedureConfig, procedure_config
from metrics.scope import scoped

PROCEDURE = "乡村治理"
REFUSED = "不予受理"

# The steps as they stood at the range's end ($until): later timestamps are not reached.
REPORTS = """SELECT r.report_id, r.subgrid_id, s.name AS subgrid_name, s.village_id,
    v.name AS village_name, r.category, r.summary, r.status AS report_status,
    CASE WHEN r.resolved_at < $until THEN '已办结'
         WHEN r.accepted_at < $until AND r.status = '不予受理' THEN '不予受理'
         WHEN r.accepted_at < $until THEN '处理中' ELSE '待受理' END AS status_at_end,
    r.handling_level, r.reported_at,
    CASE WHEN r.accepted_at < $until THEN r.accepted_at END AS accepted_at,
    CASE WHEN r.verified_at < $until THEN r.verified_at END AS verified_at,
    CASE WHEN r.escalated_at < $until THEN r.escalated_at END AS escalated_at,
    CASE WHEN a.activity_date < $until THEN CAST(a.activity_date AS TIMESTAMP) END AS discussed_at,
    CASE WHEN a.activity_date < $until THEN r.meeting_id END AS meeting_id,
    CASE WHEN r.resolved_at < $until THEN r.resolved_at END AS resolved_at
FROM report r
JOIN subgrid s ON s.subgrid_id = r.subgrid_id
JOIN village v ON v.village_id = s.village_id
LEFT JOIN activity a ON a.activity_id = r.meeting_id
WHERE r.reported_at < $until AND ($village IS NULL OR s.village_id = $village)"""


def _reports(con: duckdb.DuckDBPyConnection, f: Filter) -> pl.DataFrame:
    values = {"until": f.end_exclusive, "village": f.village_id}
    return fetch_once(REPORTS, values, lambda sql, v: con.sql(sql, params=v).pl())


def _hours(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_seconds() / 3600


def _step(
    frame: pl.DataFrame, before: str, after: str, limit_h: float | None, end: datetime
) -> tuple[int, float | None, int | None]:
    """(reached, median days from ``before``, overdue) over the rows that reached
    ``before`` (all rows are candidates; ``frame`` is already narrowed)."""
    candidates = frame.filter(pl.col(before).is_not_null())
    reached = candidates.filter(pl.col(after).is_not_null())
    took = reached.select(_hours(pl.col(after), pl.col(before)))
    median = took.to_series().median()
    if limit_h is None:
        return reached.height, None if median is None else float(median) / 24, None
    waited = candidates.select(
        _hours(pl.coalesce(pl.col(after), pl.lit(end)), pl.col(before)) > limit_h
    ).to_series()
    return reached.height, None if median is None else float(median) / 24, int(waited.sum())


@scoped
def governance_steps(
    con: duckdb.DuckDBPyConnection, f: Filter, config: ProcedureConfig | None = None
) -> pl.DataFrame:
    """The steps of the reports reported in ``f``'s range: procedure, step, stage,
    items, median_days, overdue."""
    limits = (config or procedure_config()).governance
    end = datetime.combine(f.end_exclusive, datetime.min.time())
    reports = _reports(con, f).filter(pl.col("reported_at") >= f.start)
    live = reports.filter(pl.col("status_at_end") != REFUSED)
    rows = [(1, "线索上报", reports.height, None, None)]
    steps = (
        ("子网格长受理", reports, "reported_at", "accepted_at", limits.accept_within_hours),
        ("核实", live, "accepted_at", "verified_at", None),
        ("反馈总网格长", live, "verified_at", "escalated_at", limits.forward_within_hours),
        ("例会讨论", live, "escalated_at", "discussed_at", limits.discuss_within_days * 24),
    )
    for n, (label, frame, before, after, limit) in enumerate(steps, start=2):
        if label == "反馈总网格长":  # only the reports the sub-grid could not settle
            frame = frame.filter(pl.col("handling_level") != "子网格")
        rows.append((n, label, *_step(frame, before, after, limit, end)))
    for level, hours in limits.resolve_within_hours:
        at_level = live.filter(pl.col("handling_level") == level)
        rows.append(
            (
                len(rows) + 1,
                f"办结（{level}）",
                *_step(at_level, "reported_at", "resolved_at", hours, end),
            )
        )
    return pl.DataFrame(
        [(PROCEDURE, *r) for r in rows], schema=STAGE_SCHEMA, orient="row"
    ).with_columns(pl.col("median_days").round(2))


@scoped
def undiscussed_reports(
    con: duckdb.DuckDBPyConnection, f: Filter, config: ProcedureConfig | None = None
) -> pl.DataFrame:
    """Reports fed back to the 总网格长 in the range and not discussed at a 例会 by its
    end, the open ones first, each group longest waiting first: report_id, village_id,
    village_name, subgrid_name, category, summary, escalated_at, status_at_end,
    days_waiting, overdue."""
    limits = (config or procedure_config()).governance
    end = datetime.combine(f.end_exclusive, datetime.min.time())
    start = datetime.combine(f.start, datetime.min.time())
    waiting = _reports(con, f).filter(
        (pl.col("escalated_at") >= start) & pl.col("discussed_at").is_null()
    )
    days = (pl.lit(end - timedelta(seconds=1)) - pl.col("escalated_at")).dt.total_days()
    return (
        waiting.with_columns(days.alias("days_waiting"))
        .with_columns((pl.col("days_waiting") > limits.discuss_within_days).alias("overdue"))
        .select(
            "report_id",
            "village_id",
            "village_name",
            "subgrid_name",
            "category",
            "summary",
            "escalated_at",
            "status_at_end",
            "days_waiting",
            "overdue",
        )
        # Still open first (the ones a 例会 can still act on), then the longest wait.
        .sort(
            pl.col("status_at_end") == "已办结",
            "days_waiting",
            "report_id",
            descending=[False, True, False],
        )
    )
