"""Service points closed for a while (renovation, a merger of branches): the idle
months the 阵地 view shows.

Three 党群服务点 are closed for three months each, one of them until the end of the
sample; activities the logs had placed there in those months move to their village's
党群服务站, where a sub-grid would go instead.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from etl.generate.town import Town
from store.months import add_months

CLOSED_POINTS = 3
CLOSED_MONTHS = 3


def closures(
    town: Town, month_list: list[date], rng: np.random.Generator
) -> list[tuple[str, date, date]]:
    """(place_id, first month, first month after) of each closure."""
    if len(month_list) < CLOSED_MONTHS + 1:
        return []
    points = town.points.filter(pl.col("kind") == "服务点")["place_id"].to_list()
    chosen = rng.choice(points, size=min(CLOSED_POINTS, len(points)), replace=False)
    out = []
    for n, place in enumerate(sorted(str(p) for p in chosen)):
        last_start = len(month_list) - CLOSED_MONTHS
        start = last_start if n == 0 else int(rng.integers(0, last_start + 1))
        first = month_list[start]
        out.append((place, first, add_months(first, CLOSED_MONTHS)))
    return out


def move_to_stations(
    town: Town, frames: list[dict[str, pl.DataFrame]], closed: list[tuple[str, date, date]]
) -> None:
    """In place: activities at a closed point, dated in its closure, move to the station."""
    for place, first, after in closed:
        station = town.station[
            str(town.points.filter(pl.col("place_id") == place)["village_id"][0])
        ]
        during = (
            (pl.col("place_id") == place)
            & (pl.col("activity_date") >= first)
            & (pl.col("activity_date") < after)
        )
        for month in frames:
            month["activity"] = month["activity"].with_columns(
                pl.when(during).then(pl.lit(station)).otherwise("place_id").alias("place_id")
            )
