"""A roster update near the end of the sample: posts fall vacant, newcomers wait for a
sub-grid (what the 责任落实 page's 空缺岗位 and 未分配子网格 lists show).

Two 子网格长 and one 网格指导员 (of a village with no more than the two the list needs)
leave on the 10th of the third-last month, with no successor yet; two new 网格员 join
a village without a sub-grid. The month's file is a 人员名册 upload, as an office would
send it. The logs drawn before knew nothing of it, so this module hands the leavers'
later work to an acting 网格员 of their sub-grid: activities they would have organised
and reports they would have filed; their later sign-ins are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from etl.generate.town import Town

MIN_MONTHS = 4  # a shorter sample has no room for a change and its aftermath


@dataclass(frozen=True)
class Departure:
    """A person who left on ``left_on``; ``acting`` takes over their later work."""

    person_id: str
    left_on: date
    acting: str | None


def roster_update(
    town: Town, month_list: list[date], rng: np.random.Generator
) -> tuple[int, pl.DataFrame, list[Departure]] | None:
    """(month index of the file, the 人员名册 rows, the departures), or None for a short
    sample."""
    if len(month_list) < MIN_MONTHS:
        return None
    index = len(month_list) - 3
    month = month_list[index]
    left_on = date(month.year, month.month, 10)
    day = np.datetime64(left_on)
    people = town.people
    leaders = town.with_role(town.active(np.arange(len(town.pid)), day), "子网格长")
    villages = sorted({str(town.village[i]) for i in leaders})
    chosen_villages = rng.choice(villages, size=2, replace=False)
    leavers = [
        int(rng.choice([i for i in leaders if town.village[i] == v])) for v in chosen_villages
    ]
    guides = town.with_role(town.active(np.arange(len(town.pid)), day), "网格指导员")
    per_village: dict[str, list[int]] = {}
    for i in guides:
        per_village.setdefault(str(town.village[i]), []).append(int(i))
    thin = sorted(v for v, idx in per_village.items() if len(idx) <= 2 and v not in chosen_villages)
    if thin:
        leavers.append(int(rng.choice(per_village[str(rng.choice(thin))])))

    departures = [Departure(str(town.pid[i]), left_on, _acting(town, i, day)) for i in leavers]
    left = people.filter(pl.col("person_id").is_in([d.person_id for d in departures]))
    left = left.with_columns(pl.lit(left_on).alias("active_to"))
    newcomers = _newcomers(town, month, rng)
    return index, pl.concat([left, newcomers], how="vertical_relaxed"), departures


def _acting(town: Town, i: int, day: np.datetime64) -> str | None:
    """The first 网格员 of the leaver's sub-grid on the roll on ``day``."""
    here = town.active(town.by_subgrid.get(str(town.subgrid[i]), np.array([], dtype=int)), day)
    helpers = town.with_role(here, "网格员")
    return str(town.pid[helpers.min()]) if helpers.size else None


def _newcomers(town: Town, month: date, rng: np.random.Generator) -> pl.DataFrame:
    """Two new 网格员 of one village, not yet placed in a sub-grid."""
    village = str(rng.choice(town.villages["village_id"].to_list()))
    return pl.DataFrame(
        {
            "person_id": [f"{village}-P8{n:03d}" for n in (1, 2)],
            "name": ["顾晓燕", "沈建华"],
            "gender": ["女", "男"],
            "birth_year": [1988, 1979],
            "village_id": [village, village],
            "subgrid_id": pl.Series([None, None], dtype=pl.String),
            "is_party_member": [True, True],
            "role": ["网格员", "网格员"],
            "volunteer_type": pl.Series([None, None], dtype=pl.String),
            "active_from": [month, month],
            "active_to": pl.Series([None, None], dtype=pl.Date),
        },
        schema_overrides={"birth_year": town.people.schema["birth_year"]},
    )


def hand_over(frames: list[dict[str, pl.DataFrame]], departures: list[Departure]) -> None:
    """In place: after each departure, the leaver's activities and reports go to the
    acting 网格员 (or no one) and the leaver's sign-ins are dropped."""
    dates = pl.concat([f["activity"].select("activity_id", "activity_date") for f in frames])
    for d in departures:
        after = pl.lit(d.left_on)
        acting = pl.lit(d.acting, dtype=pl.String)
        later_ids = dates.filter(pl.col("activity_date") > d.left_on)["activity_id"].implode()
        for month in frames:
            organised_later = (pl.col("organizer_id") == d.person_id) & (
                pl.col("activity_date") > after
            )
            month["activity"] = month["activity"].with_columns(
                pl.when(organised_later)
                .then(acting)
                .otherwise("organizer_id")
                .alias("organizer_id")
            )
            filed_later = (pl.col("reporter_id") == d.person_id) & (
                pl.col("reported_at").dt.date() > after
            )
            month["report"] = month["report"].with_columns(
                pl.when(filed_later).then(acting).otherwise("reporter_id").alias("reporter_id")
            )
            signed_later = (pl.col("person_id") == d.person_id) & pl.col("activity_id").is_in(
                later_ids
            )
            month["attendance"] = month["attendance"].filter(~signed_later)
