"""阵地: how the 14 村居党群服务站 and the 党群服务点 are used, per place and month
(docs/metrics.md, 阵地与志愿者).

An activity is held at the place its 活动地点编号 names; its participants are its
sign-ins with status 出席. A place is *idle* in a month in which its village logged
activities but fewer than ``min_activities_per_month`` (procedures.toml) were held
there — a month the village uploaded nothing says nothing about its places.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.batch_cache import fetch_once
from metrics.duty_facts import PRESENT
from metrics.filters import Filter
from metrics.procedure_config import ProcedureConfig, procedure_config
from metrics.scope import scoped
from metrics.study_procedure import ACTIVE_MONTHS

MONTH = "CAST(date_trunc('month', a.activity_date) AS DATE)"

PLACES = """SELECT p.place_id, p.name, p.kind, p.village_id, v.name AS village_name
FROM service_point p JOIN village v ON v.village_id = p.village_id
WHERE $village IS NULL OR p.village_id = $village
ORDER BY p.village_id, p.kind DESC, p.place_id"""

PLACE_MONTHS = f"""SELECT a.place_id, {MONTH} AS month, count(DISTINCT a.activity_id) AS activities,
    count(t.person_id) AS participants
FROM activity a
LEFT JOIN attendance t ON t.activity_id = a.activity_id AND t.status = $present
WHERE a.place_id IS NOT NULL AND a.activity_date >= $since AND a.activity_date < $until
  AND ($village IS NULL OR a.village_id = $village)
GROUP BY ALL"""

LAST_USED = """SELECT place_id, max(activity_date) AS last_used FROM activity
WHERE place_id IS NOT NULL AND activity_date < $until
  AND ($village IS NULL OR village_id = $village)
GROUP BY place_id"""


def _get(con: duckdb.DuckDBPyConnection, f: Filter, sql: str) -> pl.DataFrame:
    values = {
        "since": f.start,
        "until": f.end_exclusive,
        "village": f.village_id,
        "present": PRESENT,
    }
    bound = {k: v for k, v in values.items() if f"${k}" in sql}
    return fetch_once(sql, bound, lambda s, v: con.sql(s, params=v).pl())


@scoped
def place_months(
    con: duckdb.DuckDBPyConnection, f: Filter, config: ProcedureConfig | None = None
) -> pl.DataFrame:
    """One row per place and month its village logged activities in: place_id, name,
    kind, village_id, village_name, month, activities, participants, idle."""
    minimum = (config or procedure_config()).min_activities_per_month
    places = _get(con, f, PLACES)
    months = places.join(_get(con, f, ACTIVE_MONTHS), on="village_id")
    used = _get(con, f, PLACE_MONTHS)
    return (
        months.join(used, on=["place_id", "month"], how="left")
        .with_columns(
            pl.col("activities").fill_null(0).cast(pl.Int64),
            pl.col("participants").fill_null(0).cast(pl.Int64),
        )
        .with_columns((pl.col("activities") < minimum).alias("idle"))
        .sort("village_id", "place_id", "month")
    )


@scoped
def place_usage(
    con: duckdb.DuckDBPyConnection, f: Filter, config: ProcedureConfig | None = None
) -> pl.DataFrame:
    """Per place over the range (the CLI's ``places``): place_id, name, kind,
    village_id, village_name, activities, participants, months, idle_months,
    last_used (its last activity up to the range's end; empty if none)."""
    per_month = place_months(con, f, config)
    totals = per_month.group_by("place_id").agg(
        pl.col("activities").sum(),
        pl.col("participants").sum(),
        pl.len().cast(pl.Int64).alias("months"),
        pl.col("idle").sum().cast(pl.Int64).alias("idle_months"),
    )
    places = _get(con, f, PLACES)
    return (
        places.join(totals, on="place_id", how="left")
        .join(_get(con, f, LAST_USED), on="place_id", how="left")
        .with_columns(
            pl.col(c).fill_null(0) for c in ("activities", "participants", "months", "idle_months")
        )
    )
