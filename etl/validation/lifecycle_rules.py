"""The rules of a 民情 report's lifecycle: steps in order, none without the one before,
and a status that agrees with the steps filled in (see docs/loading.md)."""

from __future__ import annotations

import polars as pl

from etl.validation.findings import Rule

# The steps of a report's life, in order (上报, 受理, 核实, 反馈, 办结).
REPORT_STEPS = ("reported_at", "accepted_at", "verified_at", "escalated_at", "resolved_at")


def _minutes(value: pl.Expr) -> pl.Expr:
    """A timestamp as quoted in a reason: ``2026-10-05 14:30``."""
    return value.dt.strftime("%Y-%m-%d %H:%M")


def lifecycle_rules() -> list[Rule]:
    """The rules of a report's lifecycle steps and status (reports only)."""
    r, a, v, e, d = (pl.col(c) for c in REPORT_STEPS)
    status, sat = pl.col("status"), pl.col("satisfaction")
    before_resolve = pl.coalesce(e, v)
    rules = [
        Rule("accepted_at", a < r, pl.format("受理时间早于上报时间（{}）", _minutes(r))),
        Rule("verified_at", v < a, pl.format("核实时间早于受理时间（{}）", _minutes(a))),
        Rule("verified_at", v.is_not_null() & a.is_null(), "有核实时间但没有受理时间"),
        Rule("escalated_at", e < v, pl.format("反馈时间早于核实时间（{}）", _minutes(v))),
        Rule("escalated_at", e.is_not_null() & v.is_null(), "有反馈时间但没有核实时间"),
        Rule(
            "resolved_at",
            d < before_resolve,
            pl.format(
                "办结时间早于{}（{}）",
                pl.when(e.is_not_null()).then(pl.lit("反馈时间")).otherwise(pl.lit("核实时间")),
                _minutes(before_resolve),
            ),
        ),
        Rule("resolved_at", d.is_not_null() & v.is_null(), "有办结时间但没有核实时间"),
        Rule(
            "status",
            (status == "待受理") & a.is_not_null(),
            "办理状态为「待受理」，但填写了受理时间",
        ),
        Rule("status", (status == "处理中") & a.is_null(), "办理状态为「处理中」，但没有受理时间"),
        Rule(
            "status",
            (status == "处理中") & d.is_not_null(),
            "办理状态为「处理中」，但填写了办结时间",
        ),
        Rule("status", (status == "已办结") & d.is_null(), "办理状态为「已办结」，但没有办结时间"),
        Rule(
            "status",
            (status == "不予受理") & a.is_null(),
            "办理状态为「不予受理」，应在受理时间中填写不予受理的时间",
        ),
        Rule(
            "status",
            (status == "不予受理") & (v.is_not_null() | e.is_not_null() | d.is_not_null()),
            "办理状态为「不予受理」，不应有核实、反馈或办结时间",
        ),
        Rule(
            "satisfaction", (status == "已办结") & sat.is_null(), "已办结的事项应填写满意度（1–5）"
        ),
        Rule(
            "satisfaction",
            sat.is_not_null() & status.is_not_null() & (status != "已办结"),
            "未办结的事项不应有满意度",
        ),
    ]
    # A rule over an optional column the file lacks (all null) never fires.
    return rules
