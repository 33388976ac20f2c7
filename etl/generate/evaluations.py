"""Half-year evaluations (in the June and December files) and occasional deductions.

Deductions are drawn from the deduction catalogue (``data/config/deductions.toml``,
:mod:`store.deduction_catalogue`), only among the items that no metric scores already
(a sub-grid that held no 主题党日 is marked down by 制度落实; a 反向扣分 for it too
would count the failure twice), the heavier ones more rarely.
"""

from __future__ import annotations

import calendar
from datetime import date

import numpy as np
import polars as pl

from etl.generate.town import Town
from store.deduction_catalogue import DeductionItem, read_catalogue

# Monthly chance of a deduction per sub-grid (times 1.6 − diligence), per member on
# the roll and per village (times 1.6 − diligence).
SUBGRID_DEDUCTION_RATE = 0.06
PERSON_DEDUCTION_RATE = 0.0015
VILLAGE_DEDUCTION_RATE = 0.03


def deduction_items(catalogue: tuple[DeductionItem, ...]) -> dict[str, tuple[list, np.ndarray]]:
    """Per kind of unit: the counted catalogue items and the chance of drawing each
    (inversely proportional to the square of the points: serious failures are rare)."""
    out = {}
    for kind in ("subgrid", "person", "village"):
        items = [i for i in catalogue if i.counted and i.applies_to == kind]
        if items:
            odds = np.array([1.0 / i.points**2 for i in items])
            out[kind] = (items, odds / odds.sum())
    return out


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


def deductions(
    town: Town,
    month_list: list[date],
    rng: np.random.Generator,
    catalogue: tuple[DeductionItem, ...] | None = None,
) -> pl.DataFrame:
    """Deductions of sub-grids, people and villages, each with the ``file_month`` that
    holds it; items and points from ``catalogue`` (default: the configured one)."""
    drawn = deduction_items(read_catalogue() if catalogue is None else catalogue)
    rows = []
    members = town.members(np.arange(len(town.pid)))

    def draw(kind: str, unit: str, y: int, m: int, ndays: int, mi: int) -> None:
        items, p = drawn[kind]
        item = items[int(rng.choice(len(items), p=p))]
        day = date(y, m, int(rng.integers(1, ndays + 1)))
        rows.append((day, unit, item.item, item.points, mi))

    for mi, month in enumerate(month_list):
        y, m = month.year, month.month
        ndays = calendar.monthrange(y, m)[1]
        if "subgrid" in drawn:
            for sg in town.subgrids["subgrid_id"].to_list():
                chance = SUBGRID_DEDUCTION_RATE * (1.6 - town.subgrid_diligence[sg])
                if rng.random() < chance:
                    draw("subgrid", sg, y, m, ndays, mi)
        if "person" in drawn:
            active = town.active(members, np.datetime64(date(y, m, 15)))
            for i in active[rng.random(active.size) < PERSON_DEDUCTION_RATE]:
                draw("person", str(town.pid[i]), y, m, ndays, mi)
        if "village" in drawn:
            for v, dil in town.village_diligence.items():
                if rng.random() < VILLAGE_DEDUCTION_RATE * (1.6 - dil):
                    draw("village", v, y, m, ndays, mi)
    frame = pl.DataFrame(
        rows,
        schema={
            "deduction_date": pl.Date,
            "unit_id": pl.String,
            "item": pl.String,
            "points": pl.Float64,
            "file_month": pl.Int64,
        },
        orient="row",
    ).sort("deduction_date", "unit_id", "item")
    # Whole points are written as an office writes them (2, not 2.0).
    if (frame["points"] % 1 == 0).all():
        frame = frame.with_columns(pl.col("points").cast(pl.Int64))
    return frame
