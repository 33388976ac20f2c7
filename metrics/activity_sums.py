"""Activity and member sums per sub-grid and per village, per bucket: what 制度落实
(requirements due and met), 学习覆盖率 (members reached), 志愿服务 and 组织生活
attendance are computed from.

They are sums of the monthly rollups ``ru_subgrid_month`` and ``ru_village_month``
over the data months of each bucket (:func:`rollup_sums`). The definitions are in
docs/metrics.md (制度落实覆盖率, 学习覆盖率, 先锋指数 组织生活出勤).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from metrics.batch_cache import month_params, per_subgrid
from metrics.query_context import Context
from store.rollup_layout import TYPE_KEYS

# The activity and member sums that pool up from sub-grids to units (unit_totals).
ACTIVITY_SUMS = (
    "due",
    "met",
    "compliant",
    "member_months",
    "reached",
    "reached_home",
    "volunteer_members",
    "org_credit",
    "org_expected",
)


def rollup_sums(
    ctx: Context,
    table: str,
    keys: list[str],
    columns: dict[str, str],
    where: str,
    months: list[date],
    per_month: bool = False,
    **params,
) -> pl.DataFrame:
    """Per ``keys`` and bucket, the sums of ``columns`` (name: SQL expression over the
    rows ``r`` of ``table``, which has ``month``) over ``months``.

    Small scope: one row per key and month (a rollup row already is one: no
    aggregation in SQL), summed per bucket in Polars (not at all with ``per_month``:
    the rows, with ``grain``); large scope: summed per bucket in SQL."""
    if ctx.small_scope:
        exprs = ",\n    ".join(f"{expr} AS {name}" for name, expr in columns.items())
        sql = f"""SELECT {", ".join(f"r.{k}" for k in keys)}, r.month AS grain,
    {exprs}
FROM {table} r
WHERE r.month BETWEEN $m_first AND $m_last AND list_contains($months::DATE[], r.month)
  AND {where}"""
        rows = ctx.fetch_by_month(sql, months, **params, **ctx.subgrid_key_range)
        if per_month:
            return rows
        if ctx.bucket_mode == "month":  # one row per key and month already
            return rows.rename({"grain": "bucket"})
        return (
            rows.join(ctx.calendar, left_on="grain", right_on="month")
            .group_by(*keys, "bucket")
            .agg(pl.col(c).sum() for c in columns)
        )
    exprs = ",\n    ".join(f"sum({expr}) AS {name}" for name, expr in columns.items())
    bucket = ctx.bucket_sql("r.month")
    sql = f"""SELECT {", ".join(f"r.{k}" for k in keys)}, {bucket} AS bucket,
    {exprs}
FROM {table} r
WHERE r.month BETWEEN $m_first AND $m_last AND list_contains($months::DATE[], r.month)
  AND {where}
