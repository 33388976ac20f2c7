"""党内重要事项决策: each matter's whole life through the 程序清单's stages, then the
state each month's file holds (like 民情 reports: a matter is filed again, same id, in
the month of its next stage; the latest state wins on load).

Villages raise a matter every few months (the diligent ones more often). Most are
supervised by the town (镇领导督导) around their proposal; the stages follow with
log-normal delays; some 公示 come later than the seven days the list asks; a few
matters stall before the decision or before the 公示, and the newest are still under
way when the sample ends.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import numpy as np
import polars as pl

from etl.generate.town import Town
from store.contracts import DECISION, RESOLUTION_METHODS
from store.months import add_months

SUBJECTS = (
    "村级道路维护项目",
    "人居环境整治方案",
    "集体经济项目投资",
    "老年活动室改造",
    "河道保洁外包",
    "村民福利发放方案",
    "宅基地审批事项",
    "农田水利设施修缮",
    "困难家庭帮扶名单",
    "文化礼堂建设",
)
# Median days from the stage before, and the log-normal sigma.
DELAYS = {"deliberated_on": (8, 0.5), "resolved_on": (10, 0.5), "published_on": (3, 0.8)}
STALL = {"deliberated_on": 0.025, "resolved_on": 0.03, "published_on": 0.035}
SUPERVISED = 0.85


def decision_lives(town: Town, month_list: list[date], rng: np.random.Generator) -> pl.DataFrame:
    """Every matter raised in the range with all its (future-including) stage dates."""
    rows = []
    for month in month_list:
        ndays = calendar.monthrange(month.year, month.month)[1]
        for village in town.villages["village_id"].to_list():
            raised = int(rng.poisson(0.45 * town.village_diligence[village]))
            for seq in range(1, raised + 1):
                proposed = date(month.year, month.month, int(rng.integers(1, ndays + 1)))
                rows.append(_life(village, proposed, seq, rng))
    return pl.DataFrame(rows, schema=_schema(), orient="row")


def _life(village: str, proposed: date, seq: int, rng: np.random.Generator) -> tuple:
    stages: dict[str, date | None] = {"proposed_on": proposed}
    day = proposed
    for stage, (median, sigma) in DELAYS.items():
        if rng.random() < STALL[stage]:
            stages[stage] = None
            break
        day = day + timedelta(days=max(1, round(np.exp(np.log(median) + sigma * rng.normal()))))
        stages[stage] = day
    supervised = None
    if rng.random() < SUPERVISED:
        supervised = proposed + timedelta(days=int(rng.integers(-6, 4)))
        if stages.get("resolved_on") is not None:
            supervised = min(supervised, stages["resolved_on"])
    resolution = None
    if stages.get("resolved_on") is not None:
        resolution = RESOLUTION_METHODS[int(rng.random() < 0.3)]
    subject = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
    return (
        f"JC{proposed:%Y%m}-{village}-{seq:02d}",
        village,
        subject,
        supervised,
        proposed,
        stages.get("deliberated_on"),
        stages.get("resolved_on"),
        resolution,
        stages.get("published_on"),
    )


def _schema() -> dict[str, pl.DataType]:
    types = {"text": pl.String, "date": pl.Date}
    return {c.name: types[c.dtype] for c in DECISION.columns}


STAGES = ("supervised_on", "proposed_on", "deliberated_on", "resolved_on", "published_on")


def decision_snapshot(lives: pl.DataFrame, month: date) -> pl.DataFrame:
    """The matters the office files for ``month``: those with a stage in it, as they
    stood at its end (stages after it blank)."""
    start, end = month, add_months(month, 1)
    as_of = [pl.when(pl.col(s) < end).then(pl.col(s)).otherwise(None).alias(s) for s in STAGES]
    moved = pl.any_horizontal((pl.col(s) >= start) & (pl.col(s) < end) for s in STAGES)
    snapshot = lives.filter(moved & (pl.col("proposed_on") < end)).with_columns(as_of)
    return snapshot.with_columns(
        pl.when(pl.col("resolved_on").is_not_null())
        .then("resolution")
        .otherwise(None)
        .alias("resolution")
    ).sort("matter_id")
