"""Which 网格工作例会 discussed each escalated report (the 乡村治理 程序's last step
before 定时定人定责), written on the report as its 例会编号.

An escalated report goes to the first 例会 of its village held after the day it was fed
back to the 总网格长; about one in ten is never put on an agenda (the "escalated and
not yet discussed" list has something to show). A report file carries the link from
the month of the meeting on (a later state of the report must not drop it: the latest
state wins on load). A report with no step of its own in the meeting's month is filed
again that month, unchanged but for the link, as an office would record the
discussion; never before the meeting's own activity file, so the id always resolves.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from etl.generate.town import Town
from store.python_values import mapped

NEVER_DISCUSSED = 0.1


def link_meetings(
    town: Town,
    month_list: list[date],
    frames: list[dict[str, pl.DataFrame]],
    rng: np.random.Generator,
) -> None:
    """In place: set ``meeting_id`` on the report rows of every month (null where none)."""
    month_index = {(m.year, m.month): i for i, m in enumerate(month_list)}
    meetings = pl.concat(
        f["activity"]
        .filter((pl.col("activity_type") == "网格工作例会") & pl.col("subgrid_id").is_null())
        .select("activity_id", "activity_date", "village_id", pl.lit(i).alias("activity_file"))
        for i, f in enumerate(frames)
    ).sort("activity_date")
    reports = pl.concat(
        f["report"].with_columns(pl.lit(i).alias("file")) for i, f in enumerate(frames)
    )
    latest = reports.sort("file").unique("report_id", keep="last", maintain_order=True)
    escalated = (
        latest.filter(pl.col("escalated_at").is_not_null())
        .with_columns(
            pl.col("subgrid_id").replace_strict(town.subgrid_village).alias("village_id"),
            (pl.col("escalated_at").dt.date() + pl.duration(days=1)).alias("from_day"),
        )
        .sort("from_day")
    )
    linked = escalated.join_asof(
        meetings,
        left_on="from_day",
        right_on="activity_date",
        by="village_id",
        strategy="forward",
        check_sortedness=False,  # sorted by day; the check cannot see it per village
    ).filter(pl.col("activity_id").is_not_null())
    keep = rng.random(linked.height) >= NEVER_DISCUSSED
    linked = linked.filter(pl.Series(keep))
    meeting_file = mapped(
        linked["activity_date"], lambda day: month_index[(day.year, day.month)], pl.Int64
    )
    linked = linked.with_columns(
        pl.max_horizontal(meeting_file, pl.col("activity_file")).alias("from_file")
    )
    links = linked.select("report_id", pl.col("activity_id").alias("link"), "from_file")

    for i, month in enumerate(frames):
        here = links.filter(pl.col("from_file") <= i)
        frame = month["report"].join(here.select("report_id", "link"), on="report_id", how="left")
        month["report"] = frame.rename({"link": "meeting_id"})
    # Reports whose meeting falls after their last filed state: filed again that month.
    last_file = reports.group_by("report_id").agg(pl.col("file").max().alias("last_file"))
    again = links.join(last_file, on="report_id").filter(pl.col("last_file") < pl.col("from_file"))
    for (i,), rows in again.partition_by("from_file", as_dict=True).items():
        refiled = (
            latest.join(rows.select("report_id", "link"), on="report_id")
            .drop("file")
            .rename({"link": "meeting_id"})
        )
        frames[i]["report"] = pl.concat([frames[i]["report"], refiled]).sort("report_id")
