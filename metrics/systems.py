"""The 制度清单's systems judged per quarter or half-year (procedures.toml ``system``;
the monthly ones are 制度落实, :mod:`metrics.coverage`): 党员议事会 each quarter, the
half-year 子网格考评 (docs/metrics.md, 制度清单).

A system is due once per unit of its level for each period whose last month lies in
the range (:func:`metrics.duty_periods.periods_in`: a quarter is judged when it
closes). ``activity`` systems are met by ``min_count`` activities of the type in the
period (a sub-grid's own, or any of a village's); ``review`` systems by a 上级考评 of
the unit's 堡垒指数 for the half-year.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.batch_cache import fetch_once
from metrics.duty_periods import periods_in
from metrics.filters import Filter
from metrics.procedure_config import ProcedureConfig, System, procedure_config
from metrics.scope import scoped
from store.duty_catalogue import FREQUENCIES

UNITS = """SELECT s.subgrid_id, s.village_id, v.name AS village_name FROM subgrid s
JOIN village v ON v.village_id = s.village_id
WHERE $village IS NULL OR s.village_id = $village"""

ACTIVITIES = """SELECT village_id, subgrid_id, activity_type, activity_date FROM activity
WHERE activity_date >= $since AND activity_date < $until
  AND list_contains($types, activity_type) AND ($village IS NULL OR village_id = $village)"""

REVIEWS = """SELECT DISTINCT unit_id, period FROM evaluation
WHERE rater = '上级考评' AND index_name = '堡垒指数' AND list_contains($periods, period)"""


def _get(con: duckdb.DuckDBPyConnection, sql: str, values: dict) -> pl.DataFrame:
    bound = {k: v for k, v in values.items() if f"${k}" in sql}
    return fetch_once(sql, bound, lambda s, v: con.sql(s, params=v).pl())


def _unit_periods(con, f: Filter, system: System) -> pl.DataFrame:
    """The units due (village_id, unit_id) × the system's periods in the range, met."""
    periods = periods_in(f, system.frequency)
    units = _get(con, UNITS, {"village": f.village_id})
    key = "subgrid_id" if system.level == "subgrid" else "village_id"
    units = units.select("village_id", "village_name", pl.col(key).alias("unit_id")).unique()
    table = pl.DataFrame(
        {
            "period_start": [p.start for p in periods],
            "period_end": [p.end for p in periods],
            "half": [p.half_key for p in periods],
        },
        schema={"period_start": pl.Date, "period_end": pl.Date, "half": pl.String},
    )
    due = units.join(table, how="cross")
    if not periods:
        return due.with_columns(pl.lit(False).alias("met"))
    if system.source == "review":
        reviews = _get(con, REVIEWS, {"periods": [p.half_key for p in periods]})
        found = reviews.select(
            pl.col("unit_id"), pl.col("period").alias("half"), pl.lit(True).alias("met")
        )
        met = due.join(found, on=["unit_id", "half"], how="left")
    else:
        values = {
            "since": periods[0].start,
            "until": periods[-1].end,
            "village": f.village_id,
            "types": [system.activity_type],
        }
        held = _get(con, ACTIVITIES, values).rename({key: "unit_id"})
        counts = (
            due.join(held.select("unit_id", "activity_date"), on="unit_id")
            .filter(
                (pl.col("activity_date") >= pl.col("period_start"))
                & (pl.col("activity_date") < pl.col("period_end"))
            )
            .group_by("unit_id", "period_start")
            .agg(pl.len().alias("held"))
        )
        met = due.join(counts, on=["unit_id", "period_start"], how="left").with_columns(
            (pl.col("held").fill_null(0) >= system.min_count).alias("met")
        )
    return met.with_columns(pl.col("met").fill_null(False))


@scoped
def system_compliance(
    con: duckdb.DuckDBPyConnection, f: Filter, config: ProcedureConfig | None = None
) -> pl.DataFrame:
    """Per system: key, label, level, frequency_label, due (unit-periods), met,
    share (empty when nothing was due in the range)."""
    rows = []
    for system in (config or procedure_config()).systems:
        frame = _unit_periods(con, f, system)
        met = int(frame["met"].sum())
        rows.append(
            (
                system.key,
                system.label,
                system.level,
                FREQUENCIES[system.frequency],
                frame.height,
                met,
                met / frame.height if frame.height else None,
            )
        )
    schema = {
        "key": pl.String,
        "label": pl.String,
        "level": pl.String,
        "frequency_label": pl.String,
        "due": pl.Int64,
        "met": pl.Int64,
        "share": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


@scoped
def system_villages(
    con: duckdb.DuckDBPyConnection, f: Filter, config: ProcedureConfig | None = None
) -> pl.DataFrame:
    """Per system and village: key, label, village_id, village_name, due, met, share."""
    frames = []
    for system in (config or procedure_config()).systems:
        frame = _unit_periods(con, f, system)
        frames.append(
            frame.group_by("village_id", "village_name")
            .agg(pl.len().cast(pl.Int64).alias("due"), pl.col("met").sum().cast(pl.Int64))
            .with_columns(pl.lit(system.key).alias("key"), pl.lit(system.label).alias("label"))
        )
    if not frames:
        return pl.DataFrame()
    return (
        pl.concat(frames)
        .with_columns((pl.col("met") / pl.col("due")).alias("share"))
        .select("key", "label", "village_id", "village_name", "due", "met", "share")
        .sort("key", "village_id")
    )
