"""Half-year evaluations (in the June and December files) and occasional deductions."""

from __future__ import annotations

import calendar
from datetime import date

import numpy as np
import polars as pl

from etl.generate.town import Town

DEDUCTION_ITEMS = {
    "subgrid": [
        ("未按规定召开主题党日", 2),
        ("民情事项超期未办结", 2),
        ("网格巡查记录缺失", 1),
        ("台账资料报送不及时", 1),
    ],
    "person": [("无故缺席组织生活", 2), ("履职不到位被通报", 3), ("违反廉洁纪律", 5)],
}


def evaluations(
    town: Town, month_list: list[date], rng: np.random.Generator
) -> dict[int, pl.DataFrame]:
    """Half-year survey scores, filed in the month that closes each half-year (by
    index in ``month_list``)."""
    out = {}
    members = town.members(np.arange(len(town.pid)))
    for mi, month in enumerate(month_list):
        y, m = month.year, month.month
        if m not in (6, 12):
            continue
        period = f"{y}H{1 if m == 6 else 2}"
        period_end = np.datetime64(date(y, m, calendar.monthrange(y, m)[1]))
        skipped = {v for v, d in town.village_diligence.items() if d < 0.75 and rng.random() < 0.3}
        rows = []
        for sg in town.subgrids["subgrid_id"].to_list():
            if town.subgrid_village[sg] in skipped:
                continue
            dil = town.subgrid_diligence[sg]
            for rater, bonus in (("自评", 4.0), ("党员群众测评", 0.0), ("上级考评", -1.0)):
                score = float(np.clip(58 + 38 * dil + bonus + rng.normal(0, 4), 0, 100))
                rows.append((period, sg, "堡垒指数", rater, round(score, 1)))
        surveyed = town.active(members, period_end)
        for i in surveyed:
            if town.village[i] in skipped:
                continue
            base = 60 + 32 * town.engagement[i]
            for rater, bonus in (("自评", 3.0), ("党员群众测评", 0.0)):
                score = float(np.clip(base + bonus + rng.normal(0, 5), 0, 100))
                rows.append((period, str(town.pid[i]), "先锋指数", rater, round(score, 1)))
        out[mi] = pl.DataFrame(
            rows,
            schema=["period", "unit_id", "index_name", "rater", "score"],
            orient="row",
        ).sort("unit_id", "index_name", "rater")
    return out


def deductions(town: Town, month_list: list[date], rng: np.random.Generator) -> pl.DataFrame:
    """Deductions of sub-grids and people, each with the ``file_month`` that holds it."""
    rows = []
    members = town.members(np.arange(len(town.pid)))
    for mi, month in enumerate(month_list):
        y, m = month.year, month.month
        ndays = calendar.monthrange(y, m)[1]
        for sg in town.subgrids["subgrid_id"].to_list():
            if rng.random() < 0.06 * (1.6 - town.subgrid_diligence[sg]):
                item, points = DEDUCTION_ITEMS["subgrid"][
                    int(rng.integers(len(DEDUCTION_ITEMS["subgrid"])))
                ]
                rows.append((date(y, m, int(rng.integers(1, ndays + 1))), sg, item, points, mi))
        day = np.datetime64(date(y, m, 15))
        active = town.active(members, day)
        for i in active[rng.random(active.size) < 0.0015]:
            item, points = DEDUCTION_ITEMS["person"][
                int(rng.integers(len(DEDUCTION_ITEMS["person"])))
            ]
            rows.append(
                (date(y, m, int(rng.integers(1, ndays + 1))), str(town.pid[i]), item, points, mi)
            )
    return pl.DataFrame(
        rows,
        schema={
            "deduction_date": pl.Date,
            "unit_id": pl.String,
            "item": pl.String,
            "points": pl.Int64,
            "file_month": pl.Int64,
        },
        orient="row",
    ).sort("deduction_date", "unit_id", "item")
