"""预警: which villages and sub-grids need attention, how urgently, and who acts.

Rules (``data/config/alerts.toml``, :mod:`metrics.alert_rules`, docs/metrics.md
"预警") combine an absolute threshold with the unit's position in the town or its
change since the previous period of the same length:

* 红色 — below ``red_below`` and among the ``worst`` lowest units of its level in the
  town, or fallen by more than ``red_drop``;
* 黄色 — otherwise below ``yellow_below``, or fallen by more than ``yellow_drop``.

For 期末超期未办结 (more is worse) "above" reads for "below". Positions are taken among
every unit of the town (as :func:`metrics.assessment.town_ranks` does), and only the
alerts of units in scope are returned. A unit without a value (nothing due, not
reported) gets no alert for it. Each alert names its owner from the roster: the
总网格长 of a village, the 子网格长 of a sub-grid (or says the post is vacant), and says
in one Chinese sentence why it was raised.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import polars as pl

from metrics import glossary
from metrics.alert_rules import OVERDUE, LevelRules, Rule
from metrics.completeness import UNREPORTED, completeness
from metrics.config import Config, default_config
from metrics.filters import Filter
from metrics.overview import kpis
from metrics.posts import OWNER_ROLES, post_holders
from metrics.response import ALL_CATEGORIES, response_summary
from metrics.scope import scoped
from store.months import month_label_expr
from store.python_values import mapped, mapped_rows
from store.reporting_units import UNIT_KIND_LABELS

UNREPORTED_KPI = "unreported"  # the kpi of a 未报送 alert
COLUMNS = {
    "level": pl.String,
    "village_id": pl.String,
    "village_name": pl.String,
    "subgrid_id": pl.String,
    "subgrid_name": pl.String,
    "kpi": pl.String,
    "label": pl.String,
    "value": pl.Float64,
    "previous": pl.Float64,
    "change": pl.Float64,
    "threshold": pl.Float64,
    "position": pl.Int64,
    "units": pl.Int64,
    "owner_role": pl.String,
    "owner_id": pl.String,
    "owner": pl.String,
    "message": pl.String,
}


# ------------------------------------------------------------------ values


def _town_values(
    con: duckdb.DuckDBPyConnection, f: Filter, level: str, config: Config | None, rollups: bool
) -> pl.DataFrame:
    """Every unit of ``level`` in the town: ``unit_id, unit_name, kpi, value, previous,
    change`` for the KPIs and 期末超期未办结 (called unscoped: positions need every
    unit; only rows in scope leave :func:`alerts`)."""
    town = replace(f, village_id=None, level=level)
    values = kpis.__wrapped__(con, town, config=config, rollups=rollups).select(
        "unit_id", "unit_name", "kpi", "value", "previous", "change"
    )
    overdue = (
        response_summary.__wrapped__(con, town, config=config, rollups=rollups)
        .filter(pl.col("category") == ALL_CATEGORIES)
        .select(
            "unit_id",
            "unit_name",
            kpi=pl.lit(OVERDUE),
            value=pl.col("overdue_at_end").cast(pl.Float64),
            previous=pl.lit(None, pl.Float64),
            change=pl.lit(None, pl.Float64),
        )
    )
    return pl.concat([values, overdue])


def _judged(values: pl.DataFrame, level_rules: LevelRules) -> pl.DataFrame:
    """The rows of ``values`` that a rule raises, with ``level``, ``threshold``,
    ``position`` (1 = worst of the town) and ``units`` (how many have a value)."""
    parts = []
    for rule in level_rules.rules:
        rows = values.filter(pl.col("kpi") == rule.kpi, pl.col("value").is_not_null())
        if rows.is_empty():
            continue
        worse = pl.col("value") if not rule.more_is_worse else -pl.col("value")
        rows = rows.with_columns(
            position=worse.rank("min").cast(pl.Int64), units=pl.lit(rows.height, pl.Int64)
        )
        parts.append(_levels(rows, rule, level_rules.worst))
    if not parts:
        return values.clear().with_columns(
            level=pl.lit(None, pl.String),
            threshold=pl.lit(None, pl.Float64),
            position=pl.lit(None, pl.Int64),
            units=pl.lit(None, pl.Int64),
            reason=pl.lit(None, pl.String),
        )
    return pl.concat(parts)


def _beyond(rule: Rule, limit: float | None) -> pl.Expr:
    if limit is None:
        return pl.lit(False)
    return pl.col("value") > limit if rule.more_is_worse else pl.col("value") < limit


def _fell(limit: float | None) -> pl.Expr:
    return pl.lit(False) if limit is None else pl.col("change").fill_null(0) <= -limit


def _levels(rows: pl.DataFrame, rule: Rule, worst: int) -> pl.DataFrame:
    red_low = _beyond(rule, rule.red) & (pl.col("position") <= worst)
    red_fall = _fell(rule.red_drop)
    yellow_low = _beyond(rule, rule.yellow)
    yellow_fall = _fell(rule.yellow_drop)
    below = "高于" if rule.more_is_worse else "低于"

    def text(value: float | None) -> str:
        return "" if value is None else " " + glossary.value_with_unit(rule.kpi, value)

    position = pl.format("，全镇倒数第 {} 位（共 {} 个）", pl.col("position"), pl.col("units"))
    rows = rows.with_columns(_drop_text(rows["change"], rule.kpi))
    return (
        rows.with_columns(
            level=pl.when(red_low | red_fall)
            .then(pl.lit("红色"))
            .when(yellow_low | yellow_fall)
            .then(pl.lit("黄色"))
            .otherwise(None),
            threshold=pl.when(red_low | (red_fall & _beyond(rule, rule.red)))
            .then(pl.lit(rule.red, pl.Float64))
            .otherwise(pl.lit(rule.yellow, pl.Float64)),
            reason=pl.when(red_low)
            .then(pl.lit(f"{below}{text(rule.red)}") + position)
            .when(red_fall)
            .then(pl.lit("比上期下降") + pl.col("_drop_text"))
            .when(yellow_low)
            .then(pl.lit(f"{below}{text(rule.yellow)}"))
            .when(yellow_fall)
            .then(pl.lit("比上期下降") + pl.col("_drop_text"))
            .otherwise(None),
        )
        .filter(pl.col("level").is_not_null())
        .drop("_drop_text")
    )


def _drop_text(change: pl.Series, kpi: str) -> pl.Series:
    """' 17.2 个百分点' / ' 12.0 分': how far the value fell (no sign: the words say it)."""
    entry = glossary.entry(kpi)

    def fall(change: float) -> str:
        if entry.kind == "rate":
            return f" {abs(change) * 100:.1f} 个百分点"
        return f" {abs(change):.{entry.decimals}f} {entry.unit}".rstrip()

    return mapped(change, fall, pl.String, name="_drop_text")


# ------------------------------------------------------------------ alerts


@scoped
def alerts(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The alerts of the range for the units in ``f``'s scope, 红色 first, then by
    village: ``level, village_id, village_name, subgrid_id, subgrid_name, kpi, label,
    value, previous, change, threshold, position, units, owner_role, owner_id, owner,
    message`` (``subgrid_*`` null for a village's alert; ``position`` 1 = the worst
    unit of the town; ``owner`` null when the post is vacant)."""
    rules = (config or default_config()).alerts
    parts = []
    for level, level_rules in (("village", rules.village), ("subgrid", rules.subgrid)):
        if not level_rules.rules:
            continue
        raised = _judged(_town_values(con, f, level, config, rollups), level_rules)
        if raised.is_empty():
            continue
        parts.append(_described(con, f, level, raised))
    unreported = _unreported(con, f, config, rules.unreported_level)
    if not unreported.is_empty():
        parts.append(unreported)
    if not parts:
        return pl.DataFrame(schema=COLUMNS)
    out = pl.concat(parts, how="diagonal_relaxed").select(
        pl.col(c).cast(t) for c, t in COLUMNS.items()
    )
    if f.village_id is not None:
        out = out.filter(pl.col("village_id") == f.village_id)
    return out.sort(
        pl.col("level").replace_strict({"红色": 0, "黄色": 1}), "village_id", "subgrid_id", "kpi"
    )


