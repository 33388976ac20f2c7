"""The four lists' records in the sample: what the 责任清单, 程序清单 and 阵地 views read
beyond the monthly logs, added to the months the rest of the generator drew.

Drawn from a random stream of their own (the seed and :data:`STREAM`), so the other
generators draw the same logs as without them; then, in order:

* a roster update near the end (:mod:`etl.generate.roster_changes`): vacant posts;
* service points closed for a while (:mod:`etl.generate.place_closures`): idle places;
* the 例会 that discussed each escalated report (:mod:`etl.generate.meeting_links`);
* the 结对名册 in the first month (:mod:`etl.generate.pairings`);
* 重要事项决策, filed as their stages pass (:mod:`etl.generate.decisions`);
* each month's 学习提示 by the 总网格长, most villages most months (here);
* in June and December, the 履职评价 of the half-year's 需人工评价 duties (here): most
  people are rated 已履职, some 未履职, and a village or two sends none yet.
"""

from __future__ import annotations

import calendar
from datetime import date

import numpy as np
import polars as pl

from etl.generate import decisions, meeting_links, pairings, place_closures, roster_changes
from etl.generate.town import Town
from store.contracts import RATING_RESULTS
from store.duty_catalogue import read_catalogue
from store.months import add_months

STREAM = 13  # this module's random stream, beside the generator's seed
THEMES = (
    "学习贯彻党的二十届三中全会精神",
    "党纪学习教育",
    "乡村振兴政策解读",
    "安全生产月专题学习",
    "防汛防台知识",
    "垃圾分类新规",
    "基层治理典型案例",
)


def add_list_records(
    town: Town, month_list: list[date], frames: list[dict[str, pl.DataFrame]], seed: int
) -> list[dict[str, pl.DataFrame]]:
    """``frames`` (one dict of frames per month) with the four lists' records added."""
    rng = np.random.default_rng([seed, STREAM])
    update = roster_changes.roster_update(town, month_list, rng)
    if update is not None:
        index, people, departures = update
        roster_changes.hand_over(frames, departures)
        frames[index]["person"] = people
    place_closures.move_to_stations(town, frames, place_closures.closures(town, month_list, rng))
    meeting_links.link_meetings(town, month_list, frames, rng)
    frames[0]["pairing"] = pairings.pairings(town, month_list[0], rng)
    lives = decisions.decision_lives(town, month_list, rng)
    for month, frame in zip(month_list, frames, strict=True):
        filed = decisions.decision_snapshot(lives, month)
        if filed.height:
            frame["decision"] = filed
        frame["study_notice"] = study_notices(town, month, rng)
        if month.month in (6, 12):
            frame["duty_rating"] = duty_ratings(town, month, rng)
    return frames


def study_notices(town: Town, month: date, rng: np.random.Generator) -> pl.DataFrame:
    """The month's 学习提示: one per village from its 总网格长, unless the village skips."""
    rows = []
    for village in town.villages["village_id"].to_list():
        if rng.random() > min(0.98, 0.55 + 0.45 * town.village_diligence[village]):
            continue
        day = date(month.year, month.month, int(rng.integers(1, 6)))
        heads = town.with_role(
            town.active(town.by_village[village], np.datetime64(day)), "总网格长"
        )
        issuer = str(town.pid[heads[0]]) if heads.size else None
        theme = THEMES[int(rng.integers(len(THEMES)))]
        rows.append((f"TS{month:%Y%m}-{village}", day, village, issuer, theme))
    schema = {
        "notice_id": pl.String,
        "issued_on": pl.Date,
        "village_id": pl.String,
        "issuer_id": pl.String,
        "theme": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def duty_ratings(town: Town, month: date, rng: np.random.Generator) -> pl.DataFrame:
    """The half-year's 履职评价 (month is June or December): every person on the roll
    the whole half-year who holds a 需人工评价 duty's role, but in one or two villages
    that have not rated yet."""
    half = "H1" if month.month == 6 else "H2"
    first = add_months(month, -5)
    last = date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])
    on_roll = np.flatnonzero(
        (town.start <= np.datetime64(first)) & (town.end >= np.datetime64(last))
    )
    late = set(rng.choice(town.villages["village_id"].to_list(), size=2, replace=False))
    rows = []
    for duty in read_catalogue().duties:
        if duty.measured:
            continue
        for i in town.with_role(on_roll, duty.role):
            village = str(town.village[i])
            if village in late and rng.random() < 0.8:
                continue
            done = rng.random() < 0.55 + 0.4 * town.village_diligence[village]
            result = RATING_RESULTS[0] if done else RATING_RESULTS[1]
            rows.append((f"{month.year}{half}", str(town.pid[i]), duty.id, result, None))
    schema = {
        "period": pl.String,
        "person_id": pl.String,
        "duty_id": pl.String,
        "result": pl.String,
        "note": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
