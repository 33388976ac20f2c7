"""报送情况 (completeness): has each village reported each kind of data for each month?

A *unit* is one village's rows of one kind (``activity``, ``attendance``, ``report``)
for one month (:mod:`store.reporting_units`). Its status (docs/metrics.md, 报送情况):

* **已报送** — the unit has rows, first uploaded by day ``deadline_day`` of the next
  month (data/config/completeness.toml), or rows whose first upload is not known
  (loaded before uploads were recorded, or by ``init`` with the generated sample all
  at one instant): counted as on time;
* **迟报** — it has rows, first uploaded after that day;
* **零报告** — no rows, and the office declared that there was nothing to report;
* **未报送** — none of these.

Only *due* months are judged: the months of the range in which at least one village
of the database has rows of any kind or a 零报告 declaration; a month nobody has
reported yet is not due (its units are absent, not 未报送). The first upload of a unit
is the earliest live (not undone) batch that wrote rows of it (``upload_unit``).

Unreported units carry no values in the other metrics: :func:`unreported_units` gives
them for a query context (cached per scope, like the other sources).
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from metrics.batch_cache import fetch_months_once, fetch_once, month_params, shared_in_scope
from metrics.config import Config, default_config
from metrics.filters import Filter
from metrics.query_context import Context
from metrics.scope import scoped, unscoped
from store.contracts import KINDS
from store.months import add_months, month_span, months_between
from store.reporting_units import (
    UNIT_KIND_LABELS,
    UNIT_KINDS,
    UPLOAD_UNIT_TABLE,
    ZERO_REPORT_TABLE,
    units_select,
)

STATUSES = ("已报送", "迟报", "零报告", "未报送")
REPORTED, LATE, ZERO, UNREPORTED = STATUSES
# ``python -m etl init`` loads the generated sample month by month at one instant:
# that instant says nothing about when a village reported.
SAMPLE_LOADER = "init"
SAMPLE_LOADER_LABEL = "系统初始化（示例数据）"

SCHEMA = {
    "village_id": pl.String,
    "village_name": pl.String,
    "month": pl.Date,
    "kind": pl.String,
    "status": pl.String,
    "first_upload_at": pl.Datetime("us"),
    "uploaded_by": pl.String,
    "rows": pl.Int64,
    "declared_by": pl.String,
    "declared_at": pl.Datetime("us"),
}
UNIT_KEY = ["village_id", "month", "kind"]

# Rows per unit of the months asked for, every village (a month is due when any
# village reported it, so the rows of the others count even for one village's view).
UNIT_ROWS = " UNION ALL ".join(
    f"SELECT *, '{kind}' AS kind FROM ({units_select(kind, KINDS[kind].table, True)})"
    for kind in UNIT_KINDS
)
# The first live batch of each unit: when and by whom (one ``upload`` row per table
# of a batch, all with the batch's time and user).
FIRST_UPLOADS = f"""
SELECT u.village_id, u.month, u.kind, min(b.uploaded_at) AS first_upload_at,
    arg_min(b.user_name, b.uploaded_at) AS uploaded_by
FROM {UPLOAD_UNIT_TABLE} u
JOIN (SELECT batch_id, min(uploaded_at) AS uploaded_at, any_value(user_name) AS user_name
      FROM upload WHERE status = 'loaded' GROUP BY batch_id) b ON b.batch_id = u.batch_id
WHERE u.month >= $first_month AND u.month < $after_month
  AND ($village IS NULL OR u.village_id = $village)
