"""党内重要事项决策, the first procedure of the 程序清单: 镇领导督导 → 总网格长提议 →
党员议事会商议 → 两委会决议或党员大会表决 → 结果公示 (docs/metrics.md, 程序清单).

A matter is seen as it stood at the range's end: a stage dated after it is not reached
yet. The funnel counts the matters *proposed* in the range; each later stage's
``median_days`` is the median wait from the stage before, and ``overdue`` counts the
matters that took longer than the limit (procedures.toml) or have been waiting longer
than it at the range's end. The 督导 stage has no wait of its own: its ``overdue``
counts the matters decided without one. Open matters are every matter proposed
before the range's end and not yet 公示, however old.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import duckdb
import polars as pl

from metrics.batch_cache import fetch_once
from metrics.filters import Filter
from metrics.procedure_config import ProcedureConfig, procedure_config
from metrics.scope import scoped

PROCEDURE = "党内重要事项决策"
# (column, stage label, limit key or None) in the order of the procedure.
STAGES = (
    ("supervised_on", "镇领导督导", None),
    ("proposed_on", "总网格长提议", None),
    ("deliberated_on", "党员议事会商议", "deliberate_within_days"),
    ("resolved_on", "决议或表决", "resolve_within_days"),
    ("published_on", "结果公示", "publish_within_days"),
)
CHAIN = [s for s in STAGES if s[0] != "supervised_on"]

MATTERS = """SELECT d.matter_id, d.village_id, v.name AS village_name, d.subject,
    CASE WHEN d.supervised_on < $until THEN d.supervised_on END AS supervised_on,
    d.proposed_on,
    CASE WHEN d.deliberated_on < $until THEN d.deliberated_on END AS deliberated_on,
    CASE WHEN d.resolved_on < $until THEN d.resolved_on END AS resolved_on,
    CASE WHEN d.resolved_on < $until THEN d.resolution END AS resolution,
    CASE WHEN d.published_on < $until THEN d.published_on END AS published_on
FROM decision d JOIN village v ON v.village_id = d.village_id
WHERE d.proposed_on < $until AND ($village IS NULL OR d.village_id = $village)
ORDER BY d.matter_id"""

STAGE_SCHEMA = {
    "procedure": pl.String,
    "step": pl.Int64,
    "stage": pl.String,
    "items": pl.Int64,
    "median_days": pl.Float64,
    "overdue": pl.Int64,
}


def _matters(con: duckdb.DuckDBPyConnection, f: Filter) -> pl.DataFrame:
    values = {"until": f.end_exclusive, "village": f.village_id}
    return fetch_once(MATTERS, values, lambda sql, v: con.sql(sql, params=v).pl())


def _waits(frame: pl.DataFrame, f: Filter, config: ProcedureConfig) -> pl.DataFrame:
    """Per matter and chain stage: ``wait_<col>`` (days from the stage before, or up to
    the range's last day while not reached) and ``late_<col>`` (over the limit)."""
    last_day = f.end_exclusive - timedelta(days=1)
    limits = config.decision
    exprs = []
    for (before, _, _), (col, _, key) in itertools.pairwise(CHAIN):
        reached = pl.col(col).is_not_null()
        until = pl.when(reached).then(pl.col(col)).otherwise(pl.lit(last_day))
        wait = pl.when(pl.col(before).is_not_null()).then((until - pl.col(before)).dt.total_days())
        exprs += [
            wait.alias(f"wait_{col}"),
            (wait > getattr(limits, key)).fill_null(False).alias(f"late_{col}"),
            pl.when(reached).then(wait).alias(f"took_{col}"),
        ]
    missed = pl.col("resolved_on").is_not_null() & pl.col("supervised_on").is_null()
    return frame.with_columns(*exprs, missed.alias("late_supervised_on"))


@scoped
def decision_stages(
    con: duckdb.DuckDBPyConnection, f: Filter, config: ProcedureConfig | None = None
) -> pl.DataFrame:
    """The funnel of the matters proposed in ``f``'s range: procedure, step, stage,
    items (matters that reached the stage), median_days, overdue."""
    config = config or procedure_config()
    matters = _waits(_matters(con, f).filter(pl.col("proposed_on") >= f.start), f, config)
    rows = []
    for step, (col, label, key) in enumerate(STAGES, start=1):
        took = f"took_{col}"
        median = matters[took].median() if key and matters.height else None
        late = f"late_{col}"
        rows.append(
            (
                PROCEDURE,
                step,
                label,
                matters[col].is_not_null().sum(),
                None if median is None else float(median),
                int(matters[late].sum()) if late in matters.columns else 0,
            )
        )
    return pl.DataFrame(rows, schema=STAGE_SCHEMA, orient="row")


@scoped
def decision_villages(
    con: duckdb.DuckDBPyConnection, f: Filter, config: ProcedureConfig | None = None
) -> pl.DataFrame:
    """Per village, the matters proposed in the range: village_id, village_name, matters,
    supervised, published, open (not yet 公示), overdue (a stage late or waiting too
    long), days_to_publish (median 提议 → 公示 of the published ones)."""
    config = config or procedure_config()
    matters = _waits(_matters(con, f).filter(pl.col("proposed_on") >= f.start), f, config)
    late = pl.any_horizontal(pl.col(f"late_{c}") for c, _, _ in STAGES if c != "proposed_on")
    return (
        matters.group_by("village_id", "village_name")
        .agg(
            pl.len().cast(pl.Int64).alias("matters"),
            pl.col("supervised_on").is_not_null().sum().cast(pl.Int64).alias("supervised"),
            pl.col("published_on").is_not_null().sum().cast(pl.Int64).alias("published"),
            pl.col("published_on").is_null().sum().cast(pl.Int64).alias("open"),
            late.sum().cast(pl.Int64).alias("overdue"),
            (pl.col("published_on") - pl.col("proposed_on"))
            .dt.total_days()
            .median()
            .alias("days_to_publish"),
        )
        .sort("village_id")
    )


@scoped
def open_matters(
    con: duckdb.DuckDBPyConnection, f: Filter, config: ProcedureConfig | None = None
) -> pl.DataFrame:
    """Matters proposed before the range's end and not yet 公示, longest waiting first:
    matter_id, village_id, village_name, subject, stage (the last reached), stage_on,
    days_waiting, overdue (waiting past the next stage's limit)."""
    config = config or procedure_config()
    matters = _waits(_matters(con, f).filter(pl.col("published_on").is_null()), f, config)
    last_day = f.end_exclusive - timedelta(days=1)
    stage = pl.lit(CHAIN[0][1])
    stage_on = pl.col(CHAIN[0][0])
    late = pl.col(f"late_{CHAIN[1][0]}")
    for (col, label, _), (after, _, _) in zip(
        CHAIN[1:], [*CHAIN[2:], (None, None, None)], strict=True
    ):
        reached = pl.col(col).is_not_null()
        stage = pl.when(reached).then(pl.lit(label)).otherwise(stage)
        stage_on = pl.when(reached).then(pl.col(col)).otherwise(stage_on)
        if after is not None:
            late = pl.when(reached).then(pl.col(f"late_{after}")).otherwise(late)
    return (
        matters.with_columns(
            stage.alias("stage"), stage_on.alias("stage_on"), late.alias("overdue")
        )
        .with_columns((pl.lit(last_day) - pl.col("stage_on")).dt.total_days().alias("days_waiting"))
        .select(
            "matter_id",
            "village_id",
            "village_name",
            "subject",
            "stage",
            "stage_on",
            "days_waiting",
            "overdue",
        )
        .sort("days_waiting", descending=True)
    )
