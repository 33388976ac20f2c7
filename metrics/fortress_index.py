"""党组织堡垒指数: per sub-grid and bucket from its totals, and rolled up to villages and
the town as member-month-weighted means minus the unit's own deductions.

The 测评 part weighs as much of its points as the share of the bucket's data months a
survey covers (all of them: 已测评; some: 部分测评; none: 无测评, the part left out);
the other parts are rescaled to fill the rest. The formula, its weights
(``data/config/indices.toml``) and the roll-up are defined in docs/metrics.md
(堡垒指数); :mod:`metrics.indices` shapes the results for pages.
"""

from __future__ import annotations

import polars as pl

from metrics.batch_cache import per_context, per_subgrid
from metrics.deductions_and_surveys import (
    deduction_points_by_unit,
    survey_status,
    whole_survey,
)
from metrics.formulas import ratio, score
from metrics.query_context import Context
from metrics.unit_totals import subgrid_totals

FORTRESS_PARTS = ("coverage", "study", "collection", "handling", "survey")
FORTRESS_COLUMNS = (
    "unit_id",
    "bucket",
    *(f"{p}_pts" for p in FORTRESS_PARTS),
    "raw",
    "deductions",
    "fortress_index",
    "member_months",
    "surveyed",
    "survey_share",
    "survey_status",
)


@per_subgrid()
def fortress_by_subgrid(ctx: Context) -> pl.DataFrame:
    """堡垒指数 per sub-grid and bucket, with its parts (``v_*`` fractions, ``*_pts``
    points), ``raw``, ``deductions``, ``survey_share`` (of the data months a survey
    covers), ``surveyed`` (all of them) and ``survey_status``."""
    fo = ctx.config.fortress
    target = ctx.config.response.target_per_subgrid_month
    frame = subgrid_totals(ctx).with_columns(
        survey_share=pl.when(pl.col("months") > 0)
        .then(pl.col("survey_months").fill_null(0) / pl.col("months"))
        .otherwise(0.0)
    )
    frame = frame.with_columns(
        v_coverage=ratio("met", "due"),
        v_study=ratio("reached", "member_months"),
        v_collection=pl.min_horizontal(
            pl.lit(1.0), pl.col("reports") / (target * pl.col("months"))
        ),
        v_handling=ratio("resolve_on_time", "resolve_due"),
        v_survey=pl.col("survey_score") / 100.0,
        deductions=pl.col("points").fill_null(0.0),
    )
    weights = {p: getattr(fo, p) for p in FORTRESS_PARTS}
    weights["survey"] = fo.survey * pl.col("survey_share")
    frame = score(frame, weights)
    return frame.with_columns(
        fortress_index=pl.max_horizontal(pl.lit(0.0), pl.col("raw") - pl.col("deductions")),
        surveyed=whole_survey("survey_share"),
        survey_status=survey_status(whole_survey("survey_share"), pl.col("survey_share") > 0),
    )


def _weighted_up(ctx: Context, frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """Member-month-weighted means per ``key`` and bucket of the parts, of the index
    (as ``raw``) and of the survey share (plain means when no member-months), minus the
    deductions recorded on ``key`` itself (floored at 0). A part left out counts 0, as
    in raw; ``surveyed`` only when every unit inside is."""
    values = [f"{p}_pts" for p in FORTRESS_PARTS] + ["fortress_index", "survey_share"]
    weight = pl.col("member_months")
    up = frame.group_by(key, "bucket").agg(
        *[(pl.col(c).fill_null(0.0) * weight).sum().alias(f"w_{c}") for c in values],
        *[pl.col(c).fill_null(0.0).mean().alias(f"m_{c}") for c in values],
        weight.sum(),
        pl.col("surveyed").all(),
        (pl.col("survey_share") > 0).any().alias("some_survey"),
    )
    weighted = weight > 0
    means = [
        pl.when(weighted)
        .then(pl.col(f"w_{c}") / weight)
        .otherwise(pl.col(f"m_{c}"))
        .alias("raw" if c == "fortress_index" else c)
        for c in values
    ]
    deductions = deduction_points_by_unit(ctx).rename({"unit_id": key, "points": "deductions"})
    return (
        up.join(deductions, on=[key, "bucket"], how="left")
        .select(
            key,
            "bucket",
            "member_months",
            "surveyed",
            "some_survey",
            *means,
            pl.col("deductions").fill_null(0.0),
        )
        .with_columns(
            fortress_index=pl.max_horizontal(pl.lit(0.0), pl.col("raw") - pl.col("deductions")),
            survey_status=survey_status(pl.col("surveyed"), pl.col("some_survey")),
        )
        .drop("some_survey")
    )


@per_subgrid("village_id")
def fortress_by_village(ctx: Context) -> pl.DataFrame:
    """堡垒指数 per village and bucket (shared by the village and town levels)."""
    return _weighted_up(ctx, fortress_by_subgrid(ctx), "village_id")


@per_context
def fortress_by_unit(ctx: Context) -> pl.DataFrame:
    """堡垒指数 per unit of the filter's level and bucket: :data:`FORTRESS_COLUMNS`."""
    if ctx.filter.level == "subgrid":
        return fortress_by_subgrid(ctx).rename({"subgrid_id": "unit_id"}).select(FORTRESS_COLUMNS)
    if ctx.filter.level == "village":
        return fortress_by_village(ctx).rename({"village_id": "unit_id"}).select(FORTRESS_COLUMNS)
    villages = fortress_by_village(ctx).join(
        ctx.villages.select("village_id", "town_id"), on="village_id"
    )
    town = _weighted_up(ctx, villages, "town_id")
    return town.rename({"town_id": "unit_id"}).select(FORTRESS_COLUMNS)
