"""党员学习教育, the 程序清单's second procedure, step by step: the 总网格长 issues a
学习提示 each month, members study (送学上门 for the old and frail), and 老新结对 /
以老带老 pairs study together (docs/metrics.md, 程序清单).

Study coverage and the 送学上门 share are :mod:`metrics.study`'s (the same numbers as
the 学习教育 page); this module adds the notices and the pairs. A pair *met* in a month
when its two members attended (出席) one same activity; a village-month *without a
notice* is a month in which the village logged activities but issued no 学习提示.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.batch_cache import fetch_once
from metrics.decision_procedure import STAGE_SCHEMA
from metrics.duty_facts import PAIR_MEETINGS, PRESENT
from metrics.filters import Filter
from metrics.scope import scoped
from metrics.study import study_by_month
from store.contracts import MEMBER_PAIR_TYPES

PROCEDURE = "党员学习教育"
MONTH = "CAST(date_trunc('month', {}) AS DATE)"

NOTICES = f"""SELECT {MONTH.format("n.issued_on")} AS month, n.village_id, count(*) AS notices
FROM study_notice n
WHERE n.issued_on >= $since AND n.issued_on < $until
  AND ($village IS NULL OR n.village_id = $village)
GROUP BY ALL"""

# The months each village logged activities in (a month without is not counted against it).
ACTIVE_MONTHS = f"""SELECT DISTINCT {MONTH.format("activity_date")} AS month, village_id
FROM activity
WHERE activity_date >= $since AND activity_date < $until
  AND ($village IS NULL OR village_id = $village)"""

MEMBER_PAIRS = """SELECT pair_id, pair_type, village_id, active_from, active_to FROM pairing
WHERE list_contains($types, pair_type) AND ($village IS NULL OR village_id = $village)"""


def _get(con: duckdb.DuckDBPyConnection, f: Filter, sql: str) -> pl.DataFrame:
    values = {
        "since": f.start,
        "until": f.end_exclusive,
        "village": f.village_id,
        "types": list(MEMBER_PAIR_TYPES),
        "present": PRESENT,
    }
    bound = {k: v for k, v in values.items() if f"${k}" in sql}
    return fetch_once(sql, bound, lambda s, v: con.sql(s, params=v).pl())


def _pair_months(con: duckdb.DuckDBPyConnection, f: Filter) -> pl.DataFrame:
    """One row per member pair and month of the range it was in force: pair_id,
    pair_type, month, met."""
    pairs = _get(con, f, MEMBER_PAIRS)
    months = pl.DataFrame({"month": f.months})
    ends = pl.col("month").dt.offset_by("1mo").dt.offset_by("-1d")
    in_force = pairs.join(months, how="cross").filter(
        (pl.col("active_from") <= ends)
        & (pl.col("active_to").is_null() | (pl.col("active_to") >= pl.col("month")))
    )
    met = _get(con, f, PAIR_MEETINGS).with_columns(pl.lit(True).alias("met"))
    return in_force.join(met, on=["pair_id", "month"], how="left").with_columns(
        pl.col("met").fill_null(False)
    )


@scoped
def study_steps(con: duckdb.DuckDBPyConnection, f: Filter) -> pl.DataFrame:
    """Per month of the range: month, villages_active (that logged activities), notified
    (of them, with a 学习提示), notice_share, reached, reached_home, home_share,
    pairs (结对 in force), pairs_met, pair_share."""
    active = _get(con, f, ACTIVE_MONTHS)
    notices = _get(con, f, NOTICES)
    villages = (
        active.join(notices, on=["month", "village_id"], how="left")
        .group_by("month")
        .agg(
            pl.len().cast(pl.Int64).alias("villages_active"),
            pl.col("notices").is_not_null().sum().cast(pl.Int64).alias("notified"),
        )
    )
    study = study_by_month(con, f.at_level("town")).select(
        "month", "reached", "reached_home", "home_share"
    )
    pairs = (
        _pair_months(con, f)
        .group_by("month")
        .agg(
            pl.len().cast(pl.Int64).alias("pairs"),
            pl.col("met").sum().cast(pl.Int64).alias("pairs_met"),
        )
    )
    out = pl.DataFrame({"month": f.months})
    for part in (villages, study, pairs):
        out = out.join(part, on="month", how="left")
    return out.with_columns(
        (pl.col("notified") / pl.col("villages_active")).alias("notice_share"),
        (pl.col("pairs_met") / pl.col("pairs")).alias("pair_share"),
    ).filter(pl.col("villages_active").is_not_null())


@scoped
def study_stages(con: duckdb.DuckDBPyConnection, f: Filter) -> pl.DataFrame:
    """The procedure's steps over the range (the CLI's ``procedures`` rows): 学习提示
    (overdue: village-months without one), 参学 and 送学上门 (member-months reached),
    结对 (pairs in force; overdue: pairs that never met in the range)."""
    steps = study_steps(con, f)
    pair_rows = _pair_months(con, f)
    pairs = pair_rows.select("pair_id").n_unique()
    never_met = pair_rows.group_by("pair_id").agg(pl.col("met").any()).filter(~pl.col("met")).height

    def total(column: str) -> int:
        return int(steps[column].fill_null(0).sum()) if steps.height else 0

    rows = [
        (
            1,
            "总网格长下发学习提示",
            total("notified"),
            total("villages_active") - total("notified"),
        ),
        (2, "党员参学", total("reached"), None),
        (3, "送学上门", total("reached_home"), None),
        (4, "老新结对、以老带老", pairs, never_met),
    ]
    return pl.DataFrame(
        [(PROCEDURE, n, stage, items, None, overdue) for n, stage, items, overdue in rows],
        schema=STAGE_SCHEMA,
        orient="row",
    )