def _unreported(
    con: duckdb.DuckDBPyConnection, f: Filter, config: Config | None, level: str
) -> pl.DataFrame:
    """One alert per village and month of the range with a kind of data 未报送
    (``kpi`` = ``unreported``; ``value`` = how many kinds are missing)."""
    units = completeness.__wrapped__(con, f.start, f.end, None, config).filter(
        pl.col("status") == UNREPORTED
    )
    if units.is_empty():
        return pl.DataFrame(schema=COLUMNS)
    missing = (
        units.group_by("village_id", "village_name", "month", maintain_order=True)
        .agg(
            pl.col("kind")
            .replace_strict(UNIT_KIND_LABELS, return_dtype=pl.String)
            .str.join("、")
            .alias("kinds"),
            pl.len().cast(pl.Float64).alias("value"),
        )
        .join(post_holders(con, f, "village"), left_on="village_id", right_on="unit_id", how="left")
    )
    when = month_label_expr("month")
    return missing.select(
        level=pl.lit(level),
        village_id="village_id",
        village_name="village_name",
        subgrid_id=pl.lit(None, pl.String),
        subgrid_name=pl.lit(None, pl.String),
        kpi=pl.lit(UNREPORTED_KPI),
        label=pl.lit("报送情况"),
        value="value",
        owner_role=pl.lit(OWNER_ROLES["village"]),
        owner_id="owner_id",
        owner="owner",
        message=pl.format(
            "{}{}的{}数据未报送，相关指标暂无法计算；请总网格长督促报送（或申报零报告）。",
            pl.col("village_name"),
            when,
            pl.col("kinds"),
        ),
    )


