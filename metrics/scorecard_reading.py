"""Reading a scorecard at a glance (总览, 村居详情): each headline figure lit red, amber
or green against the alert thresholds of its level (``alerts.toml``), the units in
worst-first order, and one line where the 考核 rank and the headline figures disagree
(docs/metrics.md, 成绩单).
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.alert_rules import LevelRules
from metrics.assessment import assessment
from metrics.config import Config, default_config
from metrics.filters import Filter
from metrics.indices import fortress
from metrics.scope import scoped
from store.python_values import mapped, mapped_rows

LIGHTS = ("红", "黄", "绿")
# How far (in places) the 考核 rank may sit from the 堡垒指数 order before a line says why.
RANK_GAP = 4
# The scorecard column a rule's indicator is read from.
COLUMN_OF = {"overdue_reports": "overdue_at_end"}


def light(rules: LevelRules, kpi: str, value: float | None) -> str | None:
    """'红' below (above, for 期末超期未办结) the red threshold, '黄' the yellow one,
    '绿' otherwise; None without a value or a rule for ``kpi``. Position in the town is
    not asked here: a light reads the value alone."""
    rule = next((r for r in rules.rules if r.kpi == kpi), None)
    if rule is None or value is None:
        return None

    def beyond(limit: float | None) -> bool:
        if limit is None:
            return False
        return value > limit if rule.more_is_worse else value < limit

    return "红" if beyond(rule.red) else "黄" if beyond(rule.yellow) else "绿"


def lights(cards: pl.DataFrame, level: str, config: Config | None = None) -> pl.DataFrame:
    """``cards`` (a scorecard of ``level``'s units) with a ``<kpi>_light`` column for
    each figure a rule of the level judges, worst first: units with a month 未报送, then
    most reds, most ambers, the lowest 堡垒指数."""
    rules = getattr((config or default_config()).alerts, level)
    judged = {COLUMN_OF.get(r.kpi, r.kpi): r.kpi for r in rules.rules}
    judged = {c: k for c, k in judged.items() if c in cards.columns}
    if not judged:
        return cards
    lit = cards.with_columns(
        mapped(
            cards[column], lambda v, k=kpi: light(rules, k, v), pl.String, name=f"{column}_light"
        )
        for column, kpi in judged.items()
    )
    count = {
        c: pl.sum_horizontal(
            (pl.col(f"{column}_light") == c).fill_null(False).cast(pl.Int32) for column in judged
        )
        for c in ("红", "黄")
    }
    unreported = (
        pl.col("reported").not_().fill_null(False) if "reported" in cards.columns else pl.lit(False)
    )
    return (
        lit.with_columns(_gone=unreported, _reds=count["红"], _ambers=count["黄"])
        .sort(
            "_gone",
            "_reds",
            "_ambers",
            pl.col("fortress_index").fill_null(-1.0),
            descending=[True, True, True, False],
        )
        .drop("_gone", "_reds", "_ambers")
    )


@scoped
def rank_reasons(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """``unit_id, rank_reason``: for the units of ``f.level`` whose 考核排名 sits
    :data:`RANK_GAP` or more places from their 堡垒指数 order, one Chinese line on why
    (the 考核 weighs four areas over the range and subtracts 反向扣分)."""
    scores = assessment(con, f, config=config, rollups=rollups)
    if scores.is_empty():
        return pl.DataFrame(schema={"unit_id": pl.String, "rank_reason": pl.String})
    order = (
        fortress(con, f, config=config, rollups=rollups)
        .filter(pl.col("fortress_index").is_not_null())
        .select(
            "unit_id", place=pl.col("fortress_index").rank("min", descending=True).cast(pl.Int64)
        )
    )
    areas = {
        "daily_ops": "日常运行",
        "org_life": "组织生活",
        "public_opinion": "民情",
        "governance": "治理",
    }
    rows = scores.join(order, on="unit_id").filter(
        (pl.col("rank") - pl.col("place")).abs() >= RANK_GAP
    )

    def reason(r: dict) -> str:
        best = max(areas, key=lambda a: r[a] or 0.0)
        worst = min(areas, key=lambda a: r[a] or 0.0)
        if r["rank"] > r["place"]:
            cause = (
                f"反向扣分 {r['deductions']:.1f} 分"
                if r["deductions"]
                else f"{areas[worst]}得分偏低（{r[worst]:.1f}）"
            )
            return f"堡垒指数第 {r['place']} 位，考核第 {r['rank']} 位：{cause}拉低了考核总分。"
        return (
            f"堡垒指数第 {r['place']} 位，考核第 {r['rank']} 位：考核按四个方面计分，"
            f"{areas[best]}得分较高（{r[best]:.1f}）。"
        )

    return rows.select("unit_id").with_columns(
        mapped_rows(rows, reason, pl.String, name="rank_reason")
    )