GROUP BY ALL"""
    return ctx.fetch(sql, **params, **ctx.subgrid_key_range, **month_params(months))


def requirement_columns(ctx: Context, level: str) -> dict[str, str]:
    """Per requirement ``i`` of a level: ``met_i`` (months it was met) and ``held_i``
    (activities of its type), for the 制度落实 matrix."""
    out = {}
    for i, r in enumerate(ctx.config.coverage.requirements):
        if r.level == level:
            k = TYPE_KEYS[r.activity_type]
            out[f"met_{i}"] = f"(r.held_{k} >= $req_{i})::BIGINT"
            out[f"held_{i}"] = f"r.held_{k}::BIGINT"
    return out


def requirement_terms(ctx: Context, level: str) -> tuple[list[str], dict[str, int]]:
    """SQL terms ``(held_k >= $req_i)::INTEGER`` of the requirements of a level, and the
    minimum counts they bind."""
    terms, values = [], {}
    for i, r in enumerate(ctx.config.coverage.requirements):
        if r.level == level:
            terms.append(f"(r.held_{TYPE_KEYS[r.activity_type]} >= $req_{i})::INTEGER")
            values[f"req_{i}"] = r.min_count
    return terms, values


def _subgrid_sum_columns(ctx: Context) -> tuple[dict[str, str], dict[str, object]]:
    """The columns :func:`subgrid_sums` sums (name: SQL over ``ru_subgrid_month`` rows
    ``r``) and the values they bind."""
    terms, values = requirement_terms(ctx, "subgrid")
    met = " + ".join(terms) or "0"
    va = ctx.config.vanguard
    keys = [TYPE_KEYS[t] for t in va.org_life_types]
    credit = " + ".join(
        f"$present_credit * r.present_{k} + $leave_credit * r.leave_{k}" for k in keys
    )
    held = " + ".join(f"r.held_{k}" for k in keys)
    columns = {
        "met": f"({met})::BIGINT",
        "compliant": f"({met} = $n_req)::BIGINT",
        "member_months": "r.members::BIGINT",
        "reached": "r.reached::BIGINT",
        "reached_home": "r.reached_home::BIGINT",
        "volunteer_members": "r.volunteer_members::BIGINT",
        "org_credit": f"({credit})::DOUBLE",
        "org_expected": f"(r.members * ({held}))::BIGINT",
        "held_org": f"({held})::BIGINT",  # 组织生活 due per member (先锋指数)
    }
    if ctx.small_scope:  # cheap here; read by the 制度落实 matrix
        columns |= requirement_columns(ctx, "subgrid")
    values |= {
        "n_req": len(terms),
        "present_credit": va.present_credit,
        "leave_credit": va.leave_credit,
    }
    return columns, values


def _subgrid_rollup_sums(ctx: Context, per_month: bool) -> tuple[dict[str, str], pl.DataFrame]:
    """The columns of :func:`_subgrid_sum_columns` and their :func:`rollup_sums` over
    ``ru_subgrid_month`` in scope and the span's data months."""
    columns, values = _subgrid_sum_columns(ctx)
    sums = rollup_sums(
        ctx,
        ctx.tables["ru_subgrid_month"],
        ["subgrid_key"],
        columns,
        ctx.subgrid_in_scope_sql("r.subgrid_key"),
        ctx.span_data_months,
        per_month=per_month,
        **values,
    )
    return columns, sums


@per_subgrid()
def subgrid_sums(ctx: Context) -> pl.DataFrame:
    """Sub-grid × bucket sums over the data months: ``months, due, met, compliant``
    (fully compliant months), ``member_months, reached, reached_home,
    volunteer_members, org_credit, org_expected, held_org`` and (small scope) per
    requirement ``met_i, held_i`` — every sub-grid in scope × every bucket with data."""
    columns, sums = _subgrid_rollup_sums(ctx, per_month=False)
    # A sub-grid without rollup rows (none after a full refresh) counts zeros.
    return (
        ctx.subgrids.select("subgrid_id", "subgrid_key", "village_id", "town_id")
        .join(ctx.months_per_bucket, how="cross")
        .join(sums, on=["subgrid_key", "bucket"], how="left")
        .with_columns(
            *[pl.col(c).fill_null(0).cast(pl.Int64) for c in columns if c != "org_credit"],
            pl.col("org_credit").fill_null(0.0).cast(pl.Float64),
            due=pl.col("months") * len(requirement_terms(ctx, "subgrid")[0]),
        )
    )


def subgrid_month_sums(ctx: Context) -> pl.DataFrame:
    """Small scope only: the :func:`subgrid_sums` columns per sub-grid and data month
    of the span (``subgrid_key, grain``; the rows it sums, from the same fetch)."""
    return _subgrid_rollup_sums(ctx, per_month=True)[1]


@per_subgrid("village_id")
def village_sums(ctx: Context) -> pl.DataFrame:
    """Village × bucket: village-level requirements ``due`` and ``met`` (and, small
    scope, per requirement ``met_i, held_i``)."""
    terms, values = requirement_terms(ctx, "village")
    frame = ctx.villages.select("village_id", "town_id").join(ctx.months_per_bucket, how="cross")
    if not terms:
        return frame.with_columns(due=pl.lit(0, pl.Int64), met=pl.lit(0, pl.Int64))
    columns = {"met": f"({' + '.join(terms)})::BIGINT"}
    if ctx.small_scope:
        columns |= requirement_columns(ctx, "village")
    sums = rollup_sums(
        ctx,
        ctx.tables["ru_village_month"],
        ["village_id"],
        columns,
        ctx.village_in_scope_sql("r.village_id"),
        ctx.span_data_months,
        **values,
    )
    return frame.join(sums, on=["village_id", "bucket"], how="left").with_columns(
        *[pl.col(c).fill_null(0).cast(pl.Int64) for c in columns],
        due=pl.col("months") * len(terms),
    )