def _described(
    con: duckdb.DuckDBPyConnection, f: Filter, level: str, raised: pl.DataFrame
) -> pl.DataFrame:
    """The raised rows with their unit's names, owner and the sentence that says why."""
    role = OWNER_ROLES[level]
    if level == "village":
        units = raised.with_columns(
            village_id=pl.col("unit_id"),
            village_name=pl.col("unit_name"),
            subgrid_id=pl.lit(None, pl.String),
            subgrid_name=pl.lit(None, pl.String),
        )
    else:
        villages = con.sql(
            "SELECT s.subgrid_id AS unit_id, s.village_id, v.name AS village_name "
            "FROM subgrid s JOIN village v USING (village_id)"
        ).pl()
        units = raised.join(villages, on="unit_id", how="left").with_columns(
            subgrid_id=pl.col("unit_id"), subgrid_name=pl.col("unit_name")
        )
    # A sub-grid's name (第3网格) repeats across villages: say whose it is.
    name = (
        pl.col("unit_name") if level == "village" else pl.col("village_name") + pl.col("unit_name")
    )
    units = units.join(post_holders(con, f, level), on="unit_id", how="left")
    return (
        units.with_columns(
            mapped(units["kpi"], glossary.label, pl.String, name="label"),
            mapped_rows(
                units.select("kpi", "value"),
                lambda r: glossary.value_with_unit(r["kpi"], r["value"]),
                pl.String,
                name="value_text",
            ),
            owner_role=pl.lit(role),
        )
        .with_columns(
            message=pl.format(
                "{}{}为 {}，{}；请{}督促整改。",
                name,
                pl.col("label"),
                pl.col("value_text"),
                pl.col("reason"),
                pl.lit(role),
            )
        )
        .drop("value_text", "reason", "unit_id", "unit_name")
    )