GROUP BY ALL
"""
DECLARATIONS = f"""
SELECT village_id, month, kind, declared_by, declared_at FROM {ZERO_REPORT_TABLE}
WHERE month >= $first_month AND month < $after_month
"""
VILLAGES = """
SELECT village_id, name AS village_name FROM village
WHERE $village IS NULL OR village_id = $village ORDER BY village_id
"""
TABLES_PRESENT = """
SELECT table_name FROM duckdb_tables()
WHERE schema_name = 'main' AND table_name IN ($upload_unit, $zero_report)
"""


def _runner(con: duckdb.DuckDBPyConnection):
    """Run a query on ``con`` once per batch (:func:`metrics.batch_cache.fetch_once`)."""

    def run(sql: str, values: dict) -> pl.DataFrame:
        return con.sql(sql, params=values).pl()

    return lambda sql, values: fetch_once(sql, values, run)


def _empty(*columns: str) -> pl.DataFrame:
    """No units, with the key and ``columns`` (a table an old database lacks)."""
    return pl.DataFrame(schema={k: SCHEMA[k] for k in (*UNIT_KEY, *columns)})


def _unit_rows(fetch, start: date, end: date) -> pl.DataFrame:
    """:data:`UNIT_ROWS` of the months from ``start``'s to ``end``'s, each month fetched
    once per batch (:func:`~metrics.batch_cache.fetch_months_once`): the contexts of one
    page span different ranges (the view, the one before, a 12-month trend), and
    counting a month's sign-ins joins them with their activities — 0.1–0.2 s a month
    at city scale, so a page paid it again for every range."""
    wanted = month_span(end, max(months_between(start, end), 0))

    def run(_sql: str, values: dict) -> pl.DataFrame:
        # The missing months as one range, then exactly those months (months between
        # them fetched before would otherwise come twice).
        span = {"first_month": values["m_first"], "after_month": values["m_after"]}
        return (
            fetch(UNIT_ROWS, span)
            .filter(pl.col("month").is_in(values["months"]))
            .with_columns(grain=pl.col("month"))
        )

    return fetch_months_once(UNIT_ROWS, month_params(wanted), wanted, run).drop("grain")


def _unit_statuses(fetch, start: date, end: date, village_id: str | None, config: Config):
    """The frame of :func:`completeness` (``fetch(sql, values)`` runs a query)."""
    months = {"first_month": start, "after_month": add_months(end, 1)}
    present = fetch(
        TABLES_PRESENT, {"upload_unit": UPLOAD_UNIT_TABLE, "zero_report": ZERO_REPORT_TABLE}
    )
    tables = set(present["table_name"].to_list())
    rows = _unit_rows(fetch, start, end)
    declared = (
        fetch(DECLARATIONS, months)
        if ZERO_REPORT_TABLE in tables
        else _empty("declared_by", "declared_at")
    )
    due = sorted(set(rows["month"].to_list()) | set(declared["month"].to_list()))
    villages = fetch(VILLAGES, {"village": village_id})
    if not due or villages.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    grid = villages.join(pl.DataFrame({"month": due}, schema={"month": pl.Date}), how="cross").join(
        pl.DataFrame({"kind": list(UNIT_KINDS)}), how="cross"
    )
    if UPLOAD_UNIT_TABLE in tables:
        firsts = fetch(FIRST_UPLOADS, {**months, "village": village_id})
    else:
        firsts = _empty("first_upload_at", "uploaded_by")
    frame = (
        grid.join(rows.rename({"n_rows": "rows"}), on=UNIT_KEY, how="left")
        .join(firsts, on=UNIT_KEY, how="left")
        .join(declared, on=UNIT_KEY, how="left")
        .with_columns(pl.col("rows").fill_null(0).cast(pl.Int64))
    )
    by_sample = pl.col("uploaded_by") == SAMPLE_LOADER
    frame = frame.with_columns(
        first_upload_at=pl.when(by_sample).then(None).otherwise(pl.col("first_upload_at")),
        uploaded_by=pl.when(by_sample).then(pl.lit(SAMPLE_LOADER_LABEL)).otherwise("uploaded_by"),
        # Late from 00:00 of the day after the deadline day of the next month.
        late_from=pl.col("month").dt.offset_by("1mo").cast(pl.Datetime("us"))
        + pl.duration(days=config.completeness.deadline_day),
    )
    has_rows = pl.col("rows") > 0
    frame = frame.with_columns(
        status=pl.when(has_rows & (pl.col("first_upload_at") >= pl.col("late_from")))
        .then(pl.lit(LATE))
        .when(has_rows)
        .then(pl.lit(REPORTED))
        .when(pl.col("declared_by").is_not_null())
        .then(pl.lit(ZERO))
        .otherwise(pl.lit(UNREPORTED)),
        # Without rows the upload record of a unit (e.g. rows since moved to another
        # month by a correction) says nothing.
        first_upload_at=pl.when(has_rows).then("first_upload_at"),
        uploaded_by=pl.when(has_rows).then("uploaded_by"),
        declared_by=pl.when(~has_rows).then("declared_by"),
        declared_at=pl.when(~has_rows).then("declared_at"),
    )
    order = {kind: i for i, kind in enumerate(UNIT_KINDS)}
    return (
        frame.with_columns(_kind_order=pl.col("kind").replace_strict(order, return_dtype=pl.Int64))
        .sort("village_id", "month", "_kind_order")
        .select(list(SCHEMA))
        .cast(SCHEMA)
    )


@scoped
def completeness(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    village_id: str | None = None,
    config: Config | None = None,
) -> pl.DataFrame:
    """The status of every (village, due month, kind) unit from ``start``'s month to
    ``end``'s (optionally one village).

    Columns: ``village_id, village_name, month`` (first day), ``kind`` (activity,
    attendance, report), ``status`` (已报送, 迟报, 零报告, 未报送), ``first_upload_at``
    and ``uploaded_by`` (the unit's first live upload; null when it has no rows or
    the time is not known), ``rows`` (stored rows of the unit), ``declared_by`` and
    ``declared_at`` (the 零报告 declaration of a unit without rows).
    """
    months = Filter(start, end)  # first days; a start after the end is refused
    return _unit_statuses(
        _runner(con), months.start, months.end, village_id, config or default_config()
    )


@unscoped  # the context's filter is already the caller's scope
@shared_in_scope
def unreported_units(ctx: Context) -> pl.DataFrame:
    """``village_id, month, kind``: the 未报送 units of the context's whole span (the
    previous range too, for compare contexts) and village; once per scope."""
    months = ctx.span_months
    frame = _unit_statuses(
        lambda sql, values: ctx.fetch(sql, **values),
        months[0],
        months[-1],
        ctx.filter.village_id,
        ctx.config,
    )
    return frame.filter(pl.col("status") == UNREPORTED).select(UNIT_KEY)


@scoped
def unreported_summary(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    village_id: str | None = None,
    config: Config | None = None,
) -> list[tuple[str, date, tuple[str, ...]]]:
    """The 未报送 units of the range as ``(village_name, month, kind labels)``, one
    per village and month, latest month first (for the banner: "2026年11月 沙积村
    未报送 活动、出勤")."""
    frame = completeness(con, start, end, village_id, config).filter(pl.col("status") == UNREPORTED)
    out = []
    grouped = frame.group_by("month", "village_id", "village_name", maintain_order=True).agg("kind")
    for month, _, name, kinds in grouped.sort(
        "month", "village_id", descending=[True, False]
    ).iter_rows():
        out.append((name, month, tuple(UNIT_KIND_LABELS[k] for k in kinds)))
    return out


@scoped
def completeness_records(
    con: duckdb.DuckDBPyConnection, f: Filter, config: Config | None = None
) -> pl.DataFrame:
    """The CLI's rows (``python -m metrics completeness``): the units of ``f``'s range
    and village, ``first_upload_at`` as ISO text (``YYYY-MM-DDTHH:MM:SS``)."""
    frame = completeness(con, f.start, f.end, f.village_id, config)
    return frame.with_columns(
        pl.col("first_upload_at").dt.strftime("%Y-%m-%dT%H:%M:%S"),
    )


@unscoped
def status_counts(frame: pl.DataFrame) -> dict[str, int]:
    """How many units of a :func:`completeness` frame have each status."""
    counts = dict(frame.group_by("status").len().iter_rows())
    return {status: counts.get(status, 0) for status in STATUSES}


@unscoped
def method_text(config: Config | None = None) -> str:
    """How 报送情况 is decided, in Chinese (the page's 口径说明)."""
    day = (config or default_config()).completeness.deadline_day
    return (
        "报送单元：每个村居每个月的活动台账（活动）、签到记录（出勤）、民情民意台账（民情）"
        "各为一个单元。活动按活动日期、出勤按所属活动的日期、民情按上报时间计入月份。\n\n"
        f"- **已报送**：该单元有数据，且首次上传不晚于次月 {day} 日（含当天）；"
        "早于上传记录或由系统初始化载入的示例数据，上传时间不详，视为按时。\n"
        f"- **迟报**：有数据，但首次上传晚于次月 {day} 日。\n"
        "- **零报告**：没有数据，镇办已在“数据上传”页登记该村居当月确无此类数据。\n"
        "- **未报送**：没有数据，也没有零报告登记。\n\n"
        "只统计“应报月份”：所选范围内至少有一个村居已报送（或登记零报告）的月份；"
        "尚无任何村居报送的月份不计。撤销的上传不再计入。"
        "未报送单元在各项指标中不计数值、不排名、不评星，也不计入全镇平均。"
        f"报送截止日（次月 {day} 日）由系统配置规定。"
    )
